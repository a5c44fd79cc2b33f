"""Streamlit-side helpers shared by the pages: the cached desk, the visitor's zone, errors.

This is the edge: caching decorators and session state live here, never in booking/.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, available_timezones

import streamlit as st

from booking.config import Settings
from booking.services import Desk, build_desk

TZ_KEY = "visitor_tz"


@st.cache_resource(show_spinner=False)
def _desk(settings: Settings) -> Desk:
    return build_desk(settings)


def desk() -> Desk:
    """The desk for the current settings (rebuilt only when the settings change)."""
    return _desk(Settings.from_env())


@st.cache_data(show_spinner=False)
def timezone_names() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))


def visitor_zone(default: str) -> ZoneInfo:
    """The visitor's zone: their choice, else what the browser reports, else the default."""
    if TZ_KEY not in st.session_state:
        browser = st.context.timezone
        st.session_state[TZ_KEY] = browser if browser in timezone_names() else default
    return ZoneInfo(st.session_state[TZ_KEY])


def timezone_picker() -> None:
    names = timezone_names()
    if st.session_state.get(TZ_KEY) not in names:
        names = [st.session_state[TZ_KEY], *names]
    st.selectbox(
        "Your time zone",
        names,
        key=TZ_KEY,
        help="Times are shown in this zone. We guessed it from your browser.",
    )


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$])")


def md(text: str) -> str:
    """Visitor-typed text made safe to place inside st.markdown."""
    return _MD_SPECIAL.sub(r"\\\1", text)
