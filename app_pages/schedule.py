"""Calendly's inline widget on our page, for analysts whose hand-off mode is 'embed'."""

import streamlit as st

import ui_kit
from booking.errors import BookingError
from ui_kit import a11y
from ui_kit import calendly_embed as ui_embed

desk = ui_kit.desk()
a11y.page_title("Confirm your time", desk.settings.brand_name)
S = st.session_state
attempt_id = st.query_params.get("attempt", "")

try:
    attempt = desk.handoff.embed_link(attempt_id)
except BookingError as exc:
    st.title("Link not found")
    st.error(str(exc), icon=":material/link_off:")
    st.page_link("app_pages/book.py", label="Book a session", icon=":material/event_available:")
    st.stop()
st.title("Confirm your time")
st.caption(
    "Your details are filled in. Choose the time in the calendar below to confirm."
    + (" This is the offline Calendly sandbox." if desk.modes.calendly_sandbox else "")
)
event = ui_embed.calendly_inline(
    attempt["handoff_url"], allowed_origins=list(desk.modes.embed_origins), key="calendly"
)
if event and event != S.get("embed_seen"):
    S["embed_seen"] = event
    desk.handoff.note_embed_event(attempt_id, event["event"], event.get("inviteeUri"))
if attempt["booking_ref"]:  # confirmed by Calendly's webhook (after the report above)
    ui_kit.show_booking(attempt["booking_ref"])

if event and event["event"] == "calendly.event_scheduled":
    invitee = (event.get("inviteeUri") or "").rsplit("/", 1)[-1]

    @st.fragment(run_every=2)
    def wait_for_confirmation() -> None:
        """Calendly's signed webhook confirms the booking; then show the booking."""
        if desk.calendly_sync.booking_of(invitee):
            st.rerun(scope="app")  # the page now finds the booking and moves on
        st.info("Scheduled. Waiting for Calendly's confirmation…", icon=":material/hourglass_top:")

    wait_for_confirmation()
