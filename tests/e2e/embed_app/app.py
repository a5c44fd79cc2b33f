"""A one-component app for tests/e2e/test_embed_component.py: the embed and what it reported.

The fake scheduler's address comes from the environment the test sets.
"""

import os

import streamlit as st

from ui_kit.calendly_embed import calendly_inline

url = os.environ["EMBED_TEST_URL"]
origin = os.environ["EMBED_TEST_ORIGIN"]

st.title("Embed test")
value = calendly_inline(url, allowed_origins=[origin], key="embed", height=420)

# Every distinct value this session has seen, in order (a new event is a new dict).
seen = st.session_state.setdefault("seen", [])
if value is not None and all(v is not value for v in seen):
    seen.append(value)
for i, v in enumerate(seen):
    st.text(f"seen {i}: {v['event']} invitee={v['inviteeUri']} event={v['eventUri']}")
if value is not None:
    st.json(value)
