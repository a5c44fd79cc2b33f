"""Book page: analyst → meeting type → date → time → details → book."""

from __future__ import annotations

import contextlib
from datetime import date, datetime

import streamlit as st

import ui_kit
from booking.desk.offers import slot_taken
from booking.domain import funnel
from booking.domain.request import BookingRequest
from booking.errors import BookingError, SlotTaken

desk = ui_kit.desk()
S = st.session_state

# Resets asked for by the previous run happen before any widget exists.
if S.pop("reset_slot", False):
    S["slot"] = None
if S.pop("reset_journey", False):
    for key in ("attempt", "analyst", "meeting", "day", "slot"):
        S.pop(key, None)


def attempt_id() -> str:
    if "attempt" not in S:
        S["attempt"] = desk.start_attempt(visitor_tz=S.get(ui_kit.TZ_KEY))
    return S["attempt"]


def choose_analyst(slug: str) -> None:
    if S.get("analyst") == slug:
        return
    analyst = desk.analyst(slug)
    S.update(analyst=slug, meeting=None, day=None, slot=None, all_days=False)
    S.pop("error", None)
    desk.record(
        attempt_id(),
        funnel.ANALYST_SELECTED,
        analyst=slug,
        attempt_fields={"analyst": slug, "provider": analyst.provider},
    )


def on_meeting() -> None:
    S.update(day=None, slot=None, all_days=False)
    if S.get("meeting"):
        desk.record(
            attempt_id(),
            funnel.MEETING_TYPE_SELECTED,
            meeting_type=S["meeting"],
            attempt_fields={"meeting_type": S["meeting"]},
        )


def on_day() -> None:
    S["slot"] = None
    if S.get("day"):
        desk.record(attempt_id(), funnel.DATE_SELECTED, date=S["day"])


def on_slot() -> None:
    S.pop("error", None)
    if S.get("slot"):
        desk.record(
            attempt_id(),
            funnel.SLOT_CHOSEN,
            start=S["slot"],
            attempt_fields={"slot_start": S["slot"]},
        )


if (wanted := st.query_params.get("analyst")) and "analyst" not in S:
    with contextlib.suppress(BookingError):  # an unknown analyst in a link shows the list
        choose_analyst(wanted)

st.title("Book a session")
st.caption("Choose an analyst and a time that suits you. It takes about a minute.")

# -- 1. analyst --------------------------------------------------------------------------
st.subheader("1. Analyst")
analysts = desk.catalogue.analysts
for column, analyst in zip(st.columns(len(analysts)), analysts, strict=True):
    with column.container(border=True, height="stretch"):
        st.markdown(f"**{analyst.name}**")
        st.caption(analyst.headline or " ")
        if analyst.provider == "calendly":
            st.caption(f":material/calendar_month: booked via {desk.modes.calendly_label}")
        else:
            prices = dict.fromkeys(  # cheapest first, each price once
                m.price_label for m in sorted(analyst.meeting_types, key=lambda m: m.price)
            )
            st.caption(f":material/schedule: {', '.join(prices)} · {analyst.zone.key}")
        chosen = S.get("analyst") == analyst.slug
        st.button(
            "Selected" if chosen else f"Choose {analyst.name.split()[0]}",
            key=f"choose_{analyst.slug}",
            on_click=choose_analyst,
            args=(analyst.slug,),
            type="primary" if chosen else "secondary",
            width="stretch",
            icon=":material/check:" if chosen else None,
        )

if not S.get("analyst"):
    st.stop()
analyst = desk.analyst(S["analyst"])
via_calendly = analyst.provider == "calendly"

# -- 2. meeting type ---------------------------------------------------------------------
st.subheader("2. Meeting type")
try:
    with st.spinner(f"Loading {analyst.name}'s meeting types…"):
        meetings = {m.id: m for m in desk.offers.meeting_types(analyst)}
except BookingError as exc:
    st.error(str(exc), icon=":material/cloud_off:")
    st.stop()
if not meetings:
    st.warning(f"{analyst.name} offers no sessions right now. Please choose another analyst.")
    st.stop()
if S.get("meeting") not in meetings:
    S["meeting"] = None
st.radio(
    "Meeting type",
    list(meetings),
    key="meeting",
    index=None,
    on_change=on_meeting,
    format_func=lambda mid: (
        f"{meetings[mid].name} — {meetings[mid].duration_minutes} min · {meetings[mid].price_label}"
    ),
    captions=[m.description for m in meetings.values()],
    label_visibility="collapsed",
)
if not S.get("meeting"):
    st.stop()
meeting = meetings[S["meeting"]]

# -- 3. date and time --------------------------------------------------------------------
st.subheader("3. Date and time")
tz = ui_kit.visitor_zone(desk.settings.default_timezone)
ui_kit.timezone_picker()
try:
    with st.spinner("Finding free times…"):
        days = desk.offers.open_days(
            analyst.slug,
            meeting.id,
            tz,
            later=bool(S.get("all_days")),
            client=ui_kit.client_address(),
        )
except BookingError as exc:
    st.error(str(exc), icon=":material/cloud_off:")
    st.stop()
if not days:
    st.warning(
        f"{analyst.name} has no free {meeting.name} times in the coming weeks. "
        "Please try another meeting type or analyst.",
        icon=":material/event_busy:",
    )
    st.stop()
day_keys = [d.isoformat() for d in days]
chosen_day = S.get("day")
chosen_slot = S.get("slot")
if chosen_slot and chosen_slot not in {s.start.isoformat() for ss in days.values() for s in ss}:
    # The time this visitor had picked was taken meanwhile: say so, then offer fresh times.
    S["error"] = str(slot_taken(datetime.fromisoformat(chosen_slot), tz))
    S["slot"] = None
if chosen_day not in day_keys:
    S["day"] = None
visible = day_keys if S.get("all_days") or S.get("day") in day_keys[10:] else day_keys[:10]
st.pills(
    "Date",
    visible,
    key="day",
    on_change=on_day,
    format_func=lambda d: f"{date.fromisoformat(d):%a %-d %b}",
    help="Only dates with at least one free time are listed.",
)
if len(visible) < len(day_keys) or (via_calendly and not S.get("all_days")):
    st.button(
        "Show later dates",
        on_click=S.update,
        kwargs={"all_days": True},
        type="tertiary",
        icon=":material/expand_more:",
    )
if error := S.get("error"):
    st.error(error, icon=":material/error:")
if not S.get("day"):
    st.stop()
slots = {s.start.isoformat(): s for s in days[date.fromisoformat(S["day"])]}
if S.get("slot") not in slots:
    S["slot"] = None
st.pills(
    "Time",
    list(slots),
    key="slot",
    on_change=on_slot,
    format_func=lambda iso: f"{slots[iso].start.astimezone(tz):%H:%M}",
    help=f"Start times in {tz.key}. Each session lasts {meeting.duration_minutes} minutes.",
)
if not S.get("slot"):
    st.stop()
slot = slots[S["slot"]]

# -- 4. details --------------------------------------------------------------------------
st.subheader("4. Your details")
st.markdown(
    f"**{meeting.name}** with **{analyst.name}** · "
    f"{slot.start.astimezone(tz):%a %-d %b %Y, %H:%M}–{slot.end.astimezone(tz):%H:%M} "
    f"({tz.key}) · **{meeting.price_label}**"
)
calendly_form = None  # booked directly: what Calendly needs asked (the desk says what)
if via_calendly:
    with contextlib.suppress(BookingError):  # unreadable now: the booking step will say
        calendly_form = desk.handoff.form_for(analyst, meeting.id)
asks = calendly_form.asks() if calendly_form else ()
with st.form("details", border=True, enter_to_submit=False):
    st.text_input("Name", key="name", max_chars=100, autocomplete="name", persist_state="session")
    st.text_input(
        "Email",
        key="email",
        max_chars=320,
        autocomplete="email",
        persist_state="session",
        help="We send your confirmation here.",
    )
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
    st.text_area(
        calendly_form.notes_question.name
        if calendly_form and calendly_form.notes_required
        else "Notes (optional)",
        key="notes",
        max_chars=2000,
        persist_state="session",
        placeholder="Anything the analyst should know before the session",
    )
    if not meeting.is_free:
        held = (
            "" if via_calendly else f" We hold the time for {desk.settings.hold_minutes} minutes."
        )
        st.caption(f"Next: pay {meeting.price_label} on a secure checkout page.{held}")
    if via_calendly and analyst.handoff == "direct":
        st.caption("We book the time with Calendly for you; you stay on this site.")
    elif via_calendly:
        st.caption(
            f"{'Then' if not meeting.is_free else 'Next'}, Calendly opens on "
            f"{slot.start.astimezone(tz):%a %-d %b} with your details filled in: choose "
            f"{slot.start.astimezone(tz):%H:%M} there to confirm."
        )
    submitted = st.form_submit_button(
        "Book" if meeting.is_free else "Proceed to Pay", type="primary", width="stretch"
    )

if submitted:
    request = BookingRequest(
        analyst=analyst.slug,
        meeting_type=meeting.id,
        start=slot.start,
        timezone=tz.key,
        attempt_id=attempt_id(),
        client=ui_kit.client_address(),
        name=S.get("name"),
        email=S.get("email"),
        notes=S.get("notes"),
        answers=tuple((a.key, ui_kit.answer_text(S.get(f"ask_{a.key}"))) for a in asks),
    )
    if not meeting.is_free:
        waiting = "Opening the secure checkout…"
    elif not via_calendly:
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
        S["reset_slot"] = True
        st.rerun()
    except BookingError as exc:
        st.error(str(exc), icon=":material/error:")
    else:
        S["reset_journey"] = True
        ui_kit.follow(outcome)
