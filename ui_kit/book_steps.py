"""The book page's steps: analyst → meeting type → date → time → details.

The choices live in the URL's query string (``analyst``, ``type``, ``date``, ``time``), so
Reload restores them, the browser's Back steps back one choice (each choice pushes one
history entry) and a link can be shared ("book Maya's intro call":
``/?analyst=maya-chen&type=intro``). The URL is the source of truth: every run copies it
into the widgets' session state before they are drawn, and each choice's callback writes
the URL (dropping the choices below it). Typed details stay in session state only.

Each choice moves the focus (and the view) to the step it opened. The funnel steps are
recorded from the callbacks, i.e. only for what the visitor did, never for a Back.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from datetime import date, datetime

import streamlit as st

import ui_kit
from booking.desk import Desk
from booking.desk.offers import slot_taken
from booking.domain import funnel
from booking.domain.catalogue import Analyst, MeetingType
from booking.errors import BookingError
from ui_kit import a11y, zones
from ui_kit.month_calendar import month_calendar, picked

S = st.session_state
ORDER = ("analyst", "type", "date", "time")  # query parameters, each under the one before
_ATTEMPT_COOKIE = "bd_attempt"
_ATTEMPT_ID = re.compile(r"att_[A-Za-z0-9_-]{10,64}")


def short(meeting_id: str) -> str:
    """A meeting type's name in the URL: 'intro', or a Calendly event type's last segment."""
    return meeting_id.rstrip("/").rsplit("/", 1)[-1]


def set_choice(name: str, value: str | None) -> None:
    """Write one choice into the URL (one history entry), dropping the choices below it."""
    params = {k: st.query_params[k] for k in ORDER[: ORDER.index(name)] if k in st.query_params}
    if value:
        params[name] = value
    st.query_params.from_dict(params)


# -- the attempt --------------------------------------------------------------------------
def _kept() -> str:
    """The attempt id the browser kept (the cookie), if it looks like one."""
    cookies = st.context.cookies
    value = cookies.get(_ATTEMPT_COOKIE) if isinstance(cookies, Mapping) else None
    return value if isinstance(value, str) and _ATTEMPT_ID.fullmatch(value) else ""


def attempt_id(desk: Desk) -> str:
    """This visitor's booking attempt: the session's, else the one their browser kept from
    before a reload or a Back from the checkout (a cookie), else a new one."""
    if "attempt" not in S:
        kept = _kept()
        attempt = desk.store.attempt(kept) if kept else None
        if attempt and not attempt["booking_ref"] and not attempt["handoff_url"]:
            S["attempt"] = kept  # still on its way (choosing, or paying): carry on with it
        else:
            S["attempt"] = desk.start_attempt(visitor_tz=S.get(zones.TZ_KEY))
            S["remember_attempt"] = True
    return S["attempt"]


def known_attempt(desk: Desk) -> str | None:
    """The attempt if there is one already (without starting one)."""
    if "attempt" in S or _kept():
        return attempt_id(desk)
    return None


def remember_attempt() -> None:
    """Keep the attempt in the browser for an hour (a first-party, same-site cookie)."""
    if S.pop("remember_attempt", False):
        value = S["attempt"]
        if _ATTEMPT_ID.fullmatch(value):
            st.html(
                f'<script>document.cookie = "{_ATTEMPT_COOKIE}={value}; path=/; '
                'max-age=3600; samesite=lax" + '
                '(location.protocol === "https:" ? "; secure" : "");</script>',
                unsafe_allow_javascript=True,
            )


# -- 0. a time the visitor is paying for ------------------------------------------------------
def release(desk: Desk, when: str) -> None:
    """Release it: the checkout is closed and the time freed; the page says so. If they
    had paid after all (in another tab), the page carries on as paid instead."""
    try:
        outcome = desk.checkout.release(S["attempt"])
    except BookingError as exc:  # paid, but the time went meanwhile: a refund is due
        S["error"] = str(exc)
        return
    if outcome is not None:
        S["paid_after_all"] = outcome
        return
    S["released"] = f"Released {when}. Nothing was charged and the checkout is closed."
    S["focus"] = "released"


def held_time(desk: Desk, tz, twelve: bool) -> None:
    """Back from the checkout: the time they hold, with Continue to payment / Release it;
    once released, a short confirmation that has the focus (where the banner was)."""
    if paid := S.pop("paid_after_all", None):
        ui_kit.follow(paid)
    if released := S.pop("released", None):
        with st.container(key="released"):
            st.success(released, icon=":material/undo:")
        focus_if("released", "[role=alert], [role=status]")
    held = desk.checkout.open_checkout(known_attempt(desk))
    if not held:
        return
    with contextlib.suppress(BookingError):
        who = desk.analyst(held["analyst"])
        what = f"{who.name}'s {desk.offers.meeting_type(who, held['meeting_type']).name}"
        start = held["start"].astimezone(tz)
        when = f"{zones.clock(start, twelve=twelve)} on {start:%a} {start.day} {start:%b}"
        with st.container(border=True, key="held"):
            if held["until"]:
                until = zones.clock(held["until"].astimezone(tz), twelve=twelve)
                st.markdown(f"**You are holding {when} until {until}** ({what}, {tz.key}).")
                st.caption("Pay before then to book it; after that the time is offered again.")
            else:
                st.markdown(f"**You have a payment open for {when}** ({what}, {tz.key}).")
            row = st.container(horizontal=True)
            if row.button("Continue to payment", type="primary", icon=":material/payments:"):
                ui_kit.redirect(held["url"], S["attempt"], label=desk.modes.checkout_label)
                st.stop()
            row.button("Release it", icon=":material/undo:", on_click=release, args=(desk, when))


# -- 1. analyst -------------------------------------------------------------------------
def choose_analyst(desk: Desk, slug: str) -> None:
    set_choice("analyst", slug)
    S.update(meeting=None, day=None, slot=None, all_days=False, focus="step-meeting")
    S.pop("error", None)
    record_analyst(desk, slug)


def record_analyst(desk: Desk, slug: str) -> None:
    analyst = desk.analyst(slug)
    desk.record(
        attempt_id(desk),
        funnel.ANALYST_SELECTED,
        analyst=slug,
        attempt_fields={"analyst": slug, "provider": analyst.provider},
    )


def prices(desk: Desk, analyst: Analyst) -> str:
    """'Free – £120' from the analyst's meeting types ('' when they cannot be read)."""
    try:
        types = sorted(desk.offers.meeting_types(analyst), key=lambda m: m.price)
    except BookingError:
        return ""
    labels = list(dict.fromkeys(m.price_label for m in types))
    return labels[0] if len(labels) == 1 else f"{labels[0]} – {labels[-1]}" if labels else ""


def analyst_step(desk: Desk) -> Analyst | None:
    wanted = st.query_params.get("analyst")
    analyst = None
    with contextlib.suppress(BookingError):  # an unknown analyst in a link shows the list
        analyst = desk.analyst(wanted) if wanted else None
    if wanted and analyst is None:
        set_choice("analyst", None)
    if analyst and S.get("analyst") != analyst.slug:
        S["analyst"] = analyst.slug
        if "attempt" not in S:  # arrived through a shared link (choices kept as given)
            record_analyst(desk, analyst.slug)
    st.header("1. Analyst")
    analysts = desk.catalogue.analysts
    for column, each in zip(st.columns(len(analysts)), analysts, strict=True):
        with column.container(border=True, height="stretch"):
            st.markdown(f"**{each.name}**")
            st.caption(each.headline or " ")
            price = prices(desk, each)
            via = (
                f"booked via {desk.modes.calendly_label}"
                if each.provider == "calendly"
                else "booked here"
            )
            st.caption(f":material/sell: {price} · {via}" if price else f":material/sell: {via}")
            chosen = analyst is not None and analyst.slug == each.slug
            st.button(
                "Selected" if chosen else f"Choose {each.name.split()[0]}",
                key=f"choose_{each.slug}",
                on_click=choose_analyst,
                args=(desk, each.slug),
                type="primary" if chosen else "secondary",
                width="stretch",
                icon=":material/check:" if chosen else None,
            )
    return analyst


# -- 2. meeting type ------------------------------------------------------------------------
def on_meeting(desk: Desk) -> None:
    set_choice("type", short(S["meeting"]) if S.get("meeting") else None)
    S.update(day=None, slot=None, all_days=False, focus="step-date")
    if S.get("meeting"):
        desk.record(
            attempt_id(desk),
            funnel.MEETING_TYPE_SELECTED,
            meeting_type=S["meeting"],
            attempt_fields={"meeting_type": S["meeting"]},
        )


def meeting_step(desk: Desk, analyst: Analyst) -> MeetingType | None:
    with st.container(key="step-meeting"):
        st.header("2. Meeting type")
        try:
            with st.spinner(f"Loading {analyst.name}'s meeting types…"):
                meetings = {m.id: m for m in desk.offers.meeting_types(analyst)}
        except BookingError as exc:
            st.error(str(exc), icon=":material/cloud_off:")
            return None
        if not meetings:
            st.warning(f"{analyst.name} offers no sessions right now. Please choose another.")
            return None
        by_short = {short(m): m for m in meetings}
        S["meeting"] = by_short.get(st.query_params.get("type", ""))
        if st.query_params.get("type") and not S["meeting"]:
            set_choice("type", None)
        st.radio(
            "Meeting type",
            list(meetings),
            key="meeting",
            index=None,
            on_change=on_meeting,
            args=(desk,),
            format_func=lambda mid: (
                f"{meetings[mid].name} — {meetings[mid].duration_minutes} min · "
                f"{meetings[mid].price_label}"
            ),
            captions=[m.description for m in meetings.values()],
            label_visibility="collapsed",
        )
        focus_if("step-meeting", "input[type=radio]")
    return meetings.get(S.get("meeting") or "")


# -- 3. date and time -------------------------------------------------------------------------
def on_day(desk: Desk) -> None:
    day = picked("calendar")
    if day:
        S.update(day=day, slot=None, focus="step-time")
        S.pop("error", None)
        set_choice("date", day)
        desk.record(attempt_id(desk), funnel.DATE_SELECTED, date=day)


def on_slot(desk: Desk) -> None:
    set_choice("time", S.get("slot"))
    S.pop("error", None)
    if S.get("slot"):
        S["focus"] = "step-details"
        desk.record(
            attempt_id(desk),
            funnel.SLOT_CHOSEN,
            start=S["slot"],
            attempt_fields={"slot_start": S["slot"]},
        )


def date_step(desk: Desk, analyst: Analyst, meeting: MeetingType, tz):
    """The month calendar; returns (the chosen day's slots by ISO start, or None)."""
    with st.container(key="step-date"):
        st.header("3. Date and time")
        zone_row = st.columns([3, 1], vertical_alignment="bottom")
        with zone_row[0]:
            ui_kit.timezone_picker()
        with zone_row[1]:
            zones.clock_toggle()
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
            return None
        if not days:
            st.warning(
                f"{analyst.name} has no free {meeting.name} times in the coming weeks. "
                "Please try another meeting type or analyst.",
                icon=":material/event_busy:",
            )
            return None
        wanted = st.query_params.get("date")
        S["day"] = wanted if wanted in {d.isoformat() for d in days} else None
        if wanted and not S["day"]:
            taken = st.query_params.get("time")
            if taken and S.get("slot") == taken:  # their pick, the day's last, was just taken
                S["error"] = str(slot_taken(datetime.fromisoformat(taken), tz))
                S["focus"] = "step-date"  # the day is gone: the next choice is a date
            set_choice("date", None)
        with st.container(key="step-calendar"):
            st.markdown("**Date** · the marked dates have free times")
            month_calendar(
                {d: len(slots) for d, slots in days.items()},
                selected=S["day"],
                today=desk.clock().astimezone(tz).date(),
                key="calendar",
                on_pick=lambda: on_day(desk),
            )
        if analyst.provider == "calendly" and not S.get("all_days"):
            st.button(
                "Show later dates",
                on_click=S.update,
                kwargs={"all_days": True},
                type="tertiary",
                icon=":material/expand_more:",
            )
        focus_if("step-date", ".cal-day[tabindex='0']")
    return days


def time_step(desk: Desk, days: dict, meeting: MeetingType, tz, twelve: bool):
    """The free times of the chosen day; returns the chosen slot, or None."""
    with st.container(key="step-time"):
        chosen = st.query_params.get("time")
        every = {s.start.isoformat() for slots in days.values() for s in slots}
        if chosen and chosen not in every:
            if S.get("slot") == chosen:  # this visitor's pick was taken meanwhile: say so,
                S["error"] = str(slot_taken(datetime.fromisoformat(chosen), tz))
                S["focus"] = "step-time"  # and put them where the next choice is made
            set_choice("time", None)
            chosen = None
        if error := S.get("error"):
            st.error(zones.in_clock(error, twelve=twelve), icon=":material/error:")
        if not S.get("day"):
            return None
        slots = {s.start.isoformat(): s for s in days[date.fromisoformat(S["day"])]}
        S["slot"] = chosen if chosen in slots else None
        st.pills(
            "Time",
            list(slots),
            key="slot",
            on_change=on_slot,
            args=(desk,),
            format_func=lambda iso: zones.clock(slots[iso].start.astimezone(tz), twelve=twelve),
        )
        st.caption(f"Start times in {tz.key}. Each session lasts {meeting.duration_minutes} min.")
        focus_if("step-time", "[role=radio]")
    return slots.get(S.get("slot") or "")


def focus_if(key: str, target: str) -> None:
    """Move the focus to this step's ``target`` if the last choice opened the step."""
    if S.get("focus") == key:
        S.pop("focus")
        a11y.focus_step(key, target)


def book_again_params(desk: Desk, attempt: str) -> dict[str, str]:
    """The book page's query string for an attempt's analyst and meeting type, so 'Choose
    a time again' opens on their dates ({} when the attempt is unknown)."""
    row = desk.store.attempt(attempt) if _ATTEMPT_ID.fullmatch(attempt or "") else None
    if not row or not row["analyst"]:
        return {}
    params = {"analyst": row["analyst"]}
    if row["meeting_type"]:
        params["type"] = short(row["meeting_type"])
    return params
