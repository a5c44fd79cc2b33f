"""Success page: the booking the visitor just made, from its reference and manage token in
the query string (so it survives a reload). The reference alone shows nothing personal."""

import streamlit as st

import ui_kit
from booking.domain.funnel import BookingStatus
from booking.errors import BookingError
from ui_kit import a11y, booking_card, zones

desk = ui_kit.desk()
S = st.session_state
a11y.page_title("Your booking", desk.settings.brand_name)
reference = st.query_params.get("ref", "")
token = st.query_params.get("token", "")

if not token:
    st.title("Your booking")
    st.info(
        "For your privacy, a booking is shown only through the private link in its "
        "confirmation email. Open that link to see, change or cancel it.",
        icon=":material/lock:",
    )
    st.page_link("app_pages/book.py", label="Book a session", icon=":material/event_available:")
    st.stop()
try:
    booking = desk.manage.open(reference, token)
except BookingError as exc:
    st.title("Booking not found")
    st.error(str(exc), icon=":material/search_off:")
    st.page_link("app_pages/book.py", label="Book a session", icon=":material/event_available:")
    st.stop()

tz = ui_kit.visitor_zone(booking.visitor_tz)
twelve = zones.uses_12_hour_clock()
head = st.container(key="booking-head")
if S.get("focus") == "booking-head":  # just booked (ui_kit.show_booking): start reading here
    S.pop("focus")
    a11y.focus_step("booking-head", "h1")
if booking.status == BookingStatus.CANCELED:
    head.title("Booking cancelled")
    st.warning(
        f"Your {ui_kit.md(booking.meeting.name)} with {ui_kit.md(booking.analyst.name)} is "
        "cancelled.",
        icon=":material/event_busy:",
    )
else:
    head.title("You're booked")
    by_calendly = booking.analyst.provider == "calendly"
    by_calendly = by_calendly and not desk.settings.calendly_confirmations
    st.success(
        f"Your {ui_kit.md(booking.meeting.name)} with {ui_kit.md(booking.analyst.name)} is "
        "confirmed. "
        + (  # Calendly sends its own confirmation; we send ours only when set up to
            f"Calendly emails the confirmation to {ui_kit.md(booking.email)}."
            if by_calendly
            else f"A confirmation email is on its way to {ui_kit.md(booking.email)}."
        ),
        icon=":material/check_circle:",
    )
booking_card.details(booking, tz, twelve=twelve)
ui_kit.zone_and_clock()
booking_card.calendar_buttons(booking, desk.manage.url(booking.reference, token))
if booking.status == BookingStatus.CONFIRMED and (booking.reschedule_url or booking.cancel_url):
    booking_card.calendly_links(booking)
if booking.status == BookingStatus.CONFIRMED and booking.analyst.provider == "local":
    st.page_link(
        "app_pages/manage.py",
        label="Change the time or cancel",
        icon=":material/edit_calendar:",
        query_params={"ref": booking.reference, "token": token},
    )
st.caption(
    "Keep this page's link (or your confirmation email) private: it is the key to your booking."
)
st.page_link("app_pages/book.py", label="Book another session", icon=":material/arrow_back:")
