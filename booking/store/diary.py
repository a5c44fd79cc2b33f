"""A booking after it is made: its private manage tokens, moving it to another time,
cancelling it, and the reminders it is owed. ``Diary`` wraps the ``Store``'s connections
and transactions; the SQL for ``manage_tokens``, ``reminders_sent`` and these changes of
``bookings`` lives here.

A move is one compare-and-set write transaction: the new time is checked free (besides
the booking itself) and taken, and the old one released, together or not at all; the
partial unique occupancy index catches what the check could miss. A reminder is claimed
(a row in ``reminders_sent``) in the same transaction that re-reads the booking, so two
runners never send one twice and a cancelled or moved-away time is never reminded.
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime

from booking.domain import funnel
from booking.domain.funnel import BookingStatus
from booking.store import attempts, bookings
from booking.store.sql import first, iso
from booking.store.store import Store

CONFIRMED = BookingStatus.CONFIRMED.value


def token_hash(token: str) -> str:
    """What is kept of a manage token: its SHA-256 (the token has 192 random bits, so a
    plain hash cannot be walked back)."""
    return hashlib.sha256(token.encode()).hexdigest()


class Diary:
    """The store's side of managing bookings (tokens, moves, cancels, reminders)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- manage tokens -------------------------------------------------------------------
    def add_token(self, reference: str, token: str, *, now: datetime) -> None:
        with self.store.write() as db:
            db.execute(
                "INSERT INTO manage_tokens (token_hash, reference, created_at) VALUES (?, ?, ?)",
                [token_hash(token), reference, iso(now)],
            )

    def reference_of(self, token: str) -> str | None:
        """The booking a manage token opens, or None."""
        row = first(
            self.store.db,
            "SELECT reference FROM manage_tokens WHERE token_hash = ?",
            [token_hash(token or "")],
        )
        return row["reference"] if row else None

    # -- changes ---------------------------------------------------------------------------
    def move(
        self,
        reference: str,
        *,
        start: datetime,
        end: datetime,
        clear_from: datetime,
        clear_to: datetime,
        now: datetime,
    ) -> str:
        """Move a confirmed local booking to [start, end) if [clear_from, clear_to) holds
        nothing else. 'moved', 'taken' (someone is there) or 'gone' (not confirmed any more).

        Its invitation's sequence goes up, ``scheduled_at`` becomes ``now`` and the attempt
        records the funnel step 'rescheduled', in the same transaction."""
        try:
            with self.store.write() as db:
                row = bookings.by_reference(db, reference)
                if row is None or row["status"] != CONFIRMED:
                    return "gone"
                analyst = row["analyst"]
                bookings.expire_holds(db, analyst, now=now)
                if bookings.occupied(
                    db, analyst, clear_from, clear_to, now=now, limit=1, besides=reference
                ):
                    return "taken"
                changed = db.execute(
                    "UPDATE bookings SET start_utc = ?, end_utc = ?, sequence = sequence + 1, "
                    "scheduled_at = ?, updated_at = ?, "
                    "rescheduled_from = coalesce(rescheduled_from, start_utc) "
                    "WHERE reference = ? AND status = ? AND start_utc = ?",
                    [
                        iso(start),
                        iso(end),
                        iso(now),
                        iso(now),
                        reference,
                        CONFIRMED,
                        row["start_utc"],
                    ],
                ).rowcount
                if changed != 1:
                    return "gone"
                if row["attempt_id"]:
                    attempts.record_event(
                        db,
                        row["attempt_id"],
                        funnel.RESCHEDULED,
                        now,
                        {"reference": reference, "from": row["start_utc"], "to": iso(start)},
                    )
        except sqlite3.IntegrityError:
            return "taken"  # the unique occupancy index caught a race the check did not
        return "moved"

    def cancel(self, reference: str, *, reason: str, by: str, now: datetime) -> bool:
        """Cancel a confirmed booking (its sequence goes up); True for the one caller that
        did it."""
        with self.store.write() as db:
            return (
                db.execute(
                    "UPDATE bookings SET status = ?, sequence = sequence + 1, updated_at = ?, "
                    "cancel_reason = ?, canceled_by = ?, canceler_type = 'invitee' "
                    "WHERE reference = ? AND status = ?",
                    [
                        BookingStatus.CANCELED.value,
                        iso(now),
                        reason or None,
                        by,
                        reference,
                        CONFIRMED,
                    ],
                ).rowcount
                == 1
            )

    # -- reminders -------------------------------------------------------------------------
    def upcoming(
        self, *, after: datetime, until: datetime, providers: tuple[str, ...]
    ) -> list[dict]:
        """Confirmed bookings of ``providers`` starting in (after, until], each with the
        leads already reminded of at that time (``sent``: a comma-separated list)."""
        marks = ", ".join("?" * len(providers))
        return list(
            self.store.db.query(
                "SELECT b.reference, b.provider, b.start_utc, "  # noqa: S608 - placeholders only
                "coalesce(b.scheduled_at, b.created_at) AS scheduled_at, "
                "(SELECT group_concat(r.hours) FROM reminders_sent r WHERE r.reference = "
                "b.reference AND r.start_utc = b.start_utc) AS sent FROM bookings b "
                "WHERE b.status = ? AND b.start_utc > ? AND b.start_utc <= ? "
                "AND b.email IS NOT NULL "  # erased (booking.store.privacy): nobody to remind
                f"AND b.provider IN ({marks}) ORDER BY b.start_utc",
                [CONFIRMED, iso(after), iso(until), *providers],
            )
        )

    def claim_reminder(self, reference: str, start_utc: str, hours: str, *, now: datetime) -> bool:
        """Take the right to send the ``hours`` reminder of ``reference`` at ``start_utc``:
        True for one caller only, and only while the booking is confirmed at that time."""
        with self.store.write() as db:
            row = bookings.by_reference(db, reference)
            if row is None or row["status"] != CONFIRMED or row["start_utc"] != start_utc:
                return False
            return (
                db.execute(
                    "INSERT OR IGNORE INTO reminders_sent (reference, start_utc, hours, sent_at) "
                    "VALUES (?, ?, ?, ?)",
                    [reference, start_utc, hours, iso(now)],
                ).rowcount
                == 1
            )
