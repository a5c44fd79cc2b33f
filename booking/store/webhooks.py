"""Webhook deliveries as received (``webhook_deliveries``) and the deliveries applied once
(``webhook_applied``); reconciliation runs are ``booking.store.calendly``'s."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from booking.store.sql import iso

REFUSED_SAMPLE_ROWS = 500  # refused deliveries whose (cut) bodies are kept, newest
REFUSED_SAMPLE_BYTES = 16 * 1024  # so at most 8 MiB of refused bodies in all


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
    """Keep a delivery as received; returns its id. Refused deliveries are counted exactly
    (``webhook_refusals``) but only a bounded sample of them is kept, each cut to 16 KiB, so
    forgeries cannot fill the disk."""
    if not verified:
        db.execute(
            "INSERT INTO webhook_refusals (day, source, rejection, count) VALUES (?, ?, ?, 1) "
            "ON CONFLICT (day, source, rejection) DO UPDATE SET count = count + 1",
            [iso(received_at)[:10], source, rejection or "refused"],
        )
        kept = db.execute("SELECT count(*) FROM webhook_deliveries WHERE verified = 0")
        if kept.fetchone()[0] >= REFUSED_SAMPLE_ROWS:
            db.execute(
                "DELETE FROM webhook_deliveries WHERE id = "
                "(SELECT min(id) FROM webhook_deliveries WHERE verified = 0)"
            )
        body_kept = body[:REFUSED_SAMPLE_BYTES]
    else:
        body_kept = body
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
            body_kept.decode("utf-8", errors="replace"),
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
