"""A booking as the success and manage pages show it: the facts, the place to meet, and
the ways to put it in a calendar. Only for a visitor holding the booking's manage token."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import streamlit as st

import ui_kit
from booking.domain.funnel import BookingStatus
from booking.domain.records import Booking
from booking.mail.ics import google_calendar_link, outlook_calendar_link
from ui_kit import zones


def details(booking: Booking, tz: ZoneInfo, *, twelve: bool) -> None:
    """When (in the visitor's zone and clock), where, what, for whom (the visitor's own
    notes included)."""
    with st.container(border=True):
        st.markdown(f"**When** · {zones.when(booking.start, booking.end, tz, twelve=twelve)}")
        st.markdown(
            f"**What** · {ui_kit.md(booking.meeting.name)} with {ui_kit.md(booking.analyst.name)}"
        )
        place = booking.place
        if place and place.kind == "video":
            st.markdown(f"**Where** · video call: [{ui_kit.md(place.text)}]({place.url})")
        elif place and place.kind == "phone":
            st.markdown(f"**Where** · by phone: [{ui_kit.md(place.text)}]({place.url})")
        elif place:
            st.markdown(f"**Where** · {ui_kit.md(place.text)}")
        st.markdown(f"**Reference** · `{booking.reference}`")
        st.markdown(f"**Booked for** · {ui_kit.md(booking.name)} ({ui_kit.md(booking.email)})")
        if booking.notes:
            st.markdown("**Your notes**")
            st.text(booking.notes)
        if booking.status == BookingStatus.CANCELED and booking.cancel_reason:
            st.markdown(f"**Reason given** · {ui_kit.md(booking.cancel_reason)}")


def calendar_buttons(booking: Booking, manage_url: str) -> None:
    """Download the invitation (.ics), or add it to Google Calendar or Outlook."""
    row = st.container(horizontal=True)
    canceled = booking.status == BookingStatus.CANCELED
    row.download_button(
        "Remove from calendar (.ics)" if canceled else "Add to calendar (.ics)",
        ui_kit.desk().manage.ics(booking, manage_url=manage_url),
        file_name=f"{booking.reference}.ics",
        mime="text/calendar",
        icon=":material/calendar_add_on:",
        type="primary",
    )
    if not canceled:
        row.link_button(
            "Google Calendar",
            google_calendar_link(booking, manage_url=manage_url),
            icon=":material/open_in_new:",
        )
        row.link_button(
            "Outlook",
            outlook_calendar_link(booking, manage_url=manage_url),
            icon=":material/open_in_new:",
        )


def calendly_links(booking: Booking) -> None:
    """Calendly's own reschedule and cancel links for a booking made there."""
    links = st.container(horizontal=True)
    if booking.reschedule_url:
        links.link_button(
            "Reschedule on Calendly", booking.reschedule_url, icon=":material/update:"
        )
    if booking.cancel_url:
        links.link_button("Cancel on Calendly", booking.cancel_url, icon=":material/event_busy:")
