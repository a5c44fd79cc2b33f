"""Back from the checkout: settle the payment, then book (local) or go on to Calendly."""

import streamlit as st

import ui_kit
from booking.errors import BookingError

desk = ui_kit.desk()
attempt = st.query_params.get("attempt", "")
checkout = st.query_params.get("session") or None
book_again = dict(page="app_pages/book.py", icon=":material/event_available:")

if st.query_params.get("canceled"):
    st.title("Payment cancelled")
    try:
        desk.checkout.abandon(attempt, checkout)
    except BookingError as exc:
        st.error(str(exc), icon=":material/error:")
    else:
        st.info(
            "Nothing was charged, and the time you picked is free again.", icon=":material/undo:"
        )
    st.page_link(label="Choose a time again", **book_again)
    st.stop()

st.title("Payment")
try:
    with st.spinner("Confirming your payment…"):
        outcome = desk.checkout.complete(attempt, checkout)
except BookingError as exc:
    st.error(str(exc), icon=":material/error:")
    st.button("Try again", icon=":material/refresh:", type="primary")
    st.page_link(label="Back to booking", **book_again)
    st.stop()

if outcome.kind in ("booked", "embed", "redirect"):
    st.success("Payment received, thank you.", icon=":material/check_circle:")
    ui_kit.follow(outcome)
elif outcome.kind == "pending":
    st.info(
        "The payment provider has not confirmed your payment yet. This usually takes a few "
        "seconds.",
        icon=":material/hourglass_top:",
    )
    st.button("Check again", icon=":material/refresh:", type="primary")
else:
    st.warning(
        "This checkout expired before it was paid, so nothing was charged. Please choose a "
        "time again.",
        icon=":material/timer_off:",
    )
    st.page_link(label="Choose a time again", **book_again)
