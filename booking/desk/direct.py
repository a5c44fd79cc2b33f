"""Booking a Calendly session directly, through Calendly's Scheduling API (``POST /invitees``).

Calendly wants what its own booking page would have asked: the location the event type
declares and an answer to every required question (``calendly.questions``). The details
form asks for them (``form_for``), ``take_answers`` checks and keeps them on the attempt,
and ``book`` sends them. Whatever happens, the visitor is left with a booking, a link that
lets them book, or (paid, and their time taken meanwhile) a refund marked due:

- a time taken meanwhile is refused (paid: refund due), and fresh times are fetched;
- no answer (5xx, a timeout) may hide a booking that was made: Calendly is asked for the
  invitee (that type at that start, carrying our ``utm_content``) before anything else;
- any other refusal (a location or question Calendly would not take, a rate limit, a
  token or plan without the Scheduling API) falls back to the pre-filled single-use link,
  recorded on the attempt with the reason.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from booking.calendly import webhooks
from booking.calendly.questions import BookingForm
from booking.desk.checkout import refunded
from booking.desk.offers import slot_taken
from booking.domain import funnel
from booking.domain.catalogue import Analyst, MeetingType
from booking.domain.records import Outcome
from booking.domain.request import BookingRequest, Details, zone
from booking.errors import BookingError, CalendlyError, CalendlyUnavailable, SlotTaken
from booking.store import calendly as records
from booking.store import parse_iso

if TYPE_CHECKING:
    from booking.desk import Desk
    from booking.desk.handoff import Handoff

log = logging.getLogger(__name__)


class DirectBooking:
    """The Scheduling API path of the Calendly hand-off."""

    def __init__(self, desk: Desk, handoff: Handoff) -> None:
        self.desk = desk
        self.handoff = handoff

    # -- the details form ------------------------------------------------------------------
    def form_for(self, analyst: Analyst, meeting_id: str) -> BookingForm | None:
        """What the details form must ask to book this type directly: None unless the
        analyst books directly and the type can be booked so (else the link asks)."""
        if analyst.provider != "calendly" or analyst.handoff != "direct":
            return None
        form = self.desk.offers.booking_form(meeting_id)
        return None if form.blocked else form

    def take_answers(
        self, attempt_id: str, who: Analyst, meeting: MeetingType, request: BookingRequest
    ) -> None:
        """Check the answers a direct booking needs (InvalidInput naming the field) and keep
        them on the attempt, before any payment. The JSON API's requests carry no answers:
        for them the booking falls back to the link, whose page asks."""
        form = self.form_for(who, meeting.id)
        if form is None or request.source == "api":
            return
        answers = form.check(dict(request.answers), request.notes or "")
        with self.desk.store.write() as db:
            records.keep_answers(db, attempt_id, answers)

    # -- booking ---------------------------------------------------------------------------
    def book(self, attempt: dict) -> Outcome:
        """Book the attempt's time through ``POST /invitees`` (see the module docstring)."""
        desk = self.desk
        attempt_id, event_type = attempt["id"], attempt["meeting_type"]
        start, visitor_zone = parse_iso(attempt["slot_start"]), zone(attempt["visitor_tz"])
        notes = attempt["notes"] or ""
        try:
            form = desk.offers.booking_form(event_type)
            if form.blocked:
                return self.fall_back(attempt, "not_askable", form.blocked)
            answers = form.check(records.answers(desk.store.db, attempt_id), notes)
        except BookingError as exc:  # the type changed since the form asked, or unreadable
            return self.fall_back(attempt, exc.code, str(exc))
        try:
            invitee = desk.offers.calendly().create_invitee(
                event_type,
                start=start,
                name=attempt["name"],
                email=attempt["email"],
                timezone=visitor_zone.key,
                attempt_id=attempt_id,
                location=form.location(answers),
                questions_and_answers=form.questions_and_answers(answers, notes),
            )
        except SlotTaken as exc:
            raise self._taken(attempt, exc, start) from exc
        except CalendlyUnavailable as exc:  # no answer: the booking may exist all the same
            invitee = self.find_booked(attempt, start)
            if invitee is None:
                return self.fall_back(attempt, exc.code, str(exc))
            log.warning("direct booking of %s was made although Calendly failed", attempt_id)
        except CalendlyError as exc:  # refused, rate limited, not on the token or plan
            return self.fall_back(attempt, exc.code, str(exc))
        return self._booked(attempt, invitee, start)

    def _taken(self, attempt: dict, exc: SlotTaken, start: datetime) -> BookingError:
        """Someone else took the time: fresh times, the step recorded, and for a paid
        attempt a refund marked due; returns the error the visitor reads."""
        desk, attempt_id = self.desk, attempt["id"]
        desk.offers.forget_availability(attempt["meeting_type"])
        desk.store.add_event(
            attempt_id, funnel.BOOKING_FAILED, now=desk.clock(), detail={"reason": exc.code}
        )
        paid = [p for p in desk.store.payments_of(attempt_id) if p["status"] == "paid"]
        if paid and desk.checkout.refund_paid(attempt_id, reason="slot_taken"):
            return refunded(paid[0])
        return slot_taken(start, zone(attempt["visitor_tz"]))

    def fall_back(self, attempt: dict, reason: str, detail: str = "") -> Outcome:
        """The pre-filled single-use link instead, with why recorded on the attempt."""
        desk, attempt_id = self.desk, attempt["id"]
        log.warning("direct booking of %s fell back to a link: %s %s", attempt_id, reason, detail)
        desk.store.add_event(
            attempt_id,
            funnel.DIRECT_FALLBACK,
            now=desk.clock(),
            detail={"reason": reason, "detail": detail[:300]},
        )
        with desk.failure_recorded(attempt_id, funnel.HANDOFF_FAILED):
            url = self.handoff.new_link(
                attempt_id,
                attempt["meeting_type"],
                Details.of(attempt),
                parse_iso(attempt["slot_start"]),
                zone(attempt["visitor_tz"]),
            )
        return Outcome("redirect", url=url, attempt_id=attempt_id)

    def find_booked(self, attempt: dict, start: datetime) -> dict | None:
        """The invitee Calendly made for this attempt (that type, at that start, carrying
        our ``utm_content``), with its scheduled event; None if there is none (or Calendly
        cannot say)."""
        desk = self.desk
        try:
            client = desk.offers.calendly()
            user = desk.offers.calendly_user()
            events = client.scheduled_events(
                user["uri"],
                min_start=start,
                max_start=start + timedelta(seconds=1),
                status="active",
            )
            for event in events:
                if event.get("event_type") != attempt["meeting_type"]:
                    continue
                for invitee in client.invitees(event["uri"]):
                    tracking = invitee.get("tracking") or {}
                    if tracking.get("utm_content") == attempt["id"]:
                        return {**invitee, "scheduled_event": event}
        except BookingError as exc:
            log.warning("could not look for the booking of %s: %s", attempt["id"], exc)
        return None

    def _booked(self, attempt: dict, invitee: dict, start: datetime) -> Outcome:
        """Apply the new invitee through the path its webhook takes (a no-op repeat when
        the webhook comes); the visitor is booked."""
        desk, attempt_id, event_type = self.desk, attempt["id"], attempt["meeting_type"]
        meeting = desk.offers.meeting_type(desk.analyst(attempt["analyst"]), event_type)
        payload = {
            **invitee,
            "tracking": {**(invitee.get("tracking") or {}), "utm_content": attempt_id},
            "scheduled_event": invitee.get("scheduled_event")
            or {
                "uri": invitee.get("event"),
                "event_type": event_type,
                "name": meeting.name,
                "start_time": start.isoformat(),
                "end_time": (start + timedelta(minutes=meeting.duration_minutes)).isoformat(),
            },
        }
        desk.calendly_sync.apply(webhooks.Delivery(webhooks.CREATED, desk.clock(), payload))
        reference = desk.store.attempt(attempt_id)["booking_ref"]
        return Outcome("booked", reference=reference, attempt_id=attempt_id)
