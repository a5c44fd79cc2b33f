"""SQLite storage through sqlite-utils: the desk's database and its transactions.

One connection per thread (sqlite3 connections are thread-bound and Streamlit serves each
session from its own thread), WAL mode and a busy timeout so readers never block the
writer, and ``synchronous = FULL`` so a commit is on disk before anyone is told it happened
(the webhook ingest pays for the fsync with group commit). Local occupancy is guarded by
the database itself: a partial unique index over the slot-occupying statuses, and the
overlap re-check plus insert run inside one ``BEGIN IMMEDIATE`` transaction, so two
processes cannot both take a slot.

The SQL lives in this package's modules, one per table (``attempts``, ``bookings``,
``webhooks``, ``outbox``, ``rollup``; the schema in ``schema``, the owner's queries in
``analytics``); ``Store`` holds the connections and the transactions, and its methods are
the desk's way in.
"""

from __future__ import annotations

import itertools
import logging
import os
import sqlite3
import threading
import time as _time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlite_utils import Database

from booking.domain.funnel import BookingStatus
from booking.domain.slots import Interval
from booking.errors import StoreBusy, StoreUnavailable
from booking.store import attempts, bookings, limits, payments, webhooks
from booking.store.schema import migrations
from booking.store.sql import first, iso, move, parse_iso

__all__ = ["Store", "migrations"]
log = logging.getLogger(__name__)

# Savepoints nest strictly, so one name serves every level (RELEASE and ROLLBACK TO act on
# the innermost of that name) and SQLite's statement cache keeps the three statements.
_SAVEPOINT = "SAVEPOINT booking"
_RELEASE = "RELEASE SAVEPOINT booking"
_ROLLBACK_TO = "ROLLBACK TO SAVEPOINT booking"


UNSAVED = "We could not save this just now, so nothing was done. Please try again in a minute."
BUSY = "We are busy saving other bookings; nothing was done. Please try again in a few seconds."


def _connect(path: str, busy_timeout_ms: int) -> tuple[Database, tuple[int, int] | None]:
    """A connection for this thread, and the identity of the file it opened."""
    conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA foreign_keys = ON")
    # FULL: in WAL mode NORMAL may lose a committed transaction to a power cut, and the
    # desk must never lose a booking it confirmed or a webhook it answered 200.
    conn.execute("PRAGMA synchronous = FULL")
    return Database(conn), _identity(path)


def _identity(path: str) -> tuple[int, int] | None:
    if path == ":memory:":
        return None
    st = os.stat(path)
    return st.st_dev, st.st_ino


def _same_file(path: str, opened: tuple[int, int] | None) -> None:
    """Raise StoreUnavailable unless ``path`` is still the file this connection opened (a
    deleted data directory would otherwise take writes into an unlinked file)."""
    if opened is None:
        return
    try:
        if _identity(path) == opened:
            return
    except OSError:
        pass
    log.error("the database file %s is gone or was replaced; refusing to write", path)
    raise StoreUnavailable(UNSAVED)


@contextmanager
def _saved_or_told(conn: sqlite3.Connection) -> Iterator[None]:
    """Turn SQLite's 'cannot write now' (the file unwritable, or held by another writer past
    the busy timeout) into the person-sized errors, after rolling back: nothing was saved,
    and the person is told so instead of being told it worked."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if conn.in_transaction:
            conn.rollback()
        text = str(exc).lower()
        log.error("database write failed: %s", exc)
        if "locked" in text or "busy" in text:
            raise StoreBusy(BUSY) from exc
        raise StoreUnavailable(UNSAVED) from exc


class Store:
    """The product's SQLite database. Safe to share between threads."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 10_000) -> None:
        self.path = str(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._migrate()

    # -- connections ---------------------------------------------------------------
    @property
    def db(self) -> Database:
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                db, self._local.file = _connect(self.path, self.busy_timeout_ms)
            except (sqlite3.OperationalError, OSError) as exc:
                log.error("cannot open the database %s: %s", self.path, exc)
                raise StoreUnavailable(UNSAVED) from exc
            self._local.db = db
        return db

    def _migrate(self) -> None:
        for attempt in range(50):  # several processes may start at once
            try:
                self.db.enable_wal()
                migrations.apply(self.db)
                return
            except sqlite3.OperationalError:
                if attempt == 49:
                    raise
                _time.sleep(0.1)

    @contextmanager
    def write(self) -> Iterator[Database]:
        """A write transaction that holds SQLite's write lock from its first statement.

        Re-entrant, like sqlite-utils' ``Database.atomic()``: inside an open transaction it
        is a SAVEPOINT, so a use case can wrap several store writes in one transaction (all
        land or none does) and an inner failure rolls back only the inner block. A database
        that cannot save raises StoreUnavailable / StoreBusy (see ``_saved_or_told``).
        """
        db = self.db
        conn = db.conn
        if conn.in_transaction:
            conn.execute(_SAVEPOINT)
            try:
                yield db
            except BaseException:
                if conn.in_transaction:  # an error may have ended the whole transaction
                    conn.execute(_ROLLBACK_TO)
                    conn.execute(_RELEASE)
                raise
            else:
                conn.execute(_RELEASE)
            return
        _same_file(self.path, self._local.file)
        with _saved_or_told(conn):
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def health(self, *, now: datetime) -> str | None:
        """None when the database takes a real write on the file it opened; else why not."""
        try:
            with self.write() as db:
                limits.probe(db, now=now)
        except sqlite3.Error as exc:
            return f"database error: {exc}"
        except StoreUnavailable as exc:
            return str(exc)
        return None

    # -- attempts and funnel -------------------------------------------------------
    def create_attempt(self, attempt_id: str, *, now: datetime, **fields) -> None:
        with self.write() as db:
            attempts.create(db, attempt_id, now=now, **fields)

    def update_attempt(self, attempt_id: str, *, now: datetime, **fields) -> None:
        with self.write() as db:
            attempts.change(db, attempt_id, now=now, **fields)

    def add_event(
        self, attempt_id: str, step: str, *, now: datetime, detail: dict | None = None
    ) -> None:
        with self.write() as db:
            attempts.record_event(db, attempt_id, step, now, detail)

    def attempt(self, attempt_id: str) -> dict | None:
        return first(self.db, "SELECT * FROM attempts WHERE id = ?", [attempt_id])

    def events(self, attempt_id: str) -> list[dict]:
        return list(
            self.db.query(
                "SELECT step, at, detail FROM funnel_events WHERE attempt_id = ? ORDER BY id",
                [attempt_id],
            )
        )

    def has_history(self) -> bool:
        """Whether any attempt was ever stored (the analytics page has something to show)."""
        return attempts.any_exist(self.db)

    def import_history(self, histories, *, chunk: int = 20_000) -> int:
        """Write many attempts with their events and bookings (demo data, benchmarks),
        keeping the same first-time-per-step columns the live path keeps; returns the count.
        Commits every ``chunk`` attempts so the write-ahead log stays small."""
        count = 0
        histories = iter(histories)
        while batch := list(itertools.islice(histories, chunk)):
            with self.write() as db:
                attempts.import_histories(db, batch)
            count += len(batch)
        return count

    # -- bookings ------------------------------------------------------------------
    def busy(
        self, analyst: str, start: datetime, end: datetime, *, now: datetime
    ) -> list[Interval]:
        """Intervals occupied by confirmed bookings and live holds that touch [start, end)."""
        rows = bookings.occupied(self.db, analyst, start, end, now=now)
        return [Interval(parse_iso(s), parse_iso(e)) for s, e in rows]

    def insert_booking_if_free(
        self,
        booking: dict,
        *,
        clear_from: datetime,
        clear_to: datetime,
        now: datetime,
        attempt_id: str | None = None,
        event_detail: dict | None = None,
    ) -> bool:
        """Insert the booking unless [clear_from, clear_to) is occupied; True when inserted.

        The overlap check, the insert, the attempt update and the 'booked' funnel event
        share one write transaction: either all of them land or none does.
        """
        analyst = booking["analyst"]
        try:
            with self.write() as db:
                bookings.expire_holds(db, analyst, now=now)
                if bookings.occupied(db, analyst, clear_from, clear_to, now=now, limit=1):
                    return False
                bookings.add(db, {**booking, "created_at": iso(now), "updated_at": iso(now)})
                if attempt_id:
                    attempts.booked(
                        db, attempt_id, booking["reference"], now=now, detail=event_detail
                    )
        except sqlite3.IntegrityError:
            return False  # the unique occupancy index caught a race the check did not
        return True

    def confirm_hold(
        self,
        reference: str,
        *,
        clear_from: datetime,
        clear_to: datetime,
        now: datetime,
        attempt_id: str,
        event_detail: dict | None = None,
    ) -> bool:
        """Turn a paid-for hold into a confirmed booking; True when confirmed.

        A hold that lapsed (or was released) is confirmed anyway if nobody took its time
        meanwhile. Like ``insert_booking_if_free``, the booking, the attempt and the
        'booked' event change together or not at all.
        """
        try:
            with self.write() as db:
                row = bookings.by_reference(db, reference)
                if row is None:
                    return False
                if row["status"] == BookingStatus.CONFIRMED:
                    return True
                if bookings.occupied(
                    db, row["analyst"], clear_from, clear_to, now=now, limit=1, besides=reference
                ):
                    return False
                bookings.confirm(db, reference, now=now)
                attempts.booked(db, attempt_id, reference, now=now, detail=event_detail)
        except sqlite3.IntegrityError:
            return False
        return True

    def set_booking_status(
        self, reference: str, status: str, *, now: datetime, only_if: tuple[str, ...]
    ) -> bool:
        """Move a booking to ``status`` if it is in one of ``only_if``; True when moved."""
        with self.write() as db:
            return move(db, "bookings", "reference", reference, status, now=now, only_if=only_if)

    def booking(self, reference: str) -> dict | None:
        return bookings.by_reference(self.db, reference)

    def booking_by_invitee(self, invitee_uri: str) -> dict | None:
        """The booking of a Calendly invitee URI (exact, through its unique index)."""
        return bookings.by_invitee(self.db, invitee_uri)

    def booking_by_invitee_suffix(self, suffix: str) -> dict | None:
        return bookings.by_invitee_suffix(self.db, suffix)

    # -- payments --------------------------------------------------------------------
    def add_payment(self, row: dict, *, now: datetime) -> None:
        with self.write() as db:
            payments.add(db, row, now=now)

    def payment(self, payment_id: str) -> dict | None:
        return payments.by_id(self.db, payment_id)

    def payments_of(self, attempt_id: str) -> list[dict]:
        """An attempt's checkouts, newest first."""
        return payments.of_attempt(self.db, attempt_id)

    def move_payment(
        self, payment_id: str, status: str, *, now: datetime, only_if: tuple[str, ...]
    ) -> bool:
        """Compare-and-set a payment's status (and paid_at when paid); True if moved."""
        with self.write() as db:
            return payments.change_status(db, payment_id, status, now=now, only_if=only_if)

    def stale_payments(self, *, before: datetime, limit: int = 100) -> list[dict]:
        """Open checkouts started before ``before`` (to confirm or to call abandoned)."""
        return payments.stale(self.db, before=before, limit=limit)

    def refunds_due(self) -> list[dict]:
        return payments.refunds_due(self.db)

    # -- follow-ups ------------------------------------------------------------------
    def stalled_attempts(
        self, *, stalled_before: datetime, last_before: datetime, max_sent: int, limit: int = 200
    ) -> list[dict]:
        """Attempts to follow up (see ``attempts.stalled``)."""
        return attempts.stalled(
            self.db,
            stalled_before=stalled_before,
            last_before=last_before,
            max_sent=max_sent,
            limit=limit,
        )

    def claim_followup(self, attempt_id: str, number: int, *, now: datetime) -> bool:
        """Take the right to send follow-up ``number`` of an attempt; only one caller gets
        it (compare-and-set on the count), and never once the attempt is booked or paid."""
        with self.write() as db:
            return attempts.claim_followup(db, attempt_id, number, now=now)

    def unclaim_followup(self, attempt_id: str, number: int) -> None:
        """Give a claimed follow-up back (it could not be prepared); the next run retries."""
        with self.write() as db:
            attempts.unclaim_followup(db, attempt_id, number)

    def stop_followups(self, attempt_id: str, *, now: datetime) -> bool:
        """Opt an attempt out of follow-ups; True the first time."""
        with self.write() as db:
            return attempts.stop_followups(db, attempt_id, now=now)

    # -- webhook deliveries ----------------------------------------------------------
    def record_delivery(
        self,
        *,
        received_at: datetime,
        body: bytes,
        verified: bool,
        rejection: str | None,
        event: str | None,
        payload_uri: str | None,
        source: str = "calendly",
    ) -> int:
        """Keep a delivery as received, before it is applied; returns its id."""
        with self.write() as db:
            return webhooks.record(
                db,
                received_at=received_at,
                body=body,
                verified=verified,
                rejection=rejection,
                event=event,
                payload_uri=payload_uri,
                source=source,
            )

    def finish_delivery(self, delivery_id: int, *, outcome: str, now: datetime) -> None:
        with self.write() as db:
            webhooks.finish(db, delivery_id, outcome=outcome, now=now)

    def last_verified_delivery(self) -> str | None:
        return webhooks.last_verified(self.db)
