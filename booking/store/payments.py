"""The ``payments`` table: one row per checkout started, moved by compare-and-set."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from booking.domain.funnel import BookingStatus
from booking.store.sql import first, iso, move


def add(db: Database, row: dict, *, now: datetime) -> None:
    db["payments"].insert(  # the same checkout twice (a double click) is kept once
        {**row, "created_at": iso(now), "updated_at": iso(now)}, ignore=True
    )


def by_id(db: Database, payment_id: str) -> dict | None:
    return first(db, "SELECT * FROM payments WHERE id = ?", [payment_id])


def of_attempt(db: Database, attempt_id: str) -> list[dict]:
    """An attempt's checkouts, newest first."""
    return list(
        db.query(
            "SELECT * FROM payments WHERE attempt_id = ? ORDER BY created_at DESC, rowid DESC",
            [attempt_id],
        )
    )


def change_status(
    db: Database, payment_id: str, status: str, *, now: datetime, only_if: tuple[str, ...]
) -> bool:
    """Compare-and-set a payment's status (and paid_at when paid); True if moved."""
    stamp = "paid_at" if status == "paid" else None
    return move(db, "payments", "id", payment_id, status, now=now, only_if=only_if, stamp=stamp)


def stale(db: Database, *, before: datetime, limit: int) -> list[dict]:
    """Open checkouts started before ``before`` (to confirm or to call abandoned)."""
    return list(
        db.query(
            "SELECT * FROM payments WHERE status = 'open' AND created_at < ? "
            "ORDER BY created_at LIMIT ?",
            [iso(before), limit],
        )
    )


def lapsed_on(db: Database, analyst: str, start: datetime, end: datetime, now: datetime):
    """Open checkouts whose held time (``analyst``'s, touching [start, end)) has lapsed."""
    return list(
        db.query(
            "SELECT p.* FROM payments p JOIN bookings b ON b.reference = p.hold_ref "
            "WHERE p.status = 'open' AND b.analyst = ? AND b.status IN (?, ?) "
            "AND b.hold_expires_at <= ? AND b.start_utc < ? AND b.end_utc > ?",
            [analyst, BookingStatus.HELD, BookingStatus.EXPIRED, iso(now), iso(end), iso(start)],
        )
    )


def refunds_due(db: Database) -> list[dict]:
    """Paid checkouts whose booking went (canceled, or the slot was taken), newest first,
    with the attempt's name, email, analyst and booking."""
    return list(
        db.query(
            "SELECT p.*, a.name, a.email, a.analyst, a.booking_ref FROM payments p "
            "JOIN attempts a ON a.id = p.attempt_id WHERE p.status = 'refund_due' "
            "ORDER BY p.updated_at DESC"
        )
    )
