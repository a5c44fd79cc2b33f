"""The ``bookings`` table: local occupancy (confirmed bookings and live holds) and the
bookings of Calendly invitees. Functions over an open ``Database``; the ``Store`` decides
the transaction."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from booking.domain.funnel import BookingStatus
from booking.store.sql import first, insert, iso, update

# What occupies a local analyst's time: confirmed bookings and holds not yet lapsed. The
# partial unique index ``bookings_occupancy`` backs this up inside the database.
# ``+status``: the status is checked on the analyst's rows, never searched by (an index
# on status would read every confirmed booking of every analyst before ``end``: 220 ms at
# 1,000,000 attempts, against 1.5 ms through the analyst's own times).
_OCCUPIED = (
    "SELECT start_utc, end_utc FROM bookings WHERE analyst = :analyst AND provider = 'local' "  # noqa: S608
    f"AND (+status = '{BookingStatus.CONFIRMED}' "
    f"OR (+status = '{BookingStatus.HELD}' AND hold_expires_at > :now)) "
    "AND start_utc < :end AND end_utc > :start"
)


def occupied(
    db: Database,
    analyst: str,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    limit: int | None = None,
    besides: str | None = None,
) -> list[tuple[str, str]]:
    """(start, end) of what occupies [start, end) for ``analyst``, except booking ``besides``."""
    sql = _OCCUPIED + (" AND reference != :ref" if besides else "")
    sql += f" LIMIT {int(limit)}" if limit else ""
    params = {"analyst": analyst, "now": iso(now), "start": iso(start), "end": iso(end)}
    return db.execute(sql, {**params, "ref": besides} if besides else params).fetchall()


def expire_holds(db: Database, analyst: str, *, now: datetime) -> None:
    """Mark ``analyst``'s lapsed holds expired."""
    db.execute(
        f"UPDATE bookings SET status = '{BookingStatus.EXPIRED}', updated_at = ? "  # noqa: S608
        f"WHERE analyst = ? AND status = '{BookingStatus.HELD}' AND hold_expires_at <= ?",
        [iso(now), analyst, iso(now)],
    )


def add(db: Database, row: dict) -> None:
    insert(db, "bookings", row)


def confirm(db: Database, reference: str, *, now: datetime) -> None:
    """A hold becomes a confirmed booking."""
    update(
        db,
        "bookings",
        "reference",
        reference,
        {"status": BookingStatus.CONFIRMED.value, "hold_expires_at": None, "updated_at": iso(now)},
    )


def change(db: Database, reference: str, fields: dict) -> None:
    update(db, "bookings", "reference", reference, fields)


def by_reference(db: Database, reference: str) -> dict | None:
    return first(db, "SELECT * FROM bookings WHERE reference = ?", [reference])


def by_invitee(db: Database, invitee_uri: str) -> dict | None:
    """The booking of a Calendly invitee URI (exact, through its unique index)."""
    return first(db, "SELECT * FROM bookings WHERE invitee_uri = ?", [invitee_uri])


def by_invitee_suffix(db: Database, suffix: str) -> dict | None:
    return first(
        db,
        "SELECT * FROM bookings WHERE invitee_uri LIKE ? ESCAPE '\\' LIMIT 1",
        ["%" + suffix.replace("%", "\\%").replace("_", "\\_")],
    )


def link_reschedule(db: Database, old_invitee: str, new_invitee: str) -> None:
    """The old invitee's booking points at the one that replaced it."""
    db.execute(
        "UPDATE bookings SET rescheduled_to = ? WHERE invitee_uri = ?", [new_invitee, old_invitee]
    )


def standing_for(db: Database, email: str, analyst: str, *, now: datetime) -> int:
    """Upcoming confirmed bookings and live holds of one email address with one analyst."""
    return db.execute(
        "SELECT count(*) FROM bookings WHERE analyst = ? AND lower(email) = lower(?) "  # noqa: S608
        f"AND end_utc > ? AND (status = '{BookingStatus.CONFIRMED}' "
        f"OR (status = '{BookingStatus.HELD}' AND hold_expires_at > ?))",
        [analyst, email, iso(now), iso(now)],
    ).fetchone()[0]


def live_hold_of(db: Database, email: str, *, now: datetime) -> dict | None:
    """A time this email address holds right now while paying, if any."""
    return first(
        db,
        f"SELECT * FROM bookings WHERE status = '{BookingStatus.HELD}' "  # noqa: S608
        "AND lower(email) = lower(?) AND hold_expires_at > ? ORDER BY hold_expires_at LIMIT 1",
        [email, iso(now)],
    )
