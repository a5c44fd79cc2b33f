"""Erasure, subject access and retention over the desk's own tables.

A person is found by email (case-insensitive, Unicode-normalised: ``fold``) or, for
retention, by age. What is held about them (``Held``) is a set of row keys: their
attempts, their bookings, the checkouts of those attempts, their Calendly invitee URIs,
their mails and the webhook deliveries that mention them. ``erase`` keeps every row — the
funnel's counts, ``funnel_daily`` and the first time of each step are computed from rows
and their non-personal columns (ids, times, analyst, meeting type, provider, statuses) —
and blanks the personal columns listed in ``PERSONAL``, what a funnel event's ``detail``
says beyond ``KEPT_DETAIL``, and the whole stored body of a mail or webhook delivery.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from sqlite_utils import Database

from booking.store.sql import iso

ERASED = "erased"
# The personal columns of each table and what erasure puts there (ERASED only where there
# was something; NULL-able columns become NULL). Columns a database does not have (yet)
# are skipped, so this list may run ahead of the migrations.
PERSONAL: dict[str, dict[str, str | None]] = {
    "attempts": {
        "name": ERASED,
        "email": None,
        "notes": None,
        "handoff_url": None,  # the pre-filled Calendly link carries name, email and notes
        "calendly_answers": None,
    },
    "bookings": {
        "name": ERASED,
        "email": None,
        "notes": None,
        "cancel_reason": None,
        "canceled_by": ERASED,
        "cancel_url": None,  # Calendly's pages for the invitee show their details
        "reschedule_url": None,
    },
    "outbox": {"to_addr": ERASED, "subject": ERASED, "message": "", "last_error": None},
}
# What a funnel event's detail may keep once its attempt is erased: our own codes and ids.
KEPT_DETAIL = frozenset(
    {
        "amount",
        "analyst",
        "date",
        "event_type",
        "meeting_type",
        "number",
        "provider",
        "reason",
        "reference",
        "source",
        "start",
    }
)
_CHUNK = 500  # ids per IN (...) list


def fold(text: str | None) -> str:
    """An email address as compared: NFC, trimmed, case-folded."""
    return unicodedata.normalize("NFC", text or "").strip().casefold()


@lru_cache(maxsize=64)
def _address_pattern(address: str) -> re.Pattern:
    """``address`` as a whole address: not the tail of a longer local part, nor the head of
    a longer domain."""
    return re.compile(
        r"(?<![\w.%+-])" + re.escape(address) + r"(?![\w-]|\.\w)", re.IGNORECASE | re.UNICODE
    )


def _strings(value) -> Iterator[str]:
    """Every string inside a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def mentions(text: str | None, address: str) -> bool:
    """Whether a stored body names ``address`` (folded), as text or inside its JSON, where
    non-ASCII letters may be written as escapes."""
    if not text or not address:
        return False
    pattern = _address_pattern(address)
    if pattern.search(fold(text)):
        return True
    if "\\u" not in text:
        return False
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return any(pattern.search(fold(s)) for s in _strings(data))


def register(db: Database) -> None:
    """The two SQL functions the queries below use, on this connection."""
    db.conn.create_function("bd_fold", 1, fold, deterministic=True)
    db.conn.create_function("bd_mentions", 2, mentions, deterministic=True)


@dataclass
class Held:
    """What is held about one person (or, for retention, about everyone past it)."""

    attempts: set[str] = field(default_factory=set)
    bookings: set[str] = field(default_factory=set)
    payments: set[str] = field(default_factory=set)
    invitees: set[str] = field(default_factory=set)  # Calendly invitee URIs
    mails: set[int] = field(default_factory=set)
    deliveries: set[int] = field(default_factory=set)

    def invitee_uuids(self) -> set[str]:
        return {uri.rstrip("/").rsplit("/", 1)[-1] for uri in self.invitees}


def _chunks(ids: Iterable) -> Iterator[list]:
    ids = sorted(ids)
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _column(db: Database, sql: str, ids: Iterable, *params) -> set:
    """The first column of ``sql`` (with ``{}`` for an IN list) over ``ids``, in chunks."""
    found: set = set()
    for chunk in _chunks(ids):
        q = sql.format(", ".join("?" * len(chunk)))
        found.update(r[0] for r in db.execute(q, [*chunk, *params]).fetchall() if r[0])
    return found


def _run(db: Database, sql: str, ids: Iterable, *params) -> int:
    """Run a change (``{}`` for an IN list) over ``ids`` in chunks; rows changed."""
    return sum(
        db.execute(sql.format(", ".join("?" * len(chunk))), [*chunk, *params]).rowcount
        for chunk in _chunks(ids)
    )


def _select(db: Database, sql: str, ids: Iterable) -> list[dict]:
    rows: list[dict] = []
    for chunk in _chunks(ids):
        rows.extend(db.query(sql.format(", ".join("?" * len(chunk))), chunk))
    return rows


def _linked(db: Database, held: Held, *, chain: bool) -> Held:
    """Add what hangs off the held attempts and bookings: their bookings and attempts, the
    attempts' checkouts, the bookings' invitee URIs (with ``chain``, the other halves of
    their reschedules too), their mails and the deliveries about those invitees and
    checkouts."""
    held.bookings |= _column(
        db, "SELECT reference FROM bookings WHERE attempt_id IN ({})", held.attempts
    )
    held.attempts |= _column(
        db, "SELECT attempt_id FROM bookings WHERE reference IN ({})", held.bookings
    )
    held.payments |= _column(db, "SELECT id FROM payments WHERE attempt_id IN ({})", held.attempts)
    for column in ("invitee_uri", "rescheduled_from", "rescheduled_to")[: 3 if chain else 1]:
        held.invitees |= _column(
            db,
            f"SELECT {column} FROM bookings WHERE reference IN ({{}})",  # noqa: S608
            held.bookings,
        )
    held.mails |= _column(
        db, "SELECT id FROM outbox WHERE attempt_id IN ({}) AND message != ''", held.attempts
    )
    held.mails |= _column(
        db, "SELECT id FROM outbox WHERE booking_ref IN ({}) AND message != ''", held.bookings
    )
    held.deliveries |= _column(
        db,
        "SELECT id FROM webhook_deliveries WHERE payload_uri IN ({}) AND body IS NOT NULL",
        held.invitees | held.payments,
    )
    return held


def _plain(address: str) -> str:
    """Lower-case ASCII text that every match of ``address`` contains, for SQLite's own
    (ASCII-only) ``lower`` and ``instr`` to skip most rows at C speed before the exact
    comparison in Python: the address itself, or for one with non-ASCII letters (which
    JSON may escape) its ``@domain``, or nothing."""
    if address.isascii():
        return address
    domain = address.rpartition("@")[2]
    return "@" + domain if domain.isascii() else ""


# {0}: the key column, {1}: the table, {2}: the address column.
_BY_ADDRESS = "SELECT {0} FROM {1} WHERE instr(lower({2}), :plain) AND bd_fold({2}) = :address"


def of_person(db: Database, address: str) -> Held:
    """Everything held about the person with this (folded) email address."""
    register(db)
    params = {"address": address, "plain": _plain(address)}

    def keys(key: str, table: str, column: str, extra: str = "") -> set:
        return {r[0] for r in db.execute(_BY_ADDRESS.format(key, table, column) + extra, params)}

    held = Held(
        attempts=keys("id", "attempts", "email"),
        bookings=keys("reference", "bookings", "email"),
        mails=keys("id", "outbox", "to_addr", " AND message != ''"),
    )
    held = _linked(db, held, chain=True)
    held.deliveries |= {
        r[0]
        for r in db.execute(
            "SELECT id FROM webhook_deliveries WHERE body IS NOT NULL "
            "AND instr(lower(body), :plain) AND bd_mentions(body, :address)",
            params,
        )
    }
    return held


# An attempt is recent while a funnel step or one of its bookings (its meeting's end or
# its last change) is at or after :c.
_RECENT_STEP = "EXISTS (SELECT 1 FROM funnel_events e WHERE e.attempt_id = a.id AND e.at >= :c)"
_RECENT_BOOKING = (
    "EXISTS (SELECT 1 FROM bookings r WHERE r.attempt_id = a.id "
    "AND (r.end_utc >= :c OR coalesce(r.updated_at, r.created_at) >= :c))"
)


def past_retention(db: Database, cutoff: datetime, *, limit: int = _CHUNK) -> Held:
    """Up to ``limit`` attempts and bookings not yet erased whose last activity is before
    ``cutoff`` (an attempt: its last change, funnel step or booking; a booking: its
    meeting's end, its last change and its attempt), with what hangs off them; and up to
    ``limit`` raw mails and webhook deliveries stored before ``cutoff``."""
    params = {"c": iso(cutoff), "n": limit}
    held = Held()
    held.attempts = {
        r[0]
        for r in db.execute(
            "SELECT id FROM attempts a WHERE erased_at IS NULL AND updated_at < :c "  # noqa: S608
            f"AND NOT {_RECENT_STEP} AND NOT {_RECENT_BOOKING} LIMIT :n",
            params,
        )
    }
    held.bookings = {
        r[0]
        for r in db.execute(
            "SELECT reference FROM bookings b WHERE erased_at IS NULL AND end_utc < :c "  # noqa: S608
            "AND coalesce(updated_at, created_at) < :c AND NOT EXISTS (SELECT 1 FROM "
            f"attempts a WHERE a.id = b.attempt_id AND (a.updated_at >= :c OR {_RECENT_STEP} "
            f"OR {_RECENT_BOOKING})) LIMIT :n",
            params,
        )
    }
    held = _linked(db, held, chain=False)
    held.mails |= {
        r[0]
        for r in db.execute(
            "SELECT id FROM outbox WHERE created_at < :c AND message != '' "
            "AND status != 'queued' LIMIT :n",
            params,
        )
    }
    held.deliveries |= {
        r[0]
        for r in db.execute(
            "SELECT id FROM webhook_deliveries WHERE body IS NOT NULL AND received_at < :c "
            "LIMIT :n",
            params,
        )
    }
    return held


def _blank(db: Database, table: str, key: str, ids: set, extra: dict | None = None) -> int:
    """Blank the personal columns of rows ``ids`` of ``table``; rows changed."""
    present = db[table].columns_dict
    values = {c: v for c, v in PERSONAL[table].items() if c in present}
    sets = [
        f"{c} = CASE WHEN {c} IS NULL THEN NULL ELSE ? END" if v == ERASED else f"{c} = ?"
        for c, v in values.items()
    ] + [f"{c} = ?" for c in extra or {}]
    params = [*values.values(), *(extra or {}).values()]
    changed = 0
    for chunk in _chunks(ids):
        sql = f"UPDATE {table} SET {', '.join(sets)} WHERE {key} IN ({', '.join('?' * len(chunk))})"  # noqa: S608
        changed += db.execute(sql, [*params, *chunk]).rowcount
    return changed


def _detail(text: str | None) -> str | None:
    """A funnel event's detail with only what ``KEPT_DETAIL`` allows."""
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    kept = {k: v for k, v in data.items() if k in KEPT_DETAIL}
    return json.dumps(kept, sort_keys=True) if kept else None


def erase(db: Database, held: Held, *, now: datetime) -> Counter:
    """Blank what ``held`` names, in the caller's transaction; rows changed per table."""
    done: Counter = Counter()
    stamp = iso(now)
    done["attempts"] = _blank(
        db, "attempts", "id", held.attempts, {"followups_stopped": 1, "erased_at": stamp}
    )
    for row in _select(
        db,
        "SELECT id, detail FROM funnel_events WHERE attempt_id IN ({}) AND detail IS NOT NULL",
        held.attempts,
    ):
        if (cleaned := _detail(row["detail"])) != row["detail"]:
            db.execute("UPDATE funnel_events SET detail = ? WHERE id = ?", [cleaned, row["id"]])
            done["funnel_events"] += 1
    done["bookings"] = _blank(db, "bookings", "reference", held.bookings, {"erased_at": stamp})
    # A manage link would show what is left; a queued mail to an erased person is not sent.
    done["manage_tokens"] = _run(
        db, "DELETE FROM manage_tokens WHERE reference IN ({})", held.bookings
    )
    _run(
        db, "UPDATE outbox SET status = 'erased' WHERE status = 'queued' AND id IN ({})", held.mails
    )
    done["outbox"] = _blank(db, "outbox", "id", held.mails)
    done["webhook_deliveries"] = _run(
        db,
        "UPDATE webhook_deliveries SET body = NULL WHERE body IS NOT NULL AND id IN ({})",
        held.deliveries,
    )
    return +done


def export(db: Database, held: Held) -> dict[str, list[dict]]:
    """Every row ``held`` names, whole: attempts with their funnel events, bookings,
    checkouts, mails (the stored message included) and webhook deliveries (bodies read as
    JSON where they are)."""
    attempts = _select(
        db, "SELECT * FROM attempts WHERE id IN ({}) ORDER BY created_at", held.attempts
    )
    events: dict[str, list] = {}
    for row in _select(
        db,
        "SELECT attempt_id, step, at, detail FROM funnel_events WHERE attempt_id IN ({}) "
        "ORDER BY id",
        held.attempts,
    ):
        events.setdefault(row.pop("attempt_id"), []).append({**row, "detail": _json(row["detail"])})
    deliveries = _select(
        db, "SELECT * FROM webhook_deliveries WHERE id IN ({}) ORDER BY id", held.deliveries
    )
    return {
        "attempts": [{**a, "funnel_events": events.get(a["id"], [])} for a in attempts],
        "bookings": _select(
            db, "SELECT * FROM bookings WHERE reference IN ({}) ORDER BY created_at", held.bookings
        ),
        "payments": _select(
            db, "SELECT * FROM payments WHERE id IN ({}) ORDER BY created_at", held.payments
        ),
        "mails": _select(db, "SELECT * FROM outbox WHERE id IN ({}) ORDER BY id", held.mails),
        "webhook_deliveries": [{**d, "body": _json(d["body"])} for d in deliveries],
    }


def _json(text: str | None):
    """Stored JSON as data; anything else as it is."""
    try:
        return json.loads(text) if text else text
    except ValueError:
        return text
