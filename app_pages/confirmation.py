"""Back from Calendly: what the redirect says, clearly as not yet confirmed, until Calendly's
signed webhook confirms it; then the booking as it stands (confirmed, cancelled, or moved
to another time by a reschedule), with its end time and add-to-calendar.

Calendly's query parameters are unauthenticated, so this page only displays them; the
booking counts as confirmed once Calendly's signed webhook arrives.
"""

from datetime import datetime

import streamlit as st

import ui_kit
from booking.calendly.links import redirect_details
from booking.domain.funnel import BookingStatus
from booking.domain.request import in_utc
from booking.errors import BookingError
from ui_kit import a11y, booking_card, zones

desk = ui_kit.desk()
S = st.session_state
a11y.page_title("Your Calendly booking", desk.settings.brand_name)
details = redirect_details(st.query_params.to_dict())
if not S.get("return_noted"):  # once per visit, not on every rerun
    desk.handoff.note_return(details)
    S["return_noted"] = True
tz = ui_kit.visitor_zone(desk.settings.default_timezone)
twelve = zones.uses_12_hour_clock()

if not details.get("event_start_time"):
    st.title("Booking details missing")
    st.warning(
        "This page shows a booking made on Calendly, but the link carries no booking details. "
        "If you booked, Calendly's confirmation email has everything you need.",
        icon=":material/help:",
    )
    st.page_link("app_pages/book.py", label="Book a session", icon=":material/event_available:")
    st.stop()

POLL_SECONDS, MAX_POLLS = 2, 90  # stop asking after three minutes


def when(start: datetime, end: datetime | None) -> str:
    """'Tuesday 1 December 2026, 14:00–14:30 (Europe/London)' in the visitor's zone."""
    return zones.when(start, end, tz, twelve=twelve)


def redirect_time(key: str) -> datetime | None:
    """A time from Calendly's redirect (anyone can craft one): None unless it is a real
    time with its offset, in a year anyone could book."""
    try:
        return in_utc(datetime.fromisoformat(details.get(key, "")))
    except (ValueError, BookingError):
        return None


def facts(start: datetime | None, end: datetime | None) -> None:
    """What Calendly's redirect said, with the time as the booking now has it."""
    with st.container(border=True):
        st.markdown(
            f"**What** · {ui_kit.md(details.get('event_type_name', 'Session'))} with "
            f"{ui_kit.md(details.get('assigned_to', 'your analyst'))}"
        )
        shown = when(start, end) if start else ui_kit.md(details["event_start_time"])
        st.markdown(f"**When** · {shown}")
        name = details.get("invitee_full_name") or " ".join(
            filter(None, (details.get("invitee_first_name"), details.get("invitee_last_name")))
        )
        if name or details.get("invitee_email"):
            st.markdown(
                f"**Booked for** · {ui_kit.md(name)} "
                f"({ui_kit.md(details.get('invitee_email', ''))})"
            )


CHANGE_IT = "Need to change it? Use the reschedule or cancel links in Calendly's email."


@st.fragment(run_every=None if S.get("calendly_settled") else POLL_SECONDS)
def calendly_status() -> None:
    """Ask our database (filled by Calendly's signed webhook) until the booking shows up."""
    row = desk.calendly_sync.booking_of(details.get("invitee_uuid", ""))
    S["polls"] = S.get("polls", 0) + 1
    start, end = redirect_time("event_start_time"), redirect_time("event_end_time")
    if start and end and end < start:
        end = None  # a crafted link: the start alone
    moved_to = None
    if row and row["status"] != BookingStatus.CONFIRMED and row.get("rescheduled_to"):
        moved_to = desk.calendly_sync.booking_of(row["rescheduled_to"].rsplit("/", 1)[-1])
    if row and row["status"] == BookingStatus.CONFIRMED:
        booking = desk.booking(row["reference"])
        st.title("You're booked")
        st.success(
            f"Confirmed by Calendly. Your reference is `{booking.reference}`. Calendly emails "
            "your confirmation, with its own links to reschedule or cancel.",
            icon=":material/check_circle:",
        )
        facts(booking.start, booking.end)
        booking_card.calendar_buttons(booking, booking.reschedule_url or "")
        links = st.container(horizontal=True)
        if booking.reschedule_url:
            links.link_button("Reschedule", booking.reschedule_url, icon=":material/update:")
        if booking.cancel_url:
            links.link_button("Cancel", booking.cancel_url, icon=":material/event_busy:")
        st.caption(CHANGE_IT)
    elif moved_to:
        new = desk.booking(moved_to["reference"])
        st.title("Your booking was moved")
        st.info(f"It is now on {when(new.start, new.end)}.", icon=":material/update:")
        st.page_link(
            "app_pages/confirmation.py",
            label="See the new time",
            icon=":material/event_available:",
            query_params={
                "invitee_uuid": moved_to["invitee_uri"].rsplit("/", 1)[-1],
                "event_start_time": new.start.isoformat(),
                "event_end_time": new.end.isoformat(),
                "event_type_name": details.get("event_type_name", new.meeting.name),
                "assigned_to": details.get("assigned_to", new.analyst.name),
            },
        )
        facts(start, end)
    elif row:
        st.title("Booking cancelled")
        st.warning(
            "Calendly tells us this booking has been cancelled.", icon=":material/event_busy:"
        )
        facts(start, end)
    elif S["polls"] >= MAX_POLLS:
        st.title("Almost done")
        st.warning(
            "Calendly has not confirmed this booking to us yet. If you received Calendly's "
            "confirmation email, you are booked; otherwise please book again.",
            icon=":material/schedule:",
        )
        facts(start, end)
    else:
        st.title("Almost done")
        st.info(
            "Waiting for Calendly's confirmation. Calendly has sent you its own email; this "
            "page turns to confirmed as soon as Calendly tells us directly.",
            icon=":material/hourglass_top:",
        )
        facts(start, end)
        st.caption(CHANGE_IT)
        return
    if not S.get("calendly_settled"):
        S["calendly_settled"] = True
        st.rerun()  # redraw the page once more, without the timer


calendly_status()
ui_kit.zone_and_clock()
st.page_link("app_pages/book.py", label="Book another session", icon=":material/arrow_back:")
