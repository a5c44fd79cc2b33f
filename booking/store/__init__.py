"""The only layer that speaks SQL: the desk's SQLite database through sqlite-utils."""

from booking.store.sql import first, iso, parse_iso
from booking.store.store import Store

__all__ = ["Store", "first", "iso", "parse_iso"]
