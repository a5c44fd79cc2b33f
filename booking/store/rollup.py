"""The ``funnel_daily`` roll-up: attempts per (day, analyst, meeting type, provider) with
the steps they reached and how long booking took, kept exact on every write.

Each attempt contributes one key and one vector of counts (its *facts*: start, dimensions,
the first time of each tracked step). A write that changes an attempt's facts moves its
contribution: minus the old vector, plus the new one.
"""

from __future__ import annotations

from sqlite_utils import Database

from booking.domain import funnel
from booking.store.sql import first, parse_iso

ROLLUP_DIMS = ("analyst", "meeting_type", "provider")
ROLLUP_COUNTS = (
    "attempts",
    *(f"s_{step}" for step in funnel.TRACKED),
    *(f"ttb_{i}" for i in range(len(funnel.TIME_TO_BOOK))),
)
ATTEMPT_FACTS = ", ".join(("id", "created_at", *ROLLUP_DIMS, *(f"at_{s}" for s in funnel.TRACKED)))


def contribution(row: dict) -> tuple[tuple, list[int]]:
    """What one attempt adds to the roll-up: its key and its counts."""
    key = (row["created_at"][:10], *(row.get(d) or "" for d in ROLLUP_DIMS))
    buckets = [0] * len(funnel.TIME_TO_BOOK)
    if row.get("at_booked"):
        minutes = (parse_iso(row["at_booked"]) - parse_iso(row["created_at"])).total_seconds() / 60
        buckets[funnel.time_to_book_bucket(minutes)] = 1
    steps = [int(row.get(f"at_{s}") is not None) for s in funnel.TRACKED]
    return key, [1, *steps, *buckets]


def add(totals: dict, row: dict) -> None:
    """Add an attempt's contribution to ``totals`` (key → counts), for bulk writes."""
    key, vec = contribution(row)
    totals[key] = [a + b for a, b in zip(totals.get(key, [0] * len(vec)), vec, strict=True)]


def roll(db: Database, key: tuple, vec: list[int], sign: int) -> None:
    columns = ", ".join(("day", *ROLLUP_DIMS, *ROLLUP_COUNTS))
    updates = ", ".join(f"{c} = {c} + excluded.{c}" for c in ROLLUP_COUNTS)
    db.execute(
        f"INSERT INTO funnel_daily ({columns}) VALUES ({', '.join('?' * (4 + len(vec)))}) "  # noqa: S608
        f"ON CONFLICT (day, {', '.join(ROLLUP_DIMS)}) DO UPDATE SET {updates}",
        [*key, *(sign * v for v in vec)],
    )


def roll_totals(db: Database, totals: dict) -> None:
    for key, vec in totals.items():
        roll(db, key, vec, +1)


def facts(db: Database, attempt_id: str) -> dict | None:
    """The columns of an attempt the roll-up counts."""
    return first(db, f"SELECT {ATTEMPT_FACTS} FROM attempts WHERE id = ?", [attempt_id])  # noqa: S608


def all_facts(db: Database):
    return db.query(f"SELECT {ATTEMPT_FACTS} FROM attempts")  # noqa: S608


def reroll(db: Database, before: dict | None, after: dict | None) -> None:
    """Move an attempt's contribution in the roll-up from its old facts to its new ones."""
    old = contribution(before) if before else None
    new = contribution(after) if after else None
    if old != new:
        if old:
            roll(db, *old, -1)
        if new:
            roll(db, *new, +1)
