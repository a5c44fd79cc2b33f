"""Small SQL helpers the store's modules share: stored instants, first rows, plain inserts
and updates, compare-and-set status moves, and result sets with their column names."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import NamedTuple

from sqlite_utils import Database


def iso(dt: datetime) -> str:
    """The stored form of an instant: UTC, seconds, '+00:00' (sorts as text)."""
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def first(db: Database, sql: str, params) -> dict | None:
    """The first row a query gives, as a dict, or None (straight from the connection: this
    serves the webhook hot path, where sqlite-utils' per-query savepoint costs)."""
    cursor = db.conn.execute(sql, params)
    row = cursor.fetchone()
    return None if row is None else dict(zip([c[0] for c in cursor.description], row, strict=True))


def insert(db: Database, table: str, row: dict) -> None:
    """Insert one row as given (plain SQL: no schema look-ups on hot or bulk paths)."""
    db.execute(
        f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",  # noqa: S608
        list(row.values()),
    )


def update(db: Database, table: str, key: str, value, fields: dict) -> int:
    """Set ``fields`` on the row whose ``key`` is ``value``; the number of rows changed."""
    assignments = ", ".join(f"{column} = ?" for column in fields)
    return db.execute(
        f"UPDATE {table} SET {assignments} WHERE {key} = ?",  # noqa: S608 - our names
        [*fields.values(), value],
    ).rowcount


def move(
    db: Database,
    table: str,
    key: str,
    value,
    status: str,
    *,
    now: datetime,
    only_if: tuple[str, ...],
    stamp: str | None = None,
) -> bool:
    """Compare-and-set a row's status: of callers racing, exactly one moves it. ``stamp``
    names a column that takes ``now`` too (e.g. ``paid_at``)."""
    extra = f", {stamp} = ?" if stamp else ""
    sql = (
        f"UPDATE {table} SET status = ?, updated_at = ?{extra} WHERE {key} = ? "  # noqa: S608
        f"AND status IN ({', '.join('?' * len(only_if))})"
    )
    params = [status, iso(now), *([iso(now)] if stamp else []), value, *only_if]
    return db.execute(sql, params).rowcount == 1


class Rows(NamedTuple):
    """A result set: its column names and its rows (tuples, possibly still streaming)."""

    columns: list[str]
    rows: Iterable[tuple]


def rows(db: Database, sql: str, params=()) -> Rows:
    cursor = db.execute(sql, params)
    return Rows([c[0] for c in cursor.description], cursor)
