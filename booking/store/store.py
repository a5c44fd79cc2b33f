"""SQLite storage through sqlite-utils: schema migrations, attempts, funnel events, bookings.

One connection per thread (sqlite3 connections are thread-bound and Streamlit serves each
session from its own thread), WAL mode and a busy timeout so readers never block the
writer. Local occupancy is guarded by the database itself: a partial unique index over
the slot-occupying statuses, and the overlap re-check plus insert run inside one
``BEGIN IMMEDIATE`` transaction, so two processes cannot both take a slot.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
import time as _time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database, Migrations

from booking.domain import funnel
from booking.domain.slots import Interval

_savepoints = itertools.count()
OCCUPYING = ("confirmed", "held")

migrations = Migrations("booking_desk")


@migrations()
def m001_attempts_funnel_bookings(db: Database) -> None:
    db["attempts"].create(
        {
            "id": str,
            "created_at": str,
            "updated_at": str,
            "source": str,
            "analyst": str,
            "meeting_type": str,
            "provider": str,
            "visitor_tz": str,
            "slot_start": str,
            "name": str,
            "email": str,
            "notes": str,
            "status": str,
            "booking_ref": str,
        },
        pk="id",
        not_null={"created_at", "source", "status"},
        defaults={"status": "open"},
    )
    db["attempts"].create_index(["created_at"])
    db["funnel_events"].create(
        {"id": int, "attempt_id": str, "step": str, "at": str, "detail": str},
        pk="id",
        not_null={"attempt_id", "step", "at"},
        foreign_keys=[("attempt_id", "attempts", "id")],
    )
    db["funnel_events"].create_index(["attempt_id"])
    db["funnel_events"].create_index(["step", "at"])
    for action in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER funnel_events_append_only_{action.lower()} "
            f"BEFORE {action} ON funnel_events "
            "BEGIN SELECT RAISE(ABORT, 'funnel_events is append-only'); END"
        )
    db["bookings"].create(
        {
            "reference": str,
            "attempt_id": str,
            "provider": str,
            "analyst": str,
            "meeting_type": str,
            "start_utc": str,
            "end_utc": str,
            "status": str,
            "hold_expires_at": str,
            "name": str,
            "email": str,
            "notes": str,
            "visitor_tz": str,
            "price": str,
            "currency": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="reference",
        not_null={"provider", "analyst", "start_utc", "end_utc", "status", "created_at"},
    )
    db.execute(
        "CREATE UNIQUE INDEX bookings_occupancy ON bookings (analyst, start_utc) "
        f"WHERE status IN {OCCUPYING!r}"
    )
    db["bookings"].create_index(["analyst", "start_utc"])
    db["bookings"].create_index(["attempt_id"])


@migrations()
def m002_calendly_webhooks(db: Database) -> None:
    db["webhook_deliveries"].create(
        {
            "id": int,
            "received_at": str,
            "source": str,
            "event": str,
            "payload_uri": str,
            "verified": int,
            "rejection": str,
            "body": str,
            "body_bytes": int,
            "outcome": str,
            "applied_at": str,
        },
        pk="id",
        not_null={"received_at", "source", "verified"},
    )
    db["webhook_deliveries"].create_index(["received_at"])
    db["webhook_deliveries"].create_index(["verified", "outcome"])
    db["webhook_applied"].create(
        {"event": str, "payload_uri": str, "delivery_id": int, "applied_at": str},
        pk=("event", "payload_uri"),
    )
    for column, kind in (
        ("invitee_uri", str),
        ("event_uri", str),
        ("cancel_url", str),
        ("reschedule_url", str),
        ("cancel_reason", str),
        ("canceled_by", str),
        ("canceler_type", str),
        ("rescheduled_from", str),
        ("rescheduled_to", str),
        ("no_show", int),
        ("no_show_at", str),
    ):
        db["bookings"].add_column(column, kind)
    db.execute(
        "CREATE UNIQUE INDEX bookings_invitee ON bookings (invitee_uri) "
        "WHERE invitee_uri IS NOT NULL"
    )


ROLLUP_DIMS = ("analyst", "meeting_type", "provider")
ROLLUP_COUNTS = (
    "attempts",
    *(f"s_{step}" for step in funnel.TRACKED),
    *(f"ttb_{i}" for i in range(len(funnel.TIME_TO_BOOK))),
)
_ATTEMPT_FACTS = ", ".join(("id", "created_at", *ROLLUP_DIMS, *(f"at_{s}" for s in funnel.TRACKED)))


@migrations()
def m003_funnel_rollup(db: Database) -> None:
    """Analytics at scale: the first time each attempt reached each tracked step, and a
    daily roll-up of attempts per (day, analyst, meeting type, provider), kept exact by the
    store on every write, so the owner's dashboard reads a few thousand rows, not millions."""
    for step in funnel.TRACKED:
        db["attempts"].add_column(f"at_{step}", str)
        db.execute(
            f"UPDATE attempts SET at_{step} = (SELECT min(at) FROM funnel_events e "  # noqa: S608
            f"WHERE e.attempt_id = attempts.id AND e.step = ?)",
            [step],
        )
    db["funnel_daily"].create(
        {"day": str, **dict.fromkeys(ROLLUP_DIMS, str), **dict.fromkeys(ROLLUP_COUNTS, int)},
        pk=("day", *ROLLUP_DIMS),
    )
    totals: dict = {}
    for row in db.query(f"SELECT {_ATTEMPT_FACTS} FROM attempts"):  # noqa: S608
        key, vec = _contribution(row)
        totals[key] = [a + b for a, b in zip(totals.get(key, [0] * len(vec)), vec, strict=True)]
    for key, vec in totals.items():
        _roll(db, key, vec, +1)
    db["bookings"].create_index(
        [
            "created_at",
            "status",
            "start_utc",
            *ROLLUP_DIMS,
            "rescheduled_from",
            "rescheduled_to",
            "no_show",
        ],
        index_name="bookings_by_created",
    )
    db["webhook_deliveries"].create_index(
        ["received_at", "verified", "outcome"], index_name="webhook_deliveries_health"
    )
    db["reconcile_runs"].create({"id": int, "at": str, "fixed": int, "detail": str}, pk="id")


@migrations()
def m004_payments_mail_followups(db: Database) -> None:
    """Checkout sessions, the email outbox, and what follow-ups need on an attempt."""
    for step in funnel.TRACKED:  # steps tracked since m003 ran on this database
        if f"at_{step}" not in db["attempts"].columns_dict:
            db["attempts"].add_column(f"at_{step}", str)
        if f"s_{step}" not in db["funnel_daily"].columns_dict:
            db["funnel_daily"].add_column(f"s_{step}", int, not_null_default=0)
    db["attempts"].create_index(["at_followup_sent"], index_name="attempts_followed_up")
    for column, kind in (
        ("handoff_url", str),
        ("followups_sent", int),
        ("last_followup_at", str),
        ("followups_stopped", int),
    ):
        db["attempts"].add_column(column, kind)
    db["payments"].create(
        {
            "id": str,
            "attempt_id": str,
            "provider": str,
            "amount": str,
            "currency": str,
            "description": str,
            "meeting_type": str,
            "slot_start": str,
            "status": str,  # open → paid | abandoned (→ paid, if paid late); paid → refund_due
            "url": str,
            "hold_ref": str,
            "created_at": str,
            "updated_at": str,
            "paid_at": str,
        },
        pk="id",
        not_null={"attempt_id", "provider", "amount", "currency", "status", "created_at"},
        foreign_keys=[("attempt_id", "attempts", "id")],
    )
    db["payments"].create_index(["attempt_id"])
    db["payments"].create_index(["status", "created_at"])
    db["outbox"].create(
        {
            "id": int,
            "key": str,  # what the mail is about, e.g. 'confirmation:BD-…'; sent once
            "kind": str,
            "attempt_id": str,
            "booking_ref": str,
            "to_addr": str,
            "subject": str,
            "message": str,  # the whole RFC 5322 message, as sent
            "status": str,  # queued → sent | kept (no SMTP: the owner reads it) | failed
            "tries": int,
            "next_try_at": str,
            "last_error": str,
            "created_at": str,
            "sent_at": str,
        },
        pk="id",
        not_null={"key", "kind", "to_addr", "subject", "message", "status", "created_at"},
        defaults={"tries": 0},
    )
    db["outbox"].create_index(["key"], unique=True)
    db["outbox"].create_index(["status", "next_try_at"])


def _contribution(row: dict) -> tuple[tuple, list[int]]:
    """What one attempt adds to the roll-up: its key and its counts."""
    key = (row["created_at"][:10], *(row.get(d) or "" for d in ROLLUP_DIMS))
    buckets = [0] * len(funnel.TIME_TO_BOOK)
    if row.get("at_booked"):
        minutes = (parse_iso(row["at_booked"]) - parse_iso(row["created_at"])).total_seconds() / 60
        buckets[funnel.time_to_book_bucket(minutes)] = 1
    steps = [int(row.get(f"at_{s}") is not None) for s in funnel.TRACKED]
    return key, [1, *steps, *buckets]


def _roll(db: Database, key: tuple, vec: list[int], sign: int) -> None:
    columns = ", ".join(("day", *ROLLUP_DIMS, *ROLLUP_COUNTS))
    updates = ", ".join(f"{c} = {c} + excluded.{c}" for c in ROLLUP_COUNTS)
    db.execute(
        f"INSERT INTO funnel_daily ({columns}) VALUES ({', '.join('?' * (4 + len(vec)))}) "  # noqa: S608
        f"ON CONFLICT (day, {', '.join(ROLLUP_DIMS)}) DO UPDATE SET {updates}",
        [*key, *(sign * v for v in vec)],
    )


def first(db: Database, sql: str, params) -> dict | None:
    """The first row a query gives, as a dict, or None."""
    return next(db.query(sql, params), None)


def _facts(db: Database, attempt_id: str) -> dict | None:
    return first(db, f"SELECT {_ATTEMPT_FACTS} FROM attempts WHERE id = ?", [attempt_id])  # noqa: S608


def _reroll(db: Database, before: dict | None, after: dict | None) -> None:
    """Move an attempt's contribution in the roll-up from its old facts to its new ones."""
    old = _contribution(before) if before else None
    new = _contribution(after) if after else None
    if old != new:
        if old:
            _roll(db, *old, -1)
        if new:
            _roll(db, *new, +1)


def _insert(db: Database, table: str, row: dict) -> None:
    db.execute(
        f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",  # noqa: S608
        list(row.values()),
    )


def finish_delivery(db: Database, delivery_id: int, *, outcome: str, now: datetime) -> None:
    db.execute(
        "UPDATE webhook_deliveries SET outcome = ?, applied_at = ? WHERE id = ?",
        [outcome, iso(now), delivery_id],
    )


def iso(dt: datetime) -> str:
    """The stored form of an instant: UTC, seconds, '+00:00' (sorts as text)."""
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


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
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000)
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
            db = Database(conn)
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
        land or none does) and an inner failure rolls back only the inner block.
        """
        db = self.db
        conn = db.conn
        if conn.in_transaction:
            name = f"booking_{next(_savepoints)}"
            conn.execute(f"SAVEPOINT {name}")
            try:
                yield db
            except BaseException:
                if conn.in_transaction:  # an error may have ended the whole transaction
                    conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                    conn.execute(f"RELEASE SAVEPOINT {name}")
                raise
            else:
                conn.execute(f"RELEASE SAVEPOINT {name}")
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            conn.rollback()
            raise
        else:
            conn.commit()

    def ping(self) -> bool:
        try:
            return self.db.execute("SELECT 1").fetchone() == (1,)
        except sqlite3.Error:
            return False

    # -- attempts and funnel -------------------------------------------------------
    def create_attempt(self, attempt_id: str, *, now: datetime, **fields) -> None:
        with self.write() as db:
            db["attempts"].insert(
                {
                    "id": attempt_id,
                    "created_at": iso(now),
                    "updated_at": iso(now),
                    "status": "open",
                    **fields,
                }
            )
            self._event(db, attempt_id, "started", now, {"source": fields.get("source")})
            _reroll(db, None, _facts(db, attempt_id))

    def update_attempt(self, attempt_id: str, *, now: datetime, **fields) -> None:
        with self.write() as db:
            before = _facts(db, attempt_id)
            db["attempts"].update(attempt_id, {**fields, "updated_at": iso(now)})
            if any(k in ROLLUP_DIMS for k in fields):
                _reroll(db, before, _facts(db, attempt_id))

    def add_event(
        self, attempt_id: str, step: str, *, now: datetime, detail: dict | None = None
    ) -> None:
        with self.write() as db:
            self._event(db, attempt_id, step, now, detail)

    @staticmethod
    def _event(db: Database, attempt_id: str, step: str, now: datetime, detail) -> None:
        db.execute(
            "INSERT INTO funnel_events (attempt_id, step, at, detail) VALUES (?, ?, ?, ?)",
            [attempt_id, step, iso(now), json.dumps(detail, sort_keys=True) if detail else None],
        )
        if step in funnel.TRACKED:  # keep the first time on the attempt, for analytics
            before = _facts(db, attempt_id)
            changed = db.execute(
                f"UPDATE attempts SET at_{step} = ? WHERE id = ? "  # noqa: S608 - a known step
                f"AND (at_{step} IS NULL OR at_{step} > ?)",
                [iso(now), attempt_id, iso(now)],
            ).rowcount
            if changed:
                _reroll(db, before, _facts(db, attempt_id))

    def attempt(self, attempt_id: str) -> dict | None:
        return first(self.db, "SELECT * FROM attempts WHERE id = ?", [attempt_id])

    def events(self, attempt_id: str) -> list[dict]:
        return list(
            self.db.query(
                "SELECT step, at, detail FROM funnel_events WHERE attempt_id = ? ORDER BY id",
                [attempt_id],
            )
        )

    # -- bookings ------------------------------------------------------------------
    _OCCUPIED_SQL = (
        "SELECT start_utc, end_utc FROM bookings WHERE analyst = :analyst "
        "AND (status = 'confirmed' OR (status = 'held' AND hold_expires_at > :now)) "
        "AND start_utc < :end AND end_utc > :start"
    )

    def busy(
        self, analyst: str, start: datetime, end: datetime, *, now: datetime
    ) -> list[Interval]:
        """Intervals occupied by confirmed bookings and live holds that touch [start, end)."""
        rows = self.db.execute(
            self._OCCUPIED_SQL,
            {"analyst": analyst, "now": iso(now), "start": iso(start), "end": iso(end)},
        ).fetchall()
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
        try:
            with self.write() as db:
                db.execute(
                    "UPDATE bookings SET status = 'expired', updated_at = ? "
                    "WHERE analyst = ? AND status = 'held' AND hold_expires_at <= ?",
                    [iso(now), booking["analyst"], iso(now)],
                )
                clash = db.execute(
                    self._OCCUPIED_SQL + " LIMIT 1",
                    {
                        "analyst": booking["analyst"],
                        "now": iso(now),
                        "start": iso(clear_from),
                        "end": iso(clear_to),
                    },
                ).fetchone()
                if clash:
                    return False
                db["bookings"].insert({**booking, "created_at": iso(now), "updated_at": iso(now)})
                if attempt_id:
                    db["attempts"].update(
                        attempt_id,
                        {
                            "status": "booked",
                            "booking_ref": booking["reference"],
                            "updated_at": iso(now),
                        },
                    )
                    self._event(db, attempt_id, "booked", now, event_detail)
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
                row = db.execute(
                    "SELECT analyst, status FROM bookings WHERE reference = ?", [reference]
                ).fetchone()
                if row is None:
                    return False
                analyst, status = row
                if status == "confirmed":
                    return True
                clash = db.execute(
                    self._OCCUPIED_SQL + " AND reference != :ref LIMIT 1",
                    {
                        "analyst": analyst,
                        "now": iso(now),
                        "start": iso(clear_from),
                        "end": iso(clear_to),
                        "ref": reference,
                    },
                ).fetchone()
                if clash:
                    return False
                db.execute(
                    "UPDATE bookings SET status = 'confirmed', hold_expires_at = NULL, "
                    "updated_at = ? WHERE reference = ?",
                    [iso(now), reference],
                )
                db["attempts"].update(
                    attempt_id,
                    {"status": "booked", "booking_ref": reference, "updated_at": iso(now)},
                )
                self._event(db, attempt_id, "booked", now, event_detail)
        except sqlite3.IntegrityError:
            return False
        return True

    def set_booking_status(
        self, reference: str, status: str, *, now: datetime, only_if: tuple[str, ...]
    ) -> bool:
        """Move a booking to ``status`` if it is in one of ``only_if``; True when moved."""
        return self._move("bookings", "reference", reference, status, now, only_if)

    def _move(self, table, key, value, status, now, only_if, extra: str = "") -> bool:
        """Compare-and-set a row's status: of callers racing, exactly one moves it."""
        with self.write() as db:
            sql = (
                f"UPDATE {table} SET status = ?, updated_at = ?{extra} WHERE {key} = ? "  # noqa: S608
                f"AND status IN ({', '.join('?' * len(only_if))})"
            )
            params = [status, iso(now), *([iso(now)] if extra else []), value, *only_if]
            return db.execute(sql, params).rowcount == 1

    # -- payments --------------------------------------------------------------------
    def add_payment(self, row: dict, *, now: datetime) -> None:
        with self.write() as db:
            db["payments"].insert(  # the same checkout twice (a double click) is kept once
                {**row, "created_at": iso(now), "updated_at": iso(now)}, ignore=True
            )

    def payment(self, payment_id: str) -> dict | None:
        return first(self.db, "SELECT * FROM payments WHERE id = ?", [payment_id])

    def payments_of(self, attempt_id: str) -> list[dict]:
        """An attempt's checkouts, newest first."""
        return list(
            self.db.query(
                "SELECT * FROM payments WHERE attempt_id = ? ORDER BY created_at DESC, rowid DESC",
                [attempt_id],
            )
        )

    def move_payment(
        self, payment_id: str, status: str, *, now: datetime, only_if: tuple[str, ...]
    ) -> bool:
        """Compare-and-set a payment's status (and paid_at when paid); True if moved."""
        extra = ", paid_at = ?" if status == "paid" else ""
        return self._move("payments", "id", payment_id, status, now, only_if, extra)

    def stale_payments(self, *, before: datetime, limit: int = 100) -> list[dict]:
        """Open checkouts started before ``before`` (to confirm or to call abandoned)."""
        return list(
            self.db.query(
                "SELECT * FROM payments WHERE status = 'open' AND created_at < ? "
                "ORDER BY created_at LIMIT ?",
                [iso(before), limit],
            )
        )

    def refunds_due(self) -> list[dict]:
        return list(
            self.db.query(
                "SELECT p.*, a.name, a.email, a.analyst, a.booking_ref FROM payments p "
                "JOIN attempts a ON a.id = p.attempt_id WHERE p.status = 'refund_due' "
                "ORDER BY p.updated_at DESC"
            )
        )

    # -- follow-ups ------------------------------------------------------------------
    def stalled_attempts(
        self, *, stalled_before: datetime, last_before: datetime, max_sent: int, limit: int = 200
    ) -> list[dict]:
        """Attempts that got as far as a Calendly link or a checkout and then stalled: not
        booked, not paid, not opted out, with an email, fewer than ``max_sent`` follow-ups,
        the last one (if any) before ``last_before``."""
        return list(
            self.db.query(
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

    def claim_followup(self, attempt_id: str, number: int, *, now: datetime) -> bool:
        """Take the right to send follow-up ``number`` of an attempt; only one caller gets
        it (compare-and-set on the count), and never once the attempt is booked or paid."""
        with self.write() as db:
            return (
                db.execute(
                    "UPDATE attempts SET followups_sent = ?, last_followup_at = ? "
                    "WHERE id = ? AND coalesce(followups_sent, 0) = ? AND booking_ref IS NULL "
                    "AND at_paid IS NULL AND coalesce(followups_stopped, 0) = 0",
                    [number, iso(now), attempt_id, number - 1],
                ).rowcount
                == 1
            )

    def unclaim_followup(self, attempt_id: str, number: int) -> None:
        """Give a claimed follow-up back (it could not be prepared); the next run retries."""
        with self.write() as db:
            db.execute(
                "UPDATE attempts SET followups_sent = ?, last_followup_at = NULL "
                "WHERE id = ? AND followups_sent = ?",
                [number - 1, attempt_id, number],
            )

    def stop_followups(self, attempt_id: str, *, now: datetime) -> bool:
        """Opt an attempt out of follow-ups; True the first time."""
        with self.write() as db:
            return (
                db.execute(
                    "UPDATE attempts SET followups_stopped = 1, updated_at = ? "
                    "WHERE id = ? AND coalesce(followups_stopped, 0) = 0",
                    [iso(now), attempt_id],
                ).rowcount
                == 1
            )

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
        """Keep a delivery as received (before it is applied); returns its id. Bodies that
        failed verification are kept only up to 16 KiB, so forgeries cannot fill the disk."""
        kept = body if verified else body[: 16 * 1024]
        with self.write() as db:  # plain SQL: this is the webhook hot path
            return db.execute(
                "INSERT INTO webhook_deliveries (received_at, source, event, payload_uri, "
                "verified, rejection, body, body_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    iso(received_at),
                    source,
                    event,
                    payload_uri,
                    int(verified),
                    rejection,
                    kept.decode("utf-8", errors="replace"),
                    len(body),
                ],
            ).lastrowid

    def finish_delivery(self, delivery_id: int, *, outcome: str, now: datetime) -> None:
        with self.write() as db:
            finish_delivery(db, delivery_id, outcome=outcome, now=now)

    def last_verified_delivery(self) -> str | None:
        row = self.db.execute(
            "SELECT max(received_at) FROM webhook_deliveries WHERE verified = 1"
        ).fetchone()
        return row[0] if row else None

    def booking_by_invitee(self, invitee_uri: str) -> dict | None:
        """The booking of a Calendly invitee URI (exact, through its unique index)."""
        return first(self.db, "SELECT * FROM bookings WHERE invitee_uri = ?", [invitee_uri])

    def booking_by_invitee_suffix(self, suffix: str) -> dict | None:
        return first(
            self.db,
            "SELECT * FROM bookings WHERE invitee_uri LIKE ? ESCAPE '\\' LIMIT 1",
            ["%" + suffix.replace("%", "\\%").replace("_", "\\_")],
        )

    def import_history(self, histories, *, chunk: int = 20_000) -> int:
        """Write many attempts with their events and bookings (demo data, benchmarks),
        keeping the same first-time-per-step columns the live path keeps; returns the count.
        Commits every ``chunk`` attempts so the write-ahead log stays small."""
        count = 0
        histories = iter(histories)
        while batch := list(itertools.islice(histories, chunk)):
            with self.write() as db:
                totals: dict = {}
                for h in batch:
                    attempt = dict(h.attempt)
                    for step, at, _ in h.events:
                        if step in funnel.TRACKED:
                            attempt.setdefault(f"at_{step}", at)
                    _insert(db, "attempts", attempt)
                    key, vec = _contribution(attempt)
                    totals[key] = [
                        a + b for a, b in zip(totals.get(key, [0] * len(vec)), vec, strict=True)
                    ]
                    db.conn.executemany(
                        "INSERT INTO funnel_events (attempt_id, step, at, detail) "
                        "VALUES (?, ?, ?, ?)",
                        [(attempt["id"], *event) for event in h.events],
                    )
                    if h.booking:
                        _insert(db, "bookings", h.booking)
                for key, vec in totals.items():
                    _roll(db, key, vec, +1)
            count += len(batch)
        return count

    def record_reconcile(self, *, now: datetime, fixed: dict) -> None:
        with self.write() as db:
            db.execute(
                "INSERT INTO reconcile_runs (at, fixed, detail) VALUES (?, ?, ?)",
                [iso(now), sum(fixed.values()), json.dumps(fixed, sort_keys=True)],
            )

    def booking(self, reference: str) -> dict | None:
        return first(self.db, "SELECT * FROM bookings WHERE reference = ?", [reference])
