"""The SQLite store: schema, WAL, append-only funnel and the occupancy guard."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlite_utils import Database

from booking.store import Store, iso
from booking.store.schema import migrations

START = datetime(2026, 12, 7, 10, tzinfo=UTC)


def row(ref: str, start=START, minutes=30, status="confirmed", **kw) -> dict:
    return {
        "reference": ref,
        "provider": "local",
        "analyst": "maya",
        "meeting_type": "intro",
        "start_utc": iso(start),
        "end_utc": iso(start + timedelta(minutes=minutes)),
        "status": status,
        **kw,
    }


def test_migrations_create_the_tables_in_wal_mode(tmp_path):
    """A new file gets every table, WAL journaling and the recorded migration."""
    store = Store(tmp_path / "sub" / "b.db")
    assert {"attempts", "funnel_events", "bookings", "payments", "outbox"} <= set(
        store.db.table_names()
    )
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
    applied = [r["name"] for r in store.db.query("SELECT name FROM _sqlite_migrations")]
    assert applied == [
        "m001_attempts_funnel_bookings",
        "m002_calendly_webhooks",
        "m003_funnel_rollup",
        "m004_payments_mail_followups",
        "m005_one_booking_status",
        "m006_local_calendars_manage_reminders",
        "m007_calendly_answers_reconcile",
        "m008_erasure_and_retention",
        "m009_stalled_attempts_index",
        "m010_limits_refusals_health",
        "m011_calendly_attempt_lookup",
    ]


def test_reopening_keeps_data_and_applies_nothing_twice(tmp_path):
    """Migrations are idempotent: a second start neither fails nor loses rows."""
    path = tmp_path / "b.db"
    Store(path).create_attempt("att_1", now=START, source="web")
    again = Store(path)
    assert again.attempt("att_1")["source"] == "web"
    names = [r[0] for r in again.db.execute("SELECT name FROM _sqlite_migrations")]
    assert len(names) == len(set(names))


def test_funnel_events_are_append_only(store):
    """The database itself refuses to change or delete a funnel event."""
    store.create_attempt("att_1", now=START, source="web")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.db.execute("UPDATE funnel_events SET step = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.db.execute("DELETE FROM funnel_events")
    assert [e["step"] for e in store.events("att_1")] == ["started"]


def test_unique_index_refuses_two_occupying_bookings_at_one_start(store):
    """Even a raw insert that skips the overlap check cannot double-book a start."""
    store.db["bookings"].insert(row("BD-1", created_at=iso(START)))
    with pytest.raises(sqlite3.IntegrityError):
        store.db["bookings"].insert(row("BD-2", created_at=iso(START)))
    store.db["bookings"].insert(row("BD-3", status="canceled", created_at=iso(START)))


def test_overlap_with_buffer_is_refused_and_nothing_is_written(store):
    """An overlapping insert returns False and leaves the attempt and funnel untouched."""
    store.create_attempt("att_1", now=START, source="web")
    assert store.insert_booking_if_free(
        row("BD-1"), clear_from=START, clear_to=START + timedelta(minutes=30), now=START
    )
    later = START + timedelta(minutes=40)
    ok = store.insert_booking_if_free(
        row("BD-2", start=later),
        clear_from=later - timedelta(minutes=15),
        clear_to=later + timedelta(minutes=45),
        now=START,
        attempt_id="att_1",
    )
    assert not ok
    assert store.booking("BD-2") is None
    assert store.attempt("att_1")["status"] == "open"
    assert [e["step"] for e in store.events("att_1")] == ["started"]


def test_an_expired_hold_frees_its_slot(store):
    """A hold past its expiry no longer occupies the slot, and a new booking replaces it."""
    store.db["bookings"].insert(
        row("BD-H", status="held", hold_expires_at=iso(START), created_at=iso(START))
    )
    end = START + timedelta(minutes=30)
    assert store.busy("maya", START, end, now=START - timedelta(minutes=1))
    assert store.busy("maya", START, end, now=START) == []
    assert store.insert_booking_if_free(row("BD-N"), clear_from=START, clear_to=end, now=START)
    assert store.booking("BD-H")["status"] == "expired"


def test_each_thread_gets_its_own_connection(store):
    """sqlite3 connections are thread-bound, so the store hands each thread its own."""
    import threading

    seen = []
    t = threading.Thread(target=lambda: seen.append(store.db.conn))
    t.start()
    t.join()
    assert seen[0] is not store.db.conn
    assert store.health(now=datetime(2026, 12, 1, tzinfo=UTC)) is None


def test_nested_writes_commit_together_and_an_inner_failure_rolls_back_only_itself(tmp_path):
    """write() inside write() is a savepoint: the outer commit keeps both, an inner error
    undoes only the inner block, and an outer error undoes everything."""
    store = Store(tmp_path / "n.db")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with store.write():
        store.create_attempt("att_outer", now=now, source="web")
        try:
            with store.write():
                store.create_attempt("att_inner", now=now, source="web")
                raise RuntimeError("inner step failed")
        except RuntimeError:
            pass
        store.add_event("att_outer", "slot_chosen", now=now)
    assert store.attempt("att_outer") and store.attempt("att_inner") is None
    assert [e["step"] for e in store.events("att_outer")] == ["started", "slot_chosen"]
    try:
        with store.write():
            store.create_attempt("att_gone", now=now, source="web")
            raise RuntimeError("outer step failed")
    except RuntimeError:
        pass
    assert store.attempt("att_gone") is None


def test_calendly_bookings_move_to_confirmed_and_leave_the_occupancy_index(tmp_path):
    """m005 on a database from before it: Calendly's 'active' becomes 'confirmed', and two
    Calendly bookings at one start (a group event) do not collide in the local index."""
    path = tmp_path / "old.db"
    old = Database(path)
    migrations.apply(old, stop_before="m005_one_booking_status")
    for ref in ("BD-C1", "BD-C2"):
        old["bookings"].insert(
            row(ref, provider="calendly", analyst="assassin", status="active", created_at="x")
        )
    old.conn.close()
    store = Store(path)
    assert {b["status"] for b in store.db.query("SELECT status FROM bookings")} == {"confirmed"}
    store.db["bookings"].insert(row("BD-L1", created_at=iso(START)))
    with pytest.raises(sqlite3.IntegrityError):
        store.db["bookings"].insert(row("BD-L2", status="held", created_at=iso(START)))


def test_every_connection_the_store_hands_out_syncs_fully(tmp_path):
    """synchronous=FULL (2) on each thread's connection: a commit survives a power cut."""
    store = Store(tmp_path / "full.db")
    seen = []

    def read() -> None:
        seen.append(store.db.execute("PRAGMA synchronous").fetchone()[0])

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    read()
    assert seen == [2] * 5
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
