"""The book page's last step: the visitor's details (with the Calendly event type's
required questions), every problem shown under its field, and the booking itself.

The form's submit callback checks every field at once (``check_form``): an over-long paste
keeps the allowed part and says so; each error is drawn under its field, which gets
``aria-invalid`` and the focus. Only a submit whose checks passed books (``submit``).
"""

from __future__ import annotations

import contextlib

import streamlit as st

import ui_kit
from booking.desk import Desk
from booking.domain.catalogue import Analyst, MeetingType
from booking.domain.request import MAX_NAME, MAX_NOTES, BookingRequest, detail_problems
from booking.domain.wording import describe_time
from booking.errors import BookingError, InvalidInput, SlotTaken
from ui_kit import a11y, zones
from ui_kit.book_steps import attempt_id, focus_if, set_choice

S = st.session_state
FIELDS = {"name": "Name", "email": "Email", "notes": "Notes (optional)"}


def check_form() -> None:
    """The form's submit callback: keep the allowed part of an over-long paste and say so,
    and put every problem under its field; else let the page book."""
    problems = {}
    for key, limit, what in (("name", MAX_NAME, "name"), ("notes", MAX_NOTES, "notes")):
        text = S.get(key) or ""
        if len(text) > limit:
            S[key] = text[:limit]
            problems[key] = (
                f"Your {what} had {len(text):,} characters; we kept the first {limit:,}. "
                "Please check the end, then submit again."
            )
    for key, message in detail_problems(S.get("name"), S.get("email"), S.get("notes")).items():
        problems.setdefault(key, message)
    S["field_errors"] = problems
    S["submit"] = not problems


def details_fields(calendly_form, asks) -> None:
    """Name, email, the Calendly event type's required questions and notes, each with its
    error under it (inside the form)."""
    errors = S.get("field_errors") or {}
    with st.container(key="field-name"):
        st.text_input("Name", key="name", autocomplete="name", persist_state="session")
        if "name" in errors:
            st.error(ui_kit.md(errors["name"]), icon=":material/error:")
    with st.container(key="field-email"):
        st.text_input(
            "Email",
            key="email",
            type="email",
            validate="",  # checked on the server, and the error shown at the field
            placeholder="you@example.com",
            autocomplete="email",
            persist_state="session",
        )
        if "email" in errors:
            st.error(ui_kit.md(errors["email"]), icon=":material/error:")
        st.caption("We send your confirmation here.")
    for ask in asks:  # each required: Calendly refuses the booking without it
        if ask.kind == "single_select":
            st.selectbox(ask.label, ask.choices, index=None, key=f"ask_{ask.key}")
        elif ask.kind == "multi_select":
            st.multiselect(ask.label, ask.choices, key=f"ask_{ask.key}")
        else:
            st.text_input(
                ask.label,
                key=f"ask_{ask.key}",
                max_chars=1000,
                help=ask.help or None,
                autocomplete="tel" if ask.kind == "phone" else None,
            )
    with st.container(key="field-notes"):
        st.text_area(
            calendly_form.notes_question.name
            if calendly_form and calendly_form.notes_required
            else "Notes (optional)",
            key="notes",
            persist_state="session",
            placeholder="Anything the analyst should know before the session",
        )
        if "notes" in errors:
            st.error(ui_kit.md(errors["notes"]), icon=":material/error:")
        st.caption(f"Up to {MAX_NOTES:,} characters.")


def show_field_errors() -> None:
    errors = S.get("field_errors") or {}
    if errors:
        a11y.mark_invalid([f"field-{k}" for k in FIELDS if k in errors])


def summary(analyst: Analyst, meeting: MeetingType, slot, tz, twelve: bool) -> None:
    start, end = slot.start.astimezone(tz), slot.end.astimezone(tz)
    st.markdown(
        f"**{meeting.name}** with **{analyst.name}** · {start:%a} {start.day} {start:%b %Y}, "
        f"{zones.clock(start, twelve=twelve)}–{zones.clock(end, twelve=twelve)} ({tz.key}) · "
        f"**{meeting.price_label}**"
    )


def next_steps_caption(desk: Desk, analyst: Analyst, meeting: MeetingType, slot, tz) -> None:
    """What happens after the button, worded for the analyst's mode."""
    direct = analyst.provider == "calendly" and analyst.handoff == "direct"
    lines = []
    if not meeting.is_free:
        held = (
            ""
            if analyst.provider == "calendly"
            else (f" We hold the time for {desk.settings.hold_minutes} minutes while you pay.")
        )
        lines.append(f"Next: pay {meeting.price_label} on a secure checkout page.{held}")
        if policy := desk.settings.refund_policy:
            lines.append(f"Cancellation and refunds: {policy}")
    if direct:
        lines.append(
            "We book the time with Calendly for you"
            + (
                " once you have paid; you come back to this site."
                if not meeting.is_free
                else "; you stay on this site."
            )
        )
    elif analyst.provider == "calendly":
        lines.append(
            f"{'Then' if not meeting.is_free else 'Next'}, Calendly opens on "
            f"{describe_time(slot.start, tz).split(' on ')[1]} with your details filled in: "
            "choose the same time there to confirm. Calendly emails your confirmation."
        )
    for line in lines:
        st.caption(line)


def details_step(desk: Desk, analyst: Analyst, meeting: MeetingType, slot, tz, twelve: bool):
    """The summary and the details form; returns the Calendly questions it asked."""
    with st.container(key="step-details"):
        st.header("4. Your details")
        summary(analyst, meeting, slot, tz, twelve)
        calendly_form = None  # booked directly: what Calendly needs asked (the desk says what)
        if analyst.provider == "calendly":
            with contextlib.suppress(BookingError):  # unreadable now: the booking step will say
                calendly_form = desk.handoff.form_for(analyst, meeting.id)
        asks = calendly_form.asks() if calendly_form else ()
        # a Calendly type is booked here only with a form to book it directly by
        direct = analyst.provider != "calendly" or calendly_form is not None
        with st.form("details", border=True, enter_to_submit=False):
            details_fields(calendly_form, asks)
            next_steps_caption(desk, analyst, meeting, slot, tz)
            st.form_submit_button(
                submit_label(meeting, direct=direct),
                type="primary",
                width="stretch",
                on_click=check_form,
            )
        show_field_errors()
        focus_if("step-details", ".st-key-field-name input")
    return asks


def submit_label(meeting: MeetingType, *, direct: bool) -> str:
    """What the form's button does: pay first, book (here, or directly with Calendly), or
    go on to Calendly, where the visitor confirms the time (nothing is booked before)."""
    if not meeting.is_free:
        return "Proceed to Pay"
    return "Book" if direct else "Continue to Calendly"


def submit_wanted() -> bool:
    """Whether this run follows a form submit whose checks passed (asked once per run, at
    the top of the page, so a flag never outlives its run)."""
    return bool(S.pop("submit", False))


def submit(desk: Desk, analyst: Analyst, meeting: MeetingType, slot, tz, asks) -> None:
    """Book (or go to pay, or to Calendly): the form's checks passed in this run."""
    request = BookingRequest(
        analyst=analyst.slug,
        meeting_type=meeting.id,
        start=slot.start,
        timezone=tz.key,
        attempt_id=attempt_id(desk),
        client=ui_kit.client_address(),
        name=S.get("name"),
        email=S.get("email"),
        notes=S.get("notes"),
        answers=tuple((a.key, ui_kit.answer_text(S.get(f"ask_{a.key}"))) for a in asks),
    )
    if not meeting.is_free:
        waiting = "Opening the secure checkout…"
    elif analyst.provider != "calendly":
        waiting = "Booking your session…"
    elif analyst.handoff == "direct":
        waiting = "Booking with Calendly…"
    else:
        waiting = "Reserving your Calendly link…"
    try:
        with st.spinner(waiting):
            outcome = desk.submit(request)
    except SlotTaken as exc:
        S["error"] = str(exc)
        S["focus"] = "step-time"
        set_choice("time", None)
        st.rerun()
    except BookingError as exc:
        if isinstance(exc, InvalidInput) and exc.field in FIELDS:
            S["field_errors"] = {exc.field: str(exc)}
            st.rerun()
        # a message may quote what the visitor typed (or Calendly's refusal of it): as typed
        message = zones.in_clock(str(exc), twelve=zones.uses_12_hour_clock())
        st.error(ui_kit.md(message), icon=":material/error:")
    else:
        if outcome.kind != "checkout":  # paying: Back from the checkout finds the attempt
            S.pop("attempt", None)
        ui_kit.follow(outcome)
