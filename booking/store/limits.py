"""Per-client counters (``rate_limits``) in fixed windows, failed owner sign-ins
(``signin_throttle``), the desk's own secrets (``desk_secrets``) and the health probe's row
(``health_probe``).

A counter is spent with one UPSERT that only counts up while under the limit, inside the
caller's write transaction, so 50 parallel requests cannot all pass a limit of 5. Windows
that have passed are deleted as new ones are spent, so the table holds at most one row per
client and bucket: it cannot grow into a way to fill the disk.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlite_utils import Database

from booking.store.sql import iso, parse_iso

MAX_CLIENTS = 50_000  # rows per window at most; past that every newcomer shares one row


def spend(db: Database, bucket: str, client: str, *, window: int, limit: int) -> bool:
    """Count one use of ``bucket`` by ``client`` in ``window``; False (nothing counted)
    once ``limit`` uses were counted in it."""
    db.execute("DELETE FROM rate_limits WHERE bucket = ? AND window < ?", [bucket, window])
    known = db.execute(
        "SELECT 1 FROM rate_limits WHERE bucket = ? AND client = ? AND window = ?",
        [bucket, client, window],
    ).fetchone()
    if not known:
        crowded = db.execute(
            "SELECT count(*) FROM rate_limits WHERE bucket = ? AND window = ?", [bucket, window]
        ).fetchone()[0]
        if crowded >= MAX_CLIENTS:
            client = "*crowd*"
    counted = db.execute(
        "INSERT INTO rate_limits (bucket, client, window, count) VALUES (?, ?, ?, 1) "
        "ON CONFLICT (bucket, client, window) DO UPDATE SET count = count + 1 "
        "WHERE count < ? RETURNING count",
        [bucket, client, window, limit],
    ).fetchone()
    return counted is not None and counted[0] <= limit


def probe(db: Database, *, now: datetime) -> None:
    """Write (and so prove the database takes writes)."""
    db.execute("INSERT OR REPLACE INTO health_probe (id, at) VALUES (1, ?)", [iso(now)])


def failures(db: Database, key: str) -> tuple[int, datetime | None]:
    """How many sign-ins failed for ``key`` (a client, or '*' for everyone), and the last."""
    row = db.execute("SELECT fails, last_at FROM signin_throttle WHERE key = ?", [key]).fetchone()
    return (row[0], parse_iso(row[1])) if row else (0, None)


def failed(db: Database, key: str, *, now: datetime, forget_before: datetime) -> int:
    """Count one more failure for ``key`` (older failures are forgotten); the new count."""
    return db.execute(
        "INSERT INTO signin_throttle (key, fails, last_at) VALUES (?, 1, ?) "
        "ON CONFLICT (key) DO UPDATE SET last_at = excluded.last_at, "
        "fails = CASE WHEN last_at < ? THEN 1 ELSE fails + 1 END RETURNING fails",
        [key, iso(now), iso(forget_before)],
    ).fetchone()[0]


def forgive(db: Database, key: str) -> None:
    db.execute("DELETE FROM signin_throttle WHERE key = ?", [key])


def secret(db: Database, name: str) -> str:
    """The desk's own random secret called ``name``, made once and kept."""
    db.execute(
        "INSERT OR IGNORE INTO desk_secrets (name, value) VALUES (?, ?)",
        [name, secrets.token_urlsafe(32)],
    )
    return db.execute("SELECT value FROM desk_secrets WHERE name = ?", [name]).fetchone()[0]
