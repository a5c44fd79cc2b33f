"""The ``outbox`` table: mails queued once per key, claimed row by row with a
compare-and-set update, then marked sent, kept, retried or failed."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from booking.store.sql import first, iso


def add(db: Database, row: dict, *, now: datetime) -> bool:
    """Queue a mail unless its key is queued already; True when it is new."""
    return (
        db.execute(
            "INSERT OR IGNORE INTO outbox (key, kind, attempt_id, booking_ref, to_addr, subject, "
            "message, status, tries, next_try_at, created_at) "
            "VALUES (:key, :kind, :attempt_id, :booking_ref, :to_addr, :subject, :message, "
            "'queued', 0, :now, :now)",
            {**row, "now": iso(now)},
        ).rowcount
        == 1
    )


def due(db: Database, *, now: datetime, limit: int) -> list[int]:
    """Ids of the queued mails due by ``now``, the longest waiting first."""
    return [
        row_id
        for (row_id,) in db.execute(
            "SELECT id FROM outbox WHERE status = 'queued' AND next_try_at <= ? "
            "ORDER BY next_try_at, id LIMIT ?",
            [iso(now), limit],
        ).fetchall()
    ]


def claim(
    db: Database, row_id: int, *, now: datetime, keep: bool, lease_until: datetime
) -> dict | None:
    """Take one due mail for sending (one more try, leased until ``lease_until``) or keep
    it; None when it is not due or another deliverer got there first."""
    row = first(
        db,
        "SELECT id, key, tries, message FROM outbox "
        "WHERE id = ? AND status = 'queued' AND next_try_at <= ?",
        [row_id, iso(now)],
    )
    if row is None:
        return None
    if keep:
        changed = db.execute(
            "UPDATE outbox SET status = 'kept' WHERE id = ? AND status = 'queued'", [row_id]
        ).rowcount
    else:
        changed = db.execute(
            "UPDATE outbox SET tries = tries + 1, next_try_at = ? "
            "WHERE id = ? AND status = 'queued' AND tries = ?",
            [iso(lease_until), row_id, row["tries"]],
        ).rowcount
    if changed != 1:
        return None
    return {**row, "tries": row["tries"] + (0 if keep else 1)}


def not_sent(db: Database, row_id: int, *, status: str, next_try: datetime | None, error: str):
    """A send failed: back to 'queued' for ``next_try``, or 'failed' for good."""
    db.execute(
        "UPDATE outbox SET status = ?, next_try_at = ?, last_error = ? WHERE id = ?",
        [status, iso(next_try) if next_try else None, error, row_id],
    )


def sent(db: Database, row_id: int, *, now: datetime) -> None:
    db.execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?, next_try_at = NULL, "
        "last_error = NULL WHERE id = ?",
        [iso(now), row_id],
    )


def latest(db: Database, *, limit: int) -> list[dict]:
    """The latest mails, newest first, whole messages included."""
    return list(
        db.query(
            "SELECT id, created_at, kind, key, to_addr, subject, status, tries, next_try_at, "
            "last_error, sent_at, message FROM outbox ORDER BY created_at DESC, id DESC LIMIT ?",
            [limit],
        )
    )
