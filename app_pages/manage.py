"""Manage page, from the private link in every email: see the booking, move it to another
free time of the same meeting type, or cancel it after a confirmation step."""

from datetime import date, datetime

import streamlit as st

import ui_kit
from booking.desk.offers import slot_taken
from booking.domain.funnel import BookingStatus
from booking.errors import BookingError
from ui_kit import a11y, booking_card, zones
from ui_kit.book_steps import focus_if

desk = ui_kit.desk()
a11y.page_title("Your booking", desk.settings.brand_name)
S = st.session_state
reference = st.query_params.get("ref", "")
token = st.query_params.get("token", "")
book_again = dict(page="app_pages/book.py", icon=":material/event_available:")

try:
    booking = desk.manage.open(reference, token)
except BookingError as exc:
    st.title("Booking not found")
    st.error(str(exc), icon=":material/search_off:")
    st.page_link(label="Book a session", **book_again)
    st.stop()

tz = ui_kit.visitor_zone(booking.visitor_tz)
twelve = zones.uses_12_hour_clock()
canceled = booking.status == BookingStatus.CANCELED
st.title("Booking cancelled" if canceled else "Your booking")
if flash := S.pop("manage_flash", None):  # what was just done: it takes the focus
    with st.container(key="manage-done"):
        st.success(flash, icon=":material/check_circle:")
    a11y.focus_step("manage-done", "[role=alert], [role=status]")
booking_card.details(booking, tz, twelve=twelve)
ui_kit.zone_and_clock()
booking_card.calendar_buttons(booking, desk.manage.url(booking.reference, token))

if canceled:
    st.page_link(label="Book another time", **book_again)
    st.stop()
if booking.analyst.provider != "local":
    booking_card.calendly_links(booking)
    st.caption("This booking was made on Calendly, so it is changed there.")
    st.stop()


def day_of(iso: str) -> str:
    """The visitor's calendar day (as the date pills name it) of a time's ISO start."""
    return datetime.fromisoformat(iso).astimezone(tz).date().isoformat()


def when(b) -> str:
    """The booking's time as this visitor reads it (their zone, their clock)."""
    return zones.when(b.start, b.end, tz, twelve=twelve)


def forget_choice() -> None:
    for key in ("manage_day", "manage_slot", "manage_confirm_cancel", "manage_reason"):
        S.pop(key, None)


# -- move ------------------------------------------------------------------------------------
st.header("Move to another time")
try:
    with st.spinner("Finding free times…"):
        days = desk.manage.times(booking, tz)
except BookingError as exc:
    st.info(str(exc), icon=":material/event_busy:")
    st.stop()
if not days:
    st.caption(
        f"{ui_kit.md(booking.analyst.name)} has no other free {ui_kit.md(booking.meeting.name)} "
        "times for now."
    )
else:
    day_keys = [d.isoformat() for d in days]
    picked, on = S.get("manage_slot"), S.get("manage_day")
    # the time they had picked, gone meanwhile (with its day, when it was the day's last)
    taken = picked if picked and on and day_of(picked) == on else None
    if on not in day_keys:
        S["manage_day"] = S["manage_slot"] = None
    st.pills(
        "New date",
        day_keys,
        key="manage_day",
        format_func=lambda d: f"{date.fromisoformat(d):%a %-d %b}",
    )
    if S.get("manage_day"):
        slots = {s.start.isoformat(): s for s in days[date.fromisoformat(S["manage_day"])]}
        if S.get("manage_slot") not in slots:
            S["manage_slot"] = None
        else:
            taken = None
        st.pills(
            "New time",
            list(slots),
            key="manage_slot",
            format_func=lambda iso: zones.clock(slots[iso].start.astimezone(tz), twelve=twelve),
            help=f"Start times in {tz.key}.",
        )
        if S.get("manage_slot"):
            new = slots[S["manage_slot"]]
            start = new.start.astimezone(tz)
            label = f"Move to {start:%a %-d %b}, {zones.clock(start, twelve=twelve)}"
            if st.button(label, type="primary", icon=":material/update:"):
                try:
                    moved = desk.manage.reschedule(reference, token, new.start, tz.key)
                except BookingError as exc:
                    st.error(zones.in_clock(str(exc), twelve=twelve), icon=":material/error:")
                else:
                    forget_choice()
                    S["manage_flash"] = (
                        f"Moved: your {ui_kit.md(moved.meeting.name)} is now {when(moved)}. An "
                        f"updated invitation is on its way to {ui_kit.md(moved.email)}."
                    )
                    st.rerun()
    if taken:  # say so where the next choice is made, in the visitor's clock
        gone = str(slot_taken(datetime.fromisoformat(taken), tz))
        st.error(zones.in_clock(gone, twelve=twelve), icon=":material/error:")

# -- cancel ----------------------------------------------------------------------------------
st.header("Cancel")


def ask_to_cancel() -> None:
    S.update(manage_confirm_cancel=True, focus="manage-cancel")


def keep_booking() -> None:
    forget_choice()
    S["focus"] = "manage-cancel-open"


if not S.get("manage_confirm_cancel"):
    with st.container(key="manage-cancel-open"):
        st.button("Cancel this booking…", icon=":material/event_busy:", on_click=ask_to_cancel)
    focus_if("manage-cancel-open", "button")
    st.stop()
with st.container(border=True, key="manage-cancel"):
    refund = "" if booking.meeting.is_free else " Your payment will be refunded in full."
    st.warning(
        f"Cancel your {ui_kit.md(booking.meeting.name)} with {ui_kit.md(booking.analyst.name)} on "
        f"{when(booking)}? The time is released for someone else.{refund}",
        icon=":material/warning:",
    )
    reason = st.text_area("Reason (optional)", key="manage_reason", max_chars=500)
    yes, no = st.columns(2)
    if yes.button("Yes, cancel it", type="primary"):
        try:
            desk.manage.cancel(reference, token, reason)
        except BookingError as exc:
            st.error(str(exc), icon=":material/error:")
        else:
            forget_choice()
            S["manage_flash"] = "Cancelled. A confirmation is on its way to your inbox."
            st.rerun()
    no.button("Keep my booking", on_click=keep_booking)
focus_if("manage-cancel", "textarea")
