"""A booking's private manage link: see it, move it to another time, cancel it.

Each link carries a manage token (192 random bits; only its SHA-256 is stored), separate
from the booking's reference: a reference alone shows nothing personal and changes
nothing. A wrong token and an unknown reference get the same answer, so neither reveals
whether a booking exists.

A move takes the new time and releases the old in one transaction (the reference stays,
a paid booking keeps its payment, the invitation's SEQUENCE goes up); a cancellation goes
the same way as any local cancellation (refund due when paid).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from booking.desk.offers import slot_taken
from booking.domain.funnel import BookingStatus
from booking.domain.records import Booking, new_manage_token
from booking.domain.request import clean_text, in_utc, zone
from booking.domain.slots import Interval, group_by_day
from booking.errors import InvalidInput, NotBookable, NotFound
from booking.mail import rescheduled, when
from booking.mail.ics import booking_ics

if TYPE_CHECKING:
    from booking.desk import Desk

MAX_REASON = 500
NOT_YOURS = (
    "We could not find a booking for that link. Please open the link in your confirmation "
    "email again, or book a new time."
)


class Manage:
    """What the holder of a booking's manage link can do."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    # -- the key ---------------------------------------------------------------------------
    def issue(self, reference: str) -> str:
        """A new manage token for a booking (kept hashed); each email gets its own."""
        token = new_manage_token()
        self.desk.diary.add_token(reference, token, now=self.desk.clock())
        return token

    def url(self, reference: str, token: str) -> str:
        """The private manage page of a booking."""
        return self.desk.link("/manage?" + urlencode({"ref": reference, "token": token}))

    def open(self, reference: str | None, token: str | None) -> Booking:
        """The booking this reference and token open together, or NotFound (the same
        answer for a wrong token and for a reference that does not exist)."""
        reference = (reference or "").strip().upper()
        found = self.desk.diary.reference_of(token or "") if token else None
        if not reference or found != reference:
            raise NotFound(NOT_YOURS)
        return self.desk.booking(reference)

    # -- the invitation --------------------------------------------------------------------
    def ics(self, booking: Booking, *, manage_url: str = "") -> bytes:
        """The booking's invitation as it stands now (REQUEST, or CANCEL once cancelled)."""
        return booking_ics(
            booking,
            brand=self.desk.brand,
            stamp=self.desk.clock(),
            organizer=self.desk.settings.mail_from,
            manage_url=manage_url,
        )

    # -- moving ----------------------------------------------------------------------------
    def _movable(self, booking: Booking) -> None:
        if booking.analyst.provider != "local":
            raise NotBookable(
                "This booking was made on Calendly; please change it with the links in "
                "Calendly's email."
            )
        if booking.status != BookingStatus.CONFIRMED:
            raise NotBookable("This booking is cancelled; please book a new time instead.")
        if booking.start <= self.desk.clock():
            raise NotBookable("This session has already started, so it can no longer be changed.")

    def times(self, booking: Booking, tz: ZoneInfo) -> dict[date, list[Interval]]:
        """The times this booking could move to (same analyst and meeting type), by the
        visitor's date; its own time does not stand in its way."""
        self._movable(booking)
        who, now = booking.analyst, self.desk.clock()
        slots = self.desk.offers.local_slots(
            who,
            booking.meeting,
            now,
            now + timedelta(days=who.horizon_days),
            besides=Interval(booking.start, booking.end),
        )
        return group_by_day(slots, tz)

    def reschedule(
        self, reference: str | None, token: str | None, start: datetime, timezone: str
    ) -> Booking:
        """Move the booking to ``start`` (a time its analyst offers for its meeting type):
        the new time is taken and the old one released in one transaction. SlotTaken when
        someone has that time, SlotUnavailable when it is not offered at all."""
        booking = self.open(reference, token)
        tz = zone(timezone)
        start = in_utc(start)
        self._movable(booking)
        if start == booking.start:
            return booking
        desk, who, meeting = self.desk, booking.analyst, booking.meeting
        desk.offers.check_local_time(who, meeting, start, tz)
        desk.local.close_lapsed(who, meeting, start)
        end = start + timedelta(minutes=meeting.duration_minutes)
        buffer = timedelta(minutes=who.buffer_minutes)
        result = desk.diary.move(
            booking.reference,
            start=start,
            end=end,
            clear_from=start - buffer,
            clear_to=end + buffer,
            now=desk.clock(),
        )
        if result == "taken":
            raise slot_taken(start, tz)
        if result == "gone":
            raise NotBookable("This booking was cancelled meanwhile; please book a new time.")
        moved = desk.booking(booking.reference)
        desk.send(
            rescheduled,
            moved,
            manage_url=self.url(moved.reference, self.issue(moved.reference)),
            previous=when(booking),
            organizer=desk.settings.mail_from,
            stamp=desk.clock(),
        )
        return moved

    def cancel(self, reference: str | None, token: str | None, reason: str = "") -> Booking:
        """Cancel the booking (with the visitor's optional reason); cancelling twice is
        harmless. A paid booking is marked refund due."""
        booking = self.open(reference, token)
        reason = " ".join(clean_text(reason, field="reason", label="reason").split())
        if len(reason) > MAX_REASON:
            raise InvalidInput(
                f"Please keep the reason under {MAX_REASON} characters.", field="reason"
            )
        if booking.status == BookingStatus.CANCELED:
            return booking
        self._movable(booking)
        return self.desk.local.cancel(booking.reference, reason=reason, by="visitor")
