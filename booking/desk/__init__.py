"""The use cases: the only layer that composes the catalogue, the clock, the store and the
outside parties. One module per journey, each reached as an attribute of the ``Desk``:

    desk.submit(BookingRequest(...))  → Outcome: 'checkout' | 'redirect' | 'embed' | 'booked'
    desk.offers      meeting types and free times          (offers.py)
    desk.local       book / hold / cancel a local slot     (local.py)
    desk.manage      the visitor's private link: view, move, cancel  (manage.py)
    desk.reminders   reminder emails before meetings       (reminders.py)
    desk.handoff     Calendly: link, embed or direct       (handoff.py)
    desk.checkout    Proceed to Pay and its settling       (checkout.py)
    desk.calendly_sync  apply Calendly's changes, reconcile (calendly_sync.py)
    desk.inbox       Calendly and Stripe webhooks          (inbox.py)
    desk.followups   chasing incomplete attempts           (followups.py)
    desk.owner       sign-in, analytics, health            (owner.py)
    desk.privacy     erase, export, retention of personal data  (privacy.py)
    desk.limits      per-client and per-email limits       (limits.py)
    desk.signin      the owner's password sign-in, sessions (signin.py)

``build_desk(settings)`` (wiring.py) builds the whole desk; the edges never build parts.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from functools import cached_property

from booking.desk.calendly_sync import CalendlySync
from booking.desk.checkout import CheckoutJourney
from booking.desk.context import Context, Modes, system_clock
from booking.desk.followups import Followups
from booking.desk.handoff import Handoff
from booking.desk.inbox import Inbox
from booking.desk.limits import Limits
from booking.desk.local import LocalBooking
from booking.desk.manage import Manage
from booking.desk.offers import Offers
from booking.desk.owner import Owner
from booking.desk.privacy import Privacy
from booking.desk.reminders import Reminders
from booking.desk.signin import SignIn
from booking.domain.catalogue import MeetingType
from booking.domain.records import Booking, Outcome
from booking.domain.request import BookingRequest
from booking.errors import BookingError, NotFound
from booking.store import parse_iso
from booking.store.diary import Diary


class Desk(Context):
    """The booking desk: the wiring (``Context``) plus one attribute per journey."""

    @cached_property
    def offers(self) -> Offers:
        return Offers(self)

    @cached_property
    def local(self) -> LocalBooking:
        return LocalBooking(self)

    @cached_property
    def manage(self) -> Manage:
        return Manage(self)

    @cached_property
    def reminders(self) -> Reminders:
        return Reminders(self)

    @cached_property
    def diary(self) -> Diary:
        """The store's side of bookings after they are made (tokens, moves, reminders)."""
        return Diary(self.store)

    @cached_property
    def handoff(self) -> Handoff:
        return Handoff(self)

    @cached_property
    def checkout(self) -> CheckoutJourney:
        return CheckoutJourney(self)

    @cached_property
    def calendly_sync(self) -> CalendlySync:
        return CalendlySync(self)

    @cached_property
    def inbox(self) -> Inbox:
        return Inbox(self)

    @cached_property
    def followups(self) -> Followups:
        return Followups(self)

    @cached_property
    def owner(self) -> Owner:
        return Owner(self)

    @cached_property
    def privacy(self) -> Privacy:
        return Privacy(self)

    @cached_property
    def limits(self) -> Limits:
        return Limits(self)

    @cached_property
    def signin(self) -> SignIn:
        return SignIn(self)

    def submit(self, request: BookingRequest) -> Outcome:
        """Take a visitor's booking try the whole way the desk can: pay first for a priced
        session, else book a local slot or hand over to Calendly in the analyst's mode."""
        who = self.analyst(request.analyst or "")
        meeting = self.offers.meeting_type(who, request.meeting_type)
        attempt_id = self.attempt_for(request.attempt_id, request.source, request.timezone)
        if not meeting.is_free:
            url = self.checkout.start(replace(request, attempt_id=attempt_id))
            return Outcome("checkout", url=url, attempt_id=attempt_id)
        if who.provider == "calendly":
            return self.handoff.begin(replace(request, attempt_id=attempt_id))
        booking = self.local.book(replace(request, attempt_id=attempt_id))
        return Outcome(
            "booked",
            reference=booking.reference,
            attempt_id=attempt_id,
            manage_token=booking.manage_token,
        )

    def booking(self, reference: str) -> Booking:
        """A booking as a person reads it, or NotFound."""
        row = self.store.booking((reference or "").strip().upper())
        if row is None:
            raise NotFound(
                "We could not find a booking with that reference. Please check the link in "
                "your confirmation, or book again."
            )
        analyst = self.catalogue.get(row["analyst"])
        start, end = parse_iso(row["start_utc"]), parse_iso(row["end_utc"])
        try:
            meeting = self.offers.meeting_type(analyst, row["meeting_type"])
        except BookingError:  # a Calendly event type gone (or Calendly unreachable)
            minutes = int((end - start) / timedelta(minutes=1))
            meeting = MeetingType(
                id=row["meeting_type"] or "calendly",
                name="Session",
                duration_minutes=min(max(minutes, 5), 480),
            )
        return Booking(
            reference=row["reference"],
            analyst=analyst,
            meeting=meeting,
            start=start,
            end=end,
            status=row["status"],
            name=row["name"],
            email=row["email"],
            notes=row["notes"] or "",
            visitor_tz=row["visitor_tz"],
            created_at=parse_iso(row["created_at"]),
            cancel_url=row["cancel_url"] or "",
            reschedule_url=row["reschedule_url"] or "",
            sequence=row["sequence"] or 0,
            cancel_reason=row["cancel_reason"] or "",
        )


from booking.desk.wiring import build_desk, desk_for  # noqa: E402  (wiring builds Desks)

__all__ = ["BookingRequest", "Desk", "Modes", "Outcome", "build_desk", "desk_for", "system_clock"]
