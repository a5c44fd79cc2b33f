"""Applying Calendly's invitee deliveries to our bookings and funnel, idempotently.

Each delivery is keyed by ``(event, payload.uri)``: the first application writes, a
repeat changes nothing. Deliveries may arrive in any order and still converge:

- ``invitee.created``  → the booking is active (unless a cancellation already landed),
  joined to its attempt through ``tracking.utm_content`` (fallback: email, event type and
  start time); funnel step ``booked``, or ``rescheduled`` when it replaces an old invitee.
- ``invitee.canceled`` → canceled, with reason and who canceled; a reschedule's canceled
  half links the old booking to the new one (``rescheduled_to``) and is not a cancellation
  in the funnel.
- ``invitee_no_show.created`` / ``.deleted`` → the no-show flag, the newest delivery wins.

Unknown events are stored and acknowledged, and change nothing else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from booking.calendly.client import parse_calendly_time
from booking.domain import funnel
from booking.store import Store, finish_delivery, iso

CREATED = "invitee.created"
CANCELED = "invitee.canceled"
NO_SHOW_CREATED = "invitee_no_show.created"
NO_SHOW_DELETED = "invitee_no_show.deleted"
EVENTS = (CREATED, CANCELED, NO_SHOW_CREATED, NO_SHOW_DELETED)


class UnusableDelivery(ValueError):
    """A signed delivery we cannot interpret (kept, acknowledged, not applied)."""


@dataclass(frozen=True)
class Delivery:
    event: str
    created_at: datetime
    payload: dict

    @property
    def uri(self) -> str | None:
        return self.payload.get("uri") if isinstance(self.payload, dict) else None


def parse(body: bytes) -> Delivery:
    """Read a delivery envelope; ValueError when it is not JSON or not an envelope."""
    data = json.loads(body)  # ValueError (JSONDecodeError, UnicodeDecodeError) when not JSON
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
) -> str:
    """Apply one delivery in one transaction; returns 'applied', 'duplicate' or 'ignored'."""
    with store.write() as db:
        outcome = apply_in(
            db,
            delivery,
            delivery_id=delivery_id,
            analyst=analyst,
            now=now,
            new_reference=new_reference,
        )
        if delivery_id is not None:
            finish_delivery(db, delivery_id, outcome=outcome, now=now)
        return outcome


def apply_in(
    db: Database,
    delivery: Delivery,
    *,
    delivery_id: int | None,
    analyst: str,
    now: datetime,
    new_reference,
) -> str:
    """The body of ``apply``, inside a caller's transaction (reconciliation shares it)."""
    if delivery.event not in EVENTS:
        return "ignored"
    p = delivery.payload
    event_info = p.get("scheduled_event")
    if not delivery.uri or not isinstance(event_info, dict) or not event_info.get("start_time"):
        raise UnusableDelivery(f"{delivery.event} without an invitee uri and scheduled_event")
    inserted = db.execute(
        "INSERT OR IGNORE INTO webhook_applied (event, payload_uri, delivery_id, applied_at) "
        "VALUES (?, ?, ?, ?)",
        [delivery.event, delivery.uri, delivery_id, iso(now)],
    ).rowcount
    if not inserted:
        return "duplicate"
    at = delivery.created_at
    row = _upsert_invitee(db, p, event_info, analyst=analyst, at=at, new_reference=new_reference)
    attempt = row["attempt_id"]
    if delivery.event == CREATED:
        if p.get("old_invitee"):
            db.execute(
                "UPDATE bookings SET rescheduled_to = ? WHERE invitee_uri = ?",
                [delivery.uri, p["old_invitee"]],
            )
        step = funnel.RESCHEDULED if p.get("old_invitee") else funnel.BOOKED
        if attempt:
            db.execute(
                "UPDATE attempts SET status = 'booked', booking_ref = ?, updated_at = ? "
                "WHERE id = ?",
                [row["reference"], iso(now), attempt],
            )
    elif delivery.event == CANCELED:
        cancellation = p.get("cancellation") or event_info.get("cancellation") or {}
        _update(
            db,
            row["reference"],
            {
                "status": "canceled",
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
            _update(
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
        Store._event(
            db, attempt, step, at, {"invitee": delivery.uri, "reference": row["reference"]}
        )
    return "applied"


def _update(db: Database, reference: str, fields: dict) -> None:
    assignments = ", ".join(f"{column} = ?" for column in fields)
    db.execute(
        f"UPDATE bookings SET {assignments} WHERE reference = ?",  # noqa: S608 - our names
        [*fields.values(), reference],
    )


def _upsert_invitee(
    db: Database, p: dict, event_info: dict, *, analyst: str, at: datetime, new_reference
) -> dict:
    """The booking row for this invitee, created or refreshed from the payload."""
    answers = sorted(p.get("questions_and_answers") or [], key=lambda qa: qa.get("position", 0))
    fields = {
        "provider": "calendly",
        "analyst": analyst,
        "meeting_type": event_info.get("event_type"),
        "start_utc": iso(parse_calendly_time(event_info["start_time"])),
        "end_utc": iso(parse_calendly_time(event_info.get("end_time") or event_info["start_time"])),
        "name": p.get("name") or " ".join(filter(None, (p.get("first_name"), p.get("last_name")))),
        "email": p.get("email"),
        "notes": answers[0].get("answer") if answers else None,
        "visitor_tz": p.get("timezone") or "UTC",
        "event_uri": p.get("event"),
        "cancel_url": p.get("cancel_url"),
        "reschedule_url": p.get("reschedule_url"),
        "updated_at": iso(at),
    }
    if p.get("old_invitee"):
        fields["rescheduled_from"] = p["old_invitee"]
    existing = list(db.query("SELECT * FROM bookings WHERE invitee_uri = ?", [p["uri"]]))
    if existing:
        row = existing[0]
        if p.get("status") == "canceled":
            fields["status"] = "canceled"
        _update(db, row["reference"], fields)
        return {**row, **fields}
    row = {
        **fields,
        "reference": new_reference(),
        "invitee_uri": p["uri"],
        "status": "canceled" if p.get("status") == "canceled" else "active",
        "attempt_id": _attempt_for(db, p, fields),
        "created_at": iso(at),
        "no_show": 0,
        "rescheduled_to": p.get("new_invitee"),
        "no_show_at": None,
    }
    db.execute(
        f"INSERT INTO bookings ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",  # noqa: S608
        list(row.values()),
    )
    return row


def _attempt_for(db: Database, p: dict, fields: dict) -> str | None:
    """The attempt this invitee came from: utm_content, else email + event type + start."""
    token = (p.get("tracking") or {}).get("utm_content")
    if token and db.execute("SELECT 1 FROM attempts WHERE id = ?", [token]).fetchone():
        return token
    found = db.execute(
        "SELECT id FROM attempts WHERE provider = 'calendly' AND lower(email) = lower(?) "
        "AND meeting_type = ? AND slot_start = ? ORDER BY created_at DESC LIMIT 1",
        [fields["email"] or "", fields["meeting_type"], fields["start_utc"]],
    ).fetchone()
    return found[0] if found else None
