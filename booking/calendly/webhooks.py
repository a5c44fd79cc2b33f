"""Applying Calendly's invitee deliveries to our bookings and funnel, idempotently.

Each delivery is keyed by ``(event, payload.uri)`` (no-shows: by the mark, see below): the
first application writes, a repeat changes nothing. Deliveries may arrive in any order
and still converge:

- ``invitee.created``  → the booking is confirmed (unless a cancellation already landed),
  joined to its attempt through ``tracking.utm_content`` (fallback: email, event type and
  start time); funnel step ``booked``, or ``rescheduled`` when it replaces an old invitee.
- ``invitee.canceled`` → canceled, with reason and who canceled; a reschedule's canceled
  half links the old booking to the new one (``rescheduled_to``) and is not a cancellation
  in the funnel.
- ``invitee_no_show.created`` / ``.deleted`` → the no-show flag, the newest delivery wins;
  these are keyed by the no-show mark's own URI, so marked, unmarked and marked again
  counts three times.

Unknown events are stored and acknowledged, and change nothing else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlite_utils import Database

from booking.calendly.client import parse_calendly_time
from booking.calendly.questions import BookingForm
from booking.domain import funnel
from booking.domain.funnel import BookingStatus
from booking.signatures import NotJson, UnusableDelivery
from booking.store import Store, attempts, bookings, iso
from booking.store import webhooks as deliveries

CREATED = "invitee.created"
CANCELED = "invitee.canceled"
NO_SHOW_CREATED = "invitee_no_show.created"
NO_SHOW_DELETED = "invitee_no_show.deleted"
EVENTS = (CREATED, CANCELED, NO_SHOW_CREATED, NO_SHOW_DELETED)

__all__ = [
    "CANCELED",
    "CREATED",
    "EVENTS",
    "NO_SHOW_CREATED",
    "NO_SHOW_DELETED",
    "Delivery",
    "NotJson",
    "UnusableDelivery",
    "apply",
    "parse",
]


@dataclass(frozen=True)
class Delivery:
    event: str
    created_at: datetime
    payload: dict

    @property
    def uri(self) -> str | None:
        return self.payload.get("uri") if isinstance(self.payload, dict) else None


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Cancellation(_Shape):
    reason: str | None = None
    canceled_by: str | None = None
    canceler_type: str | None = None


class _ScheduledEvent(_Shape):
    start_time: str
    end_time: str | None = None
    event_type: str | None = None
    cancellation: _Cancellation | None = None

    @field_validator("start_time", "end_time")
    @classmethod
    def _a_time(cls, value: str | None) -> str | None:
        if value is not None:
            parse_calendly_time(value)  # ValueError: not a timestamp
        return value


class _Answer(_Shape):
    question: str | None = None
    answer: str | None = None
    position: int = 0


class _Invitee(_Shape):
    """The parts of an invitee payload that applying a delivery reads, with their types."""

    uri: str = Field(min_length=1)
    scheduled_event: _ScheduledEvent
    questions_and_answers: list[_Answer] | None = None
    tracking: dict[str, str | None] | None = None
    cancellation: _Cancellation | None = None
    old_invitee: str | None = None
    new_invitee: str | None = None
    rescheduled: bool | None = None
    status: str | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    timezone: str | None = None
    event: str | None = None
    cancel_url: str | None = None
    reschedule_url: str | None = None


def claim_key(delivery: Delivery) -> str | None:
    """What a delivery is applied once per, with its event: the invitee, except for no-show
    events, which are keyed by the no-show mark's own URI (a mark removed and made again is
    a new mark, not a repeat); without one, by the delivery's time."""
    if delivery.event not in (NO_SHOW_CREATED, NO_SHOW_DELETED):
        return delivery.uri
    mark = delivery.payload.get("no_show")
    if isinstance(mark, dict) and isinstance(mark.get("uri"), str) and mark["uri"]:
        return mark["uri"]
    return f"{delivery.uri}@{iso(delivery.created_at)}"


def check_payload(delivery: Delivery) -> None:
    """Raise UnusableDelivery, naming the field, unless the invitee payload has the shape
    we read: a signed but oddly shaped delivery is kept and acknowledged, never a 500 that
    Calendly would retry for a day before disabling the subscription."""
    try:
        _Invitee.model_validate(delivery.payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "payload"
        raise UnusableDelivery(f"{delivery.event}: {where} {first['msg'].lower()}") from None


def parse(body: bytes) -> Delivery:
    """Read a delivery envelope; ``NotJson`` when the body is not JSON, ``UnusableDelivery``
    when it is not an envelope (both from the one error tree, in ``booking.signatures``)."""
    try:
        data = json.loads(body)
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        raise NotJson("The delivery body is not JSON.") from None
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        raise UnusableDelivery("the body is not a Calendly delivery envelope")
    try:
        created = parse_calendly_time(str(data.get("created_at")))
    except ValueError:
        raise UnusableDelivery("created_at is not a timestamp") from None
    payload = data.get("payload")
    return Delivery(data["event"], created, payload if isinstance(payload, dict) else {})


def apply(
    store: Store,
    delivery: Delivery,
    *,
    delivery_id: int | None,
    analyst: str,
    now: datetime,
    new_reference,
    form: BookingForm | None = None,
) -> str:
    """Apply one delivery in one transaction; returns 'applied', 'duplicate' or 'ignored'.

    ``form`` is what the booked event type asks, when known: it says which answer holds
    the visitor's notes. ``delivery_id`` (when it was stored) is kept with the claim.
    Inside a caller's ``store.write()`` this nests as a savepoint. Raises
    ``UnusableDelivery`` (and writes nothing) for a known event whose payload does not have
    the shape we read.
    """
    known = delivery.event in EVENTS
    if known:
        check_payload(delivery)
    event_info = delivery.payload.get("scheduled_event")
    with store.write() as db:
        if not known:
            outcome = "ignored"
        elif not deliveries.claim(
            db, delivery.event, claim_key(delivery), delivery_id=delivery_id, now=now
        ):
            outcome = "duplicate"
        else:
            _apply(
                db,
                delivery,
                event_info,
                analyst=analyst,
                now=now,
                new_reference=new_reference,
                form=form,
            )
            outcome = "applied"
    return outcome


def _apply(
    db: Database,
    delivery: Delivery,
    event_info: dict,
    *,
    analyst: str,
    now: datetime,
    new_reference,
    form: BookingForm | None,
) -> None:
    p = delivery.payload
    at = delivery.created_at
    row = _upsert_invitee(
        db, p, event_info, analyst=analyst, at=at, new_reference=new_reference, form=form
    )
    attempt = row["attempt_id"]
    if delivery.event == CREATED:
        if p.get("old_invitee"):
            bookings.link_reschedule(db, p["old_invitee"], delivery.uri)
        step = funnel.RESCHEDULED if p.get("old_invitee") else funnel.BOOKED
        if attempt:
            attempts.mark_booked(db, attempt, row["reference"], now=now)
    elif delivery.event == CANCELED:
        cancellation = p.get("cancellation") or event_info.get("cancellation") or {}
        bookings.change(
            db,
            row["reference"],
            {
                "status": BookingStatus.CANCELED.value,
                "cancel_reason": cancellation.get("reason"),
                "canceled_by": cancellation.get("canceled_by"),
                "canceler_type": cancellation.get("canceler_type"),
                "rescheduled_to": p.get("new_invitee") or row["rescheduled_to"],
                "updated_at": iso(now),
            },
        )
        step = None if p.get("rescheduled") else funnel.CANCELED
    else:
        newer = not row["no_show_at"] or row["no_show_at"] < iso(at)
        if newer:
            bookings.change(
                db,
                row["reference"],
                {
                    "no_show": int(delivery.event == NO_SHOW_CREATED),
                    "no_show_at": iso(at),
                    "updated_at": iso(now),
                },
            )
        step = funnel.NO_SHOW if delivery.event == NO_SHOW_CREATED else funnel.NO_SHOW_REMOVED
    if attempt and step:
        detail = {"invitee": delivery.uri, "reference": row["reference"]}
        attempts.record_event(db, attempt, step, at, detail)


def invitee_notes(answers: list[dict], form: BookingForm | None) -> str | None:
    """The visitor's notes among an invitee's answers: the answer to the event type's notes
    question (its first free-text one, matched by text, else by position) when the event
    type is known; otherwise the first answer by position."""
    if form is None:
        first = min(answers, key=lambda qa: qa.get("position", 0), default={})
        return first.get("answer")
    asked = form.notes_question
    if asked is None:
        return None
    found = next((qa for qa in answers if qa.get("question") == asked.name), None) or next(
        (qa for qa in answers if qa.get("position") == asked.position), {}
    )
    return found.get("answer")


def _upsert_invitee(
    db: Database,
    p: dict,
    event_info: dict,
    *,
    analyst: str,
    at: datetime,
    new_reference,
    form: BookingForm | None,
) -> dict:
    """The booking row for this invitee, created or refreshed from the payload."""
    answers = p.get("questions_and_answers") or []
    fields = {
        "provider": "calendly",
        "analyst": analyst,
        "meeting_type": event_info.get("event_type"),
        "start_utc": iso(parse_calendly_time(event_info["start_time"])),
        "end_utc": iso(parse_calendly_time(event_info.get("end_time") or event_info["start_time"])),
        "name": p.get("name") or " ".join(filter(None, (p.get("first_name"), p.get("last_name")))),
        "email": p.get("email"),
        "notes": invitee_notes(answers, form),
        "visitor_tz": p.get("timezone") or "UTC",
        "event_uri": p.get("event"),
        "cancel_url": p.get("cancel_url"),
        "reschedule_url": p.get("reschedule_url"),
        "updated_at": iso(at),
    }
    if p.get("old_invitee"):
        fields["rescheduled_from"] = p["old_invitee"]
    canceled = p.get("status") == "canceled"
    existing = bookings.by_invitee(db, p["uri"])
    if existing:
        if canceled:
            fields["status"] = BookingStatus.CANCELED.value
        bookings.change(db, existing["reference"], fields)
        return {**existing, **fields}
    row = {
        **fields,
        "reference": new_reference(),
        "invitee_uri": p["uri"],
        "status": (BookingStatus.CANCELED if canceled else BookingStatus.CONFIRMED).value,
        "attempt_id": _attempt_for(db, p, fields),
        "created_at": iso(at),
        "no_show": 0,
        "rescheduled_to": p.get("new_invitee"),
        "no_show_at": None,
    }
    bookings.add(db, row)
    return row


def _attempt_for(db: Database, p: dict, fields: dict) -> str | None:
    """The attempt this invitee came from: utm_content, else email + event type + start."""
    token = (p.get("tracking") or {}).get("utm_content")
    if token and attempts.exists(db, token):
        return token
    return attempts.latest_calendly(
        db,
        email=fields["email"] or "",
        meeting_type=fields["meeting_type"],
        slot_start=fields["start_utc"],
    )
