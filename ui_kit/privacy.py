"""The owner's personal-data panel on the analytics page: look a person up by email,
download what is held about them (a subject access request), erase it after a
confirmation. The work is ``desk.privacy``'s; this only draws it."""

from __future__ import annotations

import streamlit as st

from booking.desk import Desk
from booking.desk.privacy import address_of
from booking.errors import BookingError
from ui_kit import md

S = st.session_state
LOOKED_UP = "privacy_lookup"  # (address, what erasing would change, their data as JSON)
ERASED = "privacy_erased"  # (address, what erasing changed)
SURE = "privacy_sure"  # the Erase confirmation: unticked by every Look up


def _counts(done) -> str:
    return ", ".join(f"{table} {count:,}" for table, count in sorted(done.items()))


@st.fragment  # looking up, ticking and erasing rerun the panel, not the whole dashboard
def panel(desk: Desk) -> None:
    """The panel; its state lives in the session, keyed ``privacy_*``."""
    st.subheader("Personal data")
    days = desk.settings.retention_days
    st.caption(
        "Find everything held about one person by email: download it, or erase it. Erasing "
        "keeps every row with the personal fields blanked, so every count on this page stays "
        "as it is."
        + (f" Personal data also goes by itself {days:,} days after the meeting." if days else "")
    )
    if done := S.pop(ERASED, None):
        st.success(f"Erased {md(done[0])}: {_counts(done[1])}.", icon=":material/delete:")
    with st.form("privacy_form", border=False):
        typed = st.text_input("Email address", key="privacy_email", max_chars=320)
        if st.form_submit_button("Look up", icon=":material/person_search:"):
            S[SURE] = False  # a confirmation given for one person never carries to the next
            S.pop(LOOKED_UP, None)
            try:
                address = address_of(typed)  # as compared: trimmed, case-folded
                held = desk.privacy.erase(address, dry_run=True)
                # Built once per Look up and kept: a download whose data is a callable
                # is lost when the whole page reruns (Streamlit's "Deferred file … not
                # found"), and building it on every rerun would slow the dashboard.
                export = desk.privacy.export_json(address) if held else ""
                S[LOOKED_UP] = (address, held, export)
            except BookingError as exc:
                st.error(str(exc))
    if LOOKED_UP not in S:
        return
    address, held, export = S[LOOKED_UP]
    if not held:
        st.info(f"Nothing is held about {md(address)}.")
        return
    st.markdown(f"Held about **{md(address)}** (rows): {_counts(held)}.")
    st.download_button(
        "Download their data (JSON)",
        export,
        file_name="personal-data.json",
        mime="application/json",
        icon=":material/download:",
        key="privacy_download",
    )
    sure = st.checkbox(
        f"Erase everything held about {md(address)}. This cannot be undone.",
        key=SURE,
    )
    if st.button("Erase", type="primary", disabled=not sure, key="privacy_erase"):
        try:
            S[ERASED] = (address, desk.privacy.erase(address))
        except BookingError as exc:
            st.error(str(exc))
            return
        for key in (LOOKED_UP, SURE, "privacy_email"):
            S.pop(key, None)
        st.rerun()
