"""Back from Calendly: what the redirect says, clearly as not yet confirmed.

Calendly's query parameters are unauthenticated, so this page only displays them; the
booking counts as confirmed once Calendly's signed webhook arrives.
"""

from datetime import datetime

import streamlit as st

import ui_kit
from booking.calendly.links import redirect_details
from booking.domain.funnel import BookingStatus

desk = ui_kit.desk()
S = st.session_state
details = redirect_details(st.query_params.to_dict())
if not S.get("return_noted"):  # once per visit, not on every rerun
    desk.handoff.note_return(details)
    S["return_noted"] = True
tz = ui_kit.visitor_zone(desk.settings.default_timezone)

st.title("Almost done")
if not details.get("event_start_time"):
    st.warning(
        "This page shows a booking made on Calendly, but the link carries no booking details. "
        "If you booked, Calendly's confirmation email has everything you need.",
        icon=":material/help:",
    )
    st.page_link("app_pages/book.py", label="Book a session", icon=":material/event_available:")
    st.stop()

POLL_SECONDS, MAX_POLLS = 2, 90  # stop asking after three minutes


@st.fragment(run_every=None if S.get("calendly_settled") else POLL_SECONDS)
def calendly_status() -> None:
    """Ask our database (filled by Calendly's signed webhook) until the booking shows up."""
    booking = desk.calendly_sync.booking_of(details.get("invitee_uuid", ""))
    S["polls"] = S.get("polls", 0) + 1
    if booking and booking["status"] == BookingStatus.CONFIRMED:
        st.success(
            f"Confirmed by Calendly. Your reference is `{booking['reference']}`.",
            icon=":material/check_circle:",
        )
        links = st.container(horizontal=True)
        if booking["reschedule_url"]:
            links.link_button("Reschedule", booking["reschedule_url"], icon=":material/update:")
        if booking["cancel_url"]:
            links.link_button("Cancel", booking["cancel_url"], icon=":material/event_busy:")
    elif booking:
        st.warning(
            "Calendly tells us this booking has been canceled.", icon=":material/event_busy:"
        )
    elif S["polls"] >= MAX_POLLS:
        st.warning(
            "Calendly has not confirmed this booking to us yet. If you received Calendly's "
            "confirmation email, you are booked; otherwise please book again.",
            icon=":material/schedule:",
        )
    else:
        st.info(
            "Waiting for Calendly's confirmation. Calendly has sent you its own email; this "
            "page turns to confirmed as soon as Calendly tells us directly.",
            icon=":material/hourglass_top:",
        )
        return
    if not S.get("calendly_settled"):
        S["calendly_settled"] = True
        st.rerun()  # redraw the page once more, without the timer


calendly_status()
with st.container(border=True):
    try:
        start = datetime.fromisoformat(details["event_start_time"]).astimezone(tz)
        when = f"{start:%A %-d %B %Y, %H:%M} ({tz.key})"
    except ValueError:
        when = details["event_start_time"]
    st.markdown(
        f"**What** · {ui_kit.md(details.get('event_type_name', 'Session'))} with "
        f"{ui_kit.md(details.get('assigned_to', 'your analyst'))}"
    )
    st.markdown(f"**When** · {ui_kit.md(when)}")
    name = details.get("invitee_full_name") or " ".join(
        filter(None, (details.get("invitee_first_name"), details.get("invitee_last_name")))
    )
    if name or details.get("invitee_email"):
        st.markdown(
            f"**Booked for** · {ui_kit.md(name)} ({ui_kit.md(details.get('invitee_email', ''))})"
        )
ui_kit.timezone_picker()
st.caption("Need to change it? Use the reschedule or cancel links in Calendly's email.")
st.page_link("app_pages/book.py", label="Book another session", icon=":material/arrow_back:")
