"""Webhook deliveries as received (``webhook_deliveries``), the deliveries applied once
(``webhook_applied``) and reconciliation runs (``reconcile_runs``)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlite_utils import Database

from booking.store.sql import iso


def record(
    db: Database,
    *,
    received_at: datetime,
    body: bytes,
    verified: bool,
    rejection: str | None,
    event: str | None,
    payload_uri: str | None,
    source: str,
) -> int:
    """Keep a delivery as received; returns its id. Bodies that failed verification are
    kept only up to 16 KiB, so forgeries cannot fill the disk."""
    kept = body if verified else body[: 16 * 1024]
    return db.execute(  # plain SQL: this is the webhook hot path
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


def finish(db: Database, delivery_id: int, *, outcome: str, now: datetime) -> None:
    db.execute(
        "UPDATE webhook_deliveries SET outcome = ?, applied_at = ? WHERE id = ?",
        [outcome, iso(now), delivery_id],
    )


def last_verified(db: Database) -> str | None:
    row = db.execute(
        "SELECT max(received_at) FROM webhook_deliveries WHERE verified = 1"
    ).fetchone()
    return row[0] if row else None


def claim(db: Database, event: str, payload_uri: str, *, delivery_id, now: datetime) -> bool:
    """Take the one application of ``(event, payload_uri)``; False when it was applied."""
    return bool(
        db.execute(
            "INSERT OR IGNORE INTO webhook_applied (event, payload_uri, delivery_id, applied_at) "
            "VALUES (?, ?, ?, ?)",
            [event, payload_uri, delivery_id, iso(now)],
        ).rowcount
    )


def record_reconcile(db: Database, *, now: datetime, fixed: dict) -> None:
    db.execute(
        "INSERT INTO reconcile_runs (at, fixed, detail) VALUES (?, ?, ?)",
        [iso(now), sum(fixed.values()), json.dumps(fixed, sort_keys=True)],
    )
