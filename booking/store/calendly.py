"""The desk's own records about Calendly: the answers a direct booking carries between the
details form and the booking (``attempts.calendly_answers``), where reconciliation stopped
(``reconcile_runs.resume_from``), and whether Calendly's deliveries are failing their
signature check (from ``webhook_deliveries``). Functions over an open ``Database``."""

from __future__ import annotations

import json
from datetime import datetime

from sqlite_utils import Database

from booking.store.sql import iso


def keep_answers(db: Database, attempt_id: str, answers: dict[str, str]) -> None:
    """Keep the checked answers on the attempt (replacing earlier ones)."""
    db.execute(
        "UPDATE attempts SET calendly_answers = ? WHERE id = ?",
        [json.dumps(answers, sort_keys=True), attempt_id],
    )


def answers(db: Database, attempt_id: str) -> dict[str, str]:
    """The answers kept on the attempt ({} when none)."""
    row = db.execute("SELECT calendly_answers FROM attempts WHERE id = ?", [attempt_id]).fetchone()
    return json.loads(row[0]) if row and row[0] else {}


def record_run(
    db: Database, *, now: datetime, fixed: dict, resume_from: datetime | None, requests: int
) -> None:
    """One reconciliation run: what it fixed, what it spent, where the next one resumes."""
    db.execute(
        "INSERT INTO reconcile_runs (at, fixed, detail, resume_from, requests) "
        "VALUES (?, ?, ?, ?, ?)",
        [
            iso(now),
            sum(fixed.values()),
            json.dumps(dict(fixed), sort_keys=True),
            iso(resume_from) if resume_from else None,
            requests,
        ],
    )


def resume_from(db: Database) -> str | None:
    """Where the last run stopped for want of budget (None: it finished, or none ran)."""
    row = db.execute("SELECT resume_from FROM reconcile_runs ORDER BY id DESC LIMIT 1").fetchone()
    return row[0] if row else None


def signature_failures(db: Database) -> dict | None:
    """Calendly deliveries refused since the last verified one: {'since', 'refused',
    'last_verified'}, or None when the last delivery was verified (or none came)."""
    last_ok = db.execute(
        "SELECT max(received_at) FROM webhook_deliveries WHERE source = 'calendly' AND verified = 1"
    ).fetchone()[0]
    since, refused = db.execute(
        "SELECT min(received_at), count(*) FROM webhook_deliveries "
        "WHERE source = 'calendly' AND verified = 0 AND received_at > ?",
        [last_ok or ""],
    ).fetchone()
    if not refused:
        return None
    return {"since": since, "refused": refused, "last_verified": last_ok}


def bookings_of_event(db: Database, event_uri: str) -> list[dict]:
    """Our bookings of one Calendly scheduled event (its invitees), by its index."""
    return list(db.query("SELECT status, start_utc FROM bookings WHERE event_uri = ?", [event_uri]))
