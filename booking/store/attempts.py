"""The ``attempts`` table and its append-only ``funnel_events``: functions over an open
``Database`` (the ``Store`` or a use case's ``store.write()`` decides the transaction).

Every write that changes what the roll-up counts moves the attempt's contribution in
``funnel_daily`` in the same transaction, so the roll-up stays exact.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlite_utils import Database

from booking.domain import funnel
from booking.store import bookings, rollup
from booking.store.sql import insert, iso, update


def create(db: Database, attempt_id: str, *, now: datetime, **fields) -> None:
    db["attempts"].insert(
        {
            "id": attempt_id,
            "created_at": iso(now),
            "updated_at": iso(now),
            "status": "open",
            **fields,
        }
    )
    record_event(db, attempt_id, funnel.STARTED, now, {"source": fields.get("source")})
    rollup.reroll(db, None, rollup.facts(db, attempt_id))


def change(db: Database, attempt_id: str, *, now: datetime, **fields) -> None:
    before = rollup.facts(db, attempt_id) if any(k in rollup.ROLLUP_DIMS for k in fields) else None
    db["attempts"].update(attempt_id, {**fields, "updated_at": iso(now)})
    if before is not None:
        rollup.reroll(db, before, rollup.facts(db, attempt_id))


def mark_booked(db: Database, attempt_id: str, reference: str, *, now: datetime) -> None:
    update(
        db,
        "attempts",
        "id",
        attempt_id,
        {"status": "booked", "booking_ref": reference, "updated_at": iso(now)},
    )


def booked(
    db: Database, attempt_id: str, reference: str, *, now: datetime, detail: dict | None
) -> None:
    """The attempt got its booking now: marked booked, and its 'booked' funnel event."""
    mark_booked(db, attempt_id, reference, now=now)
    record_event(db, attempt_id, funnel.BOOKED, now, detail)


def record_event(
    db: Database, attempt_id: str, step: str, at: datetime, detail: dict | None = None
) -> None:
    """Append a funnel event; a tracked step's first time is kept on the attempt too."""
    db.execute(
        "INSERT INTO funnel_events (attempt_id, step, at, detail) VALUES (?, ?, ?, ?)",
        [attempt_id, step, iso(at), json.dumps(detail, sort_keys=True) if detail else None],
    )
    if step in funnel.TRACKED:  # keep the first time on the attempt, for analytics
        before = rollup.facts(db, attempt_id)
        changed = db.execute(
            f"UPDATE attempts SET at_{step} = ? WHERE id = ? "  # noqa: S608 - a known step
            f"AND (at_{step} IS NULL OR at_{step} > ?)",
            [iso(at), attempt_id, iso(at)],
        ).rowcount
        if changed:
            rollup.reroll(db, before, rollup.facts(db, attempt_id))


def exists(db: Database, attempt_id: str) -> bool:
    return db.execute("SELECT 1 FROM attempts WHERE id = ?", [attempt_id]).fetchone() is not None


def any_exist(db: Database) -> bool:
    return db.execute("SELECT 1 FROM attempts LIMIT 1").fetchone() is not None


def latest_calendly(db: Database, *, email: str, meeting_type: str, slot_start: str) -> str | None:
    """The newest Calendly attempt for this email (any case), event type and start."""
    found = db.execute(
        "SELECT id FROM attempts WHERE provider = 'calendly' AND lower(email) = lower(?) "
        "AND meeting_type = ? AND slot_start = ? ORDER BY created_at DESC LIMIT 1",
        [email, meeting_type, slot_start],
    ).fetchone()
    return found[0] if found else None


# -- follow-ups ------------------------------------------------------------------------
def stalled(
    db: Database, *, stalled_before: datetime, last_before: datetime, max_sent: int, limit: int
) -> list[dict]:
    """Attempts that got as far as a Calendly link or a checkout and then stalled: not
    booked, not paid, not opted out, with an email, fewer than ``max_sent`` follow-ups,
    the last one (if any) before ``last_before``."""
    return list(
        db.query(
            "SELECT * FROM attempts WHERE booking_ref IS NULL AND at_paid IS NULL "
            "AND email IS NOT NULL AND coalesce(followups_stopped, 0) = 0 "
            "AND coalesce(followups_sent, 0) < :max_sent "
            "AND coalesce(at_link_created, at_payment_started) < :stalled "
            "AND (last_followup_at IS NULL OR last_followup_at < :last) "
            "ORDER BY created_at LIMIT :limit",
            {
                "max_sent": max_sent,
                "stalled": iso(stalled_before),
                "last": iso(last_before),
                "limit": limit,
            },
        )
    )


def claim_followup(db: Database, attempt_id: str, number: int, *, now: datetime) -> bool:
    return (
        db.execute(
            "UPDATE attempts SET followups_sent = ?, last_followup_at = ? "
            "WHERE id = ? AND coalesce(followups_sent, 0) = ? AND booking_ref IS NULL "
            "AND at_paid IS NULL AND coalesce(followups_stopped, 0) = 0",
            [number, iso(now), attempt_id, number - 1],
        ).rowcount
        == 1
    )


def unclaim_followup(db: Database, attempt_id: str, number: int) -> None:
    db.execute(
        "UPDATE attempts SET followups_sent = ?, last_followup_at = NULL "
        "WHERE id = ? AND followups_sent = ?",
        [number - 1, attempt_id, number],
    )


def stop_followups(db: Database, attempt_id: str, *, now: datetime) -> bool:
    return (
        db.execute(
            "UPDATE attempts SET followups_stopped = 1, updated_at = ? "
            "WHERE id = ? AND coalesce(followups_stopped, 0) = 0",
            [iso(now), attempt_id],
        ).rowcount
        == 1
    )


# -- bulk ------------------------------------------------------------------------------
def import_histories(db: Database, batch: Iterable) -> None:
    """Write attempts with their events and bookings in one go, with the same first time
    per step and the same roll-up the live path keeps."""
    totals: dict = {}
    for h in batch:
        attempt = dict(h.attempt)
        for step, at, _ in h.events:
            if step in funnel.TRACKED:
                attempt.setdefault(f"at_{step}", at)
        insert(db, "attempts", attempt)
        rollup.add(totals, attempt)
        db.conn.executemany(
            "INSERT INTO funnel_events (attempt_id, step, at, detail) VALUES (?, ?, ?, ?)",
            [(attempt["id"], *event) for event in h.events],
        )
        if h.booking:
            bookings.add(db, h.booking)
    rollup.roll_totals(db, totals)
