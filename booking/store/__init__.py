"""The only layer that speaks SQL: the desk's SQLite database through sqlite-utils."""

from booking.store.store import Store, finish_delivery, first, iso, parse_iso

__all__ = ["Store", "finish_delivery", "first", "iso", "parse_iso"]
