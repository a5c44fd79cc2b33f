"""Limits for a desk on the public internet: what one client address may write or spend
per hour, and what one email address may hold. Counters live in the store, spent inside
a write transaction, so parallel requests cannot slip past a limit together."""

from __future__ import annotations

from typing import TYPE_CHECKING

from booking.domain.wording import how_long
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
                f"There have been too many {what} from your connection this hour. "
                f"Please try again in {how_long(wait)}.",
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
        # Whoever types an address may not be its owner: the refusals say that a limit
        # was reached, never which time is held or booked, nor the address itself.
        if holding and (held := bookings.live_hold_of(db, email, now=now)):
            wait = parse_iso(held["hold_expires_at"]) - now
            raise TooManyRequests(
                "A time is already being held for this email address while a payment is "
                "finished. Please finish that payment (or release the time) first, or try "
                f"again in {how_long(wait.total_seconds())}.",
                field="email",
                retry_after=max(1, int(wait.total_seconds())),
            )
        if bookings.standing_for(db, email, analyst, now=now) >= limit:
            raise TooManyRequests(
                f"This email address already has as many upcoming sessions with {name} as "
                f"we book for one person ({limit}). Please cancel one (the link is in its "
                "confirmation email), or book again after one has taken place.",
                field="email",
                retry_after=HOUR,
            )
