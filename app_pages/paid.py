"""Back from the checkout: settle the payment, then book (local) or go on to Calendly.

Any revisit (Back, Reload, an old link) shows where the visitor stands — paid and booked,
cancelled, or still waiting — with the way forward, and never asks them to pay twice.
"""

import streamlit as st

import ui_kit
from booking.errors import BookingError, SlotTaken
from ui_kit import a11y
from ui_kit import book_steps as steps

desk = ui_kit.desk()
S = st.session_state
a11y.page_title("Payment", desk.settings.brand_name)
attempt = st.query_params.get("attempt", "")
checkout = st.query_params.get("session") or None
again = steps.book_again_params(desk, attempt)


def book_again(label: str = "Choose a time again") -> None:
    st.page_link(
        "app_pages/book.py", label=label, icon=":material/event_available:", query_params=again
    )


def booked(reference: str) -> None:
    """Paid and booked: say so, with the booking one click away (no second payment)."""
    st.title("Payment complete")
    st.success("You have paid, and your session is booked.", icon=":material/check_circle:")
    if st.button("See your booking", type="primary", icon=":material/event_available:"):
        ui_kit.show_booking(reference)
    st.page_link("app_pages/book.py", label="Book another session", icon=":material/add:")


if not attempt and st.query_params.get("ref"):  # Back from the success page
    st.title("Payment complete")
    st.success("You have paid, and your session is booked.", icon=":material/check_circle:")
    st.page_link(
        "app_pages/success.py",
        label="See your booking",
        icon=":material/event_available:",
        query_params={k: st.query_params.get(k, "") for k in ("ref", "token")},
    )
    st.stop()

if st.query_params.get("canceled"):
    try:
        outcome = desk.checkout.abandon(attempt, checkout)
    except BookingError as exc:
        st.title("Payment cancelled")
        st.error(str(exc), icon=":material/error:")
        book_again()
        st.stop()
    if outcome is not None and outcome.kind == "booked":  # paid after all, in another tab
        booked(outcome.reference)
        st.stop()
    if outcome is not None:
        ui_kit.follow(outcome)
        st.stop()
    st.title("Payment cancelled")
    st.info(
        "Nothing was charged, the checkout is closed, and the time you picked is free again.",
        icon=":material/undo:",
    )
    book_again()
    st.stop()

try:
    with st.spinner("Confirming your payment…"):
        outcome = desk.checkout.complete(attempt, checkout)
except SlotTaken as exc:  # paid too late: the refund is due (and emailed)
    st.title("Your payment will be refunded")
    st.error(str(exc), icon=":material/event_busy:")
    st.caption("We have emailed you about the refund.")
    book_again("Choose another time")
    st.stop()
except BookingError as exc:
    st.title("Payment")
    st.error(str(exc), icon=":material/error:")
    st.button("Try again", icon=":material/refresh:", type="primary")
    book_again("Back to booking")
    st.stop()

forwarded = S.setdefault("forwarded", set())
if outcome.kind == "booked" and attempt in forwarded:  # Back to here after the success page
    booked(outcome.reference)
elif outcome.kind in ("booked", "embed", "redirect"):
    st.title("Payment received")
    st.success("Payment received, thank you.", icon=":material/check_circle:")
    forwarded.add(attempt)
    ui_kit.follow(outcome)
elif outcome.kind == "pending":
    st.title("Payment")
    st.info(
        "The payment provider has not confirmed your payment yet. This usually takes a few "
        "seconds.",
        icon=":material/hourglass_top:",
    )
    st.button("Check again", icon=":material/refresh:", type="primary")
else:
    st.title("Checkout expired")
    st.warning(
        "This checkout expired or was cancelled before it was paid, so nothing was charged. "
        "Please choose a time again.",
        icon=":material/timer_off:",
    )
    book_again()
