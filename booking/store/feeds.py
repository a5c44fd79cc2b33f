"""The ``feed_copies`` table: the last good copy of each analyst's calendar feed, how it
was validated (ETag, Last-Modified), and the last failure. Keyed by the SHA-256 of the
feed's address, so private calendar addresses stay in the catalogue only. Functions over
an open ``Database``; callers decide the transaction."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlite_utils import Database

from booking.store.sql import first, iso


def key(feed: str) -> str:
    return hashlib.sha256(feed.encode()).hexdigest()


def copy(db: Database, feed: str) -> dict | None:
    """The stored copy of ``feed`` (body may be None when it never worked)."""
    return first(db, "SELECT * FROM feed_copies WHERE feed_key = ?", [key(feed)])


def save(
    db: Database,
    feed: str,
    *,
    body: bytes,
    etag: str | None,
    last_modified: str | None,
    now: datetime,
) -> None:
    """A new good copy: it replaces the old one and clears any failure."""
    db.execute(
        "INSERT INTO feed_copies (feed_key, body, etag, last_modified, fetched_at, checked_at, "
        "failed_at, error) VALUES (:k, :body, :etag, :lm, :now, :now, NULL, NULL) "
        "ON CONFLICT (feed_key) DO UPDATE SET body = :body, etag = :etag, "
        "last_modified = :lm, fetched_at = :now, checked_at = :now, failed_at = NULL, "
        "error = NULL",
        {"k": key(feed), "body": body, "etag": etag, "lm": last_modified, "now": iso(now)},
    )


def unchanged(db: Database, feed: str, *, now: datetime) -> None:
    """The feed answered 'not modified': the copy is current as of ``now``."""
    db.execute(
        "UPDATE feed_copies SET checked_at = ?, failed_at = NULL, error = NULL WHERE feed_key = ?",
        [iso(now), key(feed)],
    )


def failed(db: Database, feed: str, *, error: str, now: datetime) -> None:
    """A read failed: note why (the copy, if any, stays as it was)."""
    db.execute(
        "INSERT INTO feed_copies (feed_key, checked_at, failed_at, error) "
        "VALUES (:k, :now, :now, :error) ON CONFLICT (feed_key) DO UPDATE SET "
        "checked_at = :now, failed_at = coalesce(failed_at, :now), error = :error",
        {"k": key(feed), "now": iso(now), "error": error[:300]},
    )
