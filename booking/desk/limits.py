"""Limits for a desk on the public internet: what one client address may write or spend
per hour, and what one email address may hold. Counters live in the store, spent inside
a write transaction, so parallel requests cannot slip past a limit together."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from booking.domain.wording import describe_time
from booking.errors import TooManyRequests
from booking.store import bookings, limits
from booking.store.sql import parse_iso

if TYPE_CHECKING:
    from booking.desk import Desk

HOUR = 3600


class Limits:
    """Per-client and per-email limits; each raises TooManyRequests with a retry time."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def booking_try(self, client: str | None) -> None:
        """One booking try (a booking, a held time, a Calendly hand-off) by ``client``."""
        self._spend("book", client, self.desk.settings.limit_bookings_per_hour, "booking tries")

    def calendly_call(self, client: str | None) -> None:
        """One request by ``client`` that spends the business's Calendly quota."""
        limit = self.desk.settings.limit_calendly_per_hour
        self._spend("calendly", client, limit, "requests for Calendly's times and links")

    def _spend(self, bucket: str, client: str | None, limit: int, what: str) -> None:
        if not client or limit <= 0:
            return  # the desk's own jobs, or no limit set
        now = int(self.desk.clock().timestamp())
        window = now // HOUR
        with self.desk.store.write() as db:
            allowed = limits.spend(db, bucket, client, window=window, limit=limit)
        if not allowed:
            wait = (window + 1) * HOUR - now
            raise TooManyRequests(
                f"There have been too many {what} from your connection in the last hour. "
                f"Please try again in {max(1, round(wait / 60))} minutes.",
                retry_after=wait,
            )

    def per_email(self, email: str, analyst: str, *, name: str, holding: bool) -> None:
        """At most BOOKING_LIMIT_ACTIVE_PER_EMAIL upcoming bookings (and held times) per
        email with one analyst; with ``holding``, no second held time while one is held."""
        limit = self.desk.settings.limit_active_per_email
        if limit <= 0:
            return
        now = self.desk.clock()
        db = self.desk.store.db
        if holding and (held := bookings.live_hold_of(db, email, now=now)):
            until = parse_iso(held["hold_expires_at"])
            raise TooManyRequests(
                f"You are already holding {self._when(held)} while you pay. Please finish "
                "that payment, or book this time once the hold ends "
                f"({describe_time(until, self._zone(held))}).",
                retry_after=max(1, int((until - now).total_seconds())),
            )
        if bookings.standing_for(db, email, analyst, now=now) >= limit:
            raise TooManyRequests(
                f"{email} already has {limit} upcoming sessions with {name}. Please cancel "
                "one, or book again after one has taken place.",
                field="email",
                retry_after=HOUR,
            )

    def _zone(self, row: dict) -> ZoneInfo:
        return ZoneInfo(row["visitor_tz"] or "UTC")

    def _when(self, row: dict) -> str:
        return describe_time(parse_iso(row["start_utc"]), self._zone(row))
