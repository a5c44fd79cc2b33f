"""Success page: a booking, from the reference in the query string (works after reload)."""

import streamlit as st

import ui_kit
from booking.domain.funnel import BookingStatus
from booking.errors import BookingError
from booking.mail.ics import booking_ics

desk = ui_kit.desk()

try:
    booking = desk.booking(st.query_params.get("ref", ""))
except BookingError as exc:
    st.title("Booking not found")
    st.error(str(exc), icon=":material/search_off:")
    st.page_link("app_pages/book.py", label="Book a session", icon=":material/event_available:")
    st.stop()

tz = ui_kit.visitor_zone(booking.visitor_tz)
if booking.status == "canceled":
    st.title("Booking cancelled")
    st.warning(
        f"Your {booking.meeting.name} with {booking.analyst.name} is cancelled.",
        icon=":material/event_busy:",
    )
else:
    st.title("You're booked")
    st.success(
        f"Your {booking.meeting.name} with {booking.analyst.name} is confirmed. A confirmation "
        f"email is on its way to {ui_kit.md(booking.email)}.",
        icon=":material/check_circle:",
    )
with st.container(border=True):
    st.markdown(
        f"**When** · {booking.start.astimezone(tz):%A %-d %B %Y, %H:%M}–"
        f"{booking.end.astimezone(tz):%H:%M} ({tz.key})"
    )
    st.markdown(f"**Reference** · `{booking.reference}`")
    st.markdown(f"**Booked for** · {ui_kit.md(booking.name)} ({ui_kit.md(booking.email)})")
    if booking.notes:
        st.markdown("**Your notes**")
        st.text(booking.notes)
ui_kit.timezone_picker()
st.download_button(
    "Add to calendar (.ics)",
    booking_ics(booking, brand=desk.settings.brand_name, stamp=booking.created_at),
    file_name=f"{booking.reference}.ics",
    mime="text/calendar",
    icon=":material/calendar_add_on:",
    type="primary",
)
if booking.status == BookingStatus.CONFIRMED and (booking.reschedule_url or booking.cancel_url):
    links = st.container(horizontal=True)
    if booking.reschedule_url:
        links.link_button(
            "Reschedule on Calendly", booking.reschedule_url, icon=":material/update:"
        )
    if booking.cancel_url:
        links.link_button("Cancel on Calendly", booking.cancel_url, icon=":material/event_busy:")
if booking.status == BookingStatus.CONFIRMED and booking.analyst.provider == "local":
    with st.expander("Need to cancel?"):
        st.write("The time is released for someone else. Paid sessions are refunded in full.")
        if st.button("Cancel this booking", icon=":material/event_busy:"):
            try:
                desk.local.cancel(booking.reference)
            except BookingError as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                st.rerun()
st.caption("Keep your reference: quote it if you need to change or cancel the session.")
st.page_link("app_pages/book.py", label="Book another session", icon=":material/arrow_back:")
