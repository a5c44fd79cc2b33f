"""Book page: analyst → meeting type → date → time → details → book.

The steps are drawn by ``ui_kit.book_steps``; the choices live in the URL (Reload restores
them, Back steps back one choice, a link can be shared), the typed details in the session.
"""

from __future__ import annotations

import streamlit as st

import ui_kit
from ui_kit import a11y, zones
from ui_kit import book_details as details
from ui_kit import book_steps as steps

desk = ui_kit.desk()
wants_to_book = details.submit_wanted()
a11y.page_title("Book a session", desk.settings.brand_name)

st.title("Book a session")
st.caption("Choose an analyst and a time that suits you. It takes about a minute.")
tz = ui_kit.visitor_zone(desk.settings.default_timezone)
twelve = zones.uses_12_hour_clock()
steps.held_time(desk, tz, twelve)

analyst = steps.analyst_step(desk)
steps.remember_attempt()
if analyst is None:
    st.stop()

meeting = steps.meeting_step(desk, analyst)
if meeting is None:
    st.stop()

days = steps.date_step(desk, analyst, meeting, tz)
if not days:
    st.stop()

slot = steps.time_step(desk, days, meeting, tz, twelve)
if slot is None:
    st.stop()

asks = details.details_step(desk, analyst, meeting, slot, tz, twelve)
if wants_to_book:
    details.submit(desk, analyst, meeting, slot, tz, asks)
