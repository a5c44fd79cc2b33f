"""Local analysts: book (or hold while the visitor pays) a slot in our own calendar, and
cancel it. The store checks and takes the slot in one transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from booking.desk.offers import slot_taken
from booking.domain import funnel
from booking.domain.catalogue import Analyst, MeetingType
from booking.domain.funnel import BookingStatus
from booking.domain.records import Booking, new_reference
from booking.domain.request import BookingRequest, Details
from booking.errors import NotBookable
from booking.mail import cancellation, confirmation
from booking.store import iso

if TYPE_CHECKING:
    from booking.desk import Desk


def pay_first(meeting: MeetingType) -> NotBookable:
    """The error for booking a priced session without paying."""
    return NotBookable(
        f"A {meeting.name} is paid before it is booked; please use Proceed to Pay "
        "on the booking page."
    )


class LocalBooking:
    """The journey of a free session with a local analyst, and what any local booking
    shares: taking a slot, releasing a hold, cancelling."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def book(self, request: BookingRequest) -> Booking:
        """Book a local analyst's free slot, or raise a BookingError saying why not.

        Every try is recorded on its attempt (a new one when none is given), a refusal as
        step ``booking_failed`` with the reason.
        """
        desk = self.desk
        attempt_id = desk.attempt_for(request.attempt_id, request.source, request.timezone)
        with desk.failure_recorded(attempt_id, funnel.BOOKING_FAILED):
            desk.limits.booking_try(request.client)
            who = desk.offers.local_analyst(request.analyst or "")
            meeting = who.meeting_type(request.meeting_type)
            if not meeting.is_free:
                raise pay_first(meeting)
            details, start, tz = desk.take_details(attempt_id, who, meeting, request)
            desk.offers.check_local_time(who, meeting, start, tz)  # may ask the feed: no lock
            self.close_lapsed(who, meeting, start)
            with desk.store.write():  # the limit, the slot and its confirmation: all or none
                desk.limits.per_email(details.email, who.slug, name=who.name, holding=False)
                reference = self.take_slot(attempt_id, who, meeting, details, start, tz, hold=False)
                return self.confirmed(reference)

    def confirmed(self, reference: str) -> Booking:
        """A newly confirmed local booking: the visitor's confirmation email (with a private
        manage link) is queued; the booking comes back with a manage token of its own for
        the visitor who just booked."""
        desk = self.desk
        booking = desk.booking(reference)
        desk.send(
            confirmation,
            booking,
            manage_url=desk.manage.url(reference, desk.manage.issue(reference)),
            organizer=desk.settings.mail_from,
        )
        return replace(booking, manage_token=desk.manage.issue(reference))

    def close_lapsed(self, who: Analyst, meeting: MeetingType, start: datetime) -> None:
        """Before taking a time, outside any transaction (it asks the payment provider):
        close the checkouts of holds on it that lapsed, so nobody pays for it after."""
        buffer = timedelta(minutes=who.buffer_minutes)
        end = start + timedelta(minutes=meeting.duration_minutes)
        self.desk.checkout.close_lapsed(who.slug, start - buffer, end + buffer)

    def take_slot(
        self,
        attempt_id: str,
        who: Analyst,
        meeting: MeetingType,
        details: Details,
        start: datetime,
        visitor_zone: ZoneInfo,
        *,
        hold: bool,
    ) -> str:
        """Book the slot (or, with ``hold``, hold it while the visitor pays) in one write
        transaction; returns the booking reference or raises if it is not free. The caller
        checks first that the analyst offers the time (``offers.check_local_time``, which may
        ask their calendar feed), before any transaction: no lock is held over the network."""
        desk = self.desk
        end = start + timedelta(minutes=meeting.duration_minutes)
        now = desk.clock()
        reference = new_reference()
        buffer = timedelta(minutes=who.buffer_minutes)
        until = now + timedelta(minutes=desk.settings.hold_minutes)
        inserted = desk.store.insert_booking_if_free(
            {
                "reference": reference,
                "attempt_id": attempt_id,
                "provider": "local",
                "analyst": who.slug,
                "meeting_type": meeting.id,
                "start_utc": iso(start),
                "end_utc": iso(end),
                "status": BookingStatus.HELD if hold else BookingStatus.CONFIRMED,
                "hold_expires_at": iso(until) if hold else None,
                "name": details.name,
                "email": details.email,
                "notes": details.notes,
                "visitor_tz": visitor_zone.key,
                "price": str(meeting.price),
                "currency": meeting.currency,
                "sequence": 0,
                "scheduled_at": iso(now),
            },
            clear_from=start - buffer,
            clear_to=end + buffer,
            now=now,
            attempt_id=None if hold else attempt_id,
            event_detail={"reference": reference},
        )
        if not inserted:
            raise slot_taken(start, visitor_zone)
        return reference

    def release(self, hold_ref: str) -> None:
        """Free a held slot (the visitor did not pay)."""
        self.desk.store.set_booking_status(
            hold_ref, BookingStatus.RELEASED, now=self.desk.clock(), only_if=(BookingStatus.HELD,)
        )

    def cancel(self, reference: str, *, reason: str = "", by: str = "visitor") -> Booking:
        """Cancel a local booking (the visitor, from their manage link). A paid one is
        marked refund due for the owner; the visitor gets a cancellation email whose
        invitation (METHOD:CANCEL, next SEQUENCE) takes it out of their calendar."""
        desk = self.desk
        booking = desk.booking(reference)
        if booking.analyst.provider != "local":
            raise NotBookable("Calendly bookings are cancelled on Calendly: use its link.")
        if not desk.diary.cancel(booking.reference, reason=reason, by=by, now=desk.clock()):
            return booking  # cancelled already
        self.after_cancel(booking.reference)
        return desk.booking(booking.reference)

    def after_cancel(self, reference: str) -> None:
        """What follows any cancellation (ours or Calendly's): the funnel step for local
        bookings, a refund due if it was paid, and the visitor's cancellation notice."""
        desk = self.desk
        row = desk.store.booking(reference)
        refund = False
        if row and row["attempt_id"]:
            if row["provider"] == "local":
                desk.store.add_event(
                    row["attempt_id"],
                    funnel.CANCELED,
                    now=desk.clock(),
                    detail={"reference": reference},
                )
            refund = desk.checkout.refund_paid(row["attempt_id"], reason="canceled")
        if row and (row["provider"] == "local" or desk.settings.calendly_confirmations):
            desk.send(
                cancellation,
                desk.booking(reference),
                book_url=desk.link("/"),
                refund_due=refund,
                organizer=desk.settings.mail_from,
                stamp=desk.clock(),
            )
