"""Calendly analysts: check the time with Calendly, then hand the visitor over in the
analyst's mode — a pre-filled single-use link to open ('redirect') or to embed ('embed'),
or booked at once through Calendly's Scheduling API ('direct', falling back to the link)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from booking.calendly.links import prefill_url
from booking.calendly.questions import BookingForm
from booking.desk.direct import DirectBooking
from booking.desk.local import pay_first
from booking.domain import funnel
from booking.domain.catalogue import Analyst, MeetingType
from booking.domain.records import Outcome
from booking.domain.request import BookingRequest, Details, zone
from booking.errors import BookingError, CalendlyUnavailable, NotBookable, NotFound
from booking.store import parse_iso

if TYPE_CHECKING:
    from booking.desk import Desk


class Handoff:
    """The journey of a Calendly session, from the visitor's details to Calendly."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    @cached_property
    def direct(self) -> DirectBooking:
        """The Scheduling API path ('direct' mode)."""
        return DirectBooking(self.desk, self)

    def form_for(self, analyst: Analyst, meeting_id: str) -> BookingForm | None:
        """What the details form must also ask for this type (direct mode), or None."""
        return self.direct.form_for(analyst, meeting_id)

    def begin(self, request: BookingRequest) -> Outcome:
        """The booking page's way on for a free Calendly session, in the analyst's mode."""
        attempt_id = self.desk.attempt_for(request.attempt_id, request.source, request.timezone)
        self.prepare(request, attempt_id)
        return self.resume(self.desk.store.attempt(attempt_id))

    def link_for(self, request: BookingRequest) -> str:
        """The seed's contract: check the time and return a fresh pre-filled single-use link
        (whatever the analyst's mode). Every outcome is recorded on the attempt."""
        attempt_id = self.desk.attempt_for(request.attempt_id, request.source, request.timezone)
        _, meeting, details, start, tz = self.prepare(request, attempt_id)
        with self.desk.failure_recorded(attempt_id, funnel.HANDOFF_FAILED):
            return self.new_link(attempt_id, meeting.id, details, start, tz)

    def seed_link(self, request: BookingRequest) -> tuple[str, bool]:
        """The seed's contract (``POST /api/calendly/create-booking``): where the visitor
        must go next, and whether that is a checkout — for a priced type the checkout
        (which continues to Calendly in the analyst's mode once paid), else a fresh
        pre-filled single-use link."""
        desk = self.desk
        attempt_id = desk.attempt_for(request.attempt_id, request.source, request.timezone)
        request = replace(request, attempt_id=attempt_id)
        with desk.failure_recorded(attempt_id, funnel.HANDOFF_FAILED):
            who = desk.offers.calendly_analyst_for(request.meeting_type)
            meeting = desk.offers.meeting_type(who, request.meeting_type)
        request = replace(request, analyst=who.slug)  # found once, not again in prepare
        if meeting.is_free:
            return self.link_for(request), False
        return desk.checkout.start(request), True

    def prepare(
        self, request: BookingRequest, attempt_id: str
    ) -> tuple[Analyst, MeetingType, Details, datetime, ZoneInfo]:
        """Check the analyst, the details and that Calendly offers the time right now; note
        the details on the attempt. A priced type must be paid first. Counts against the
        client's limits: a hand-off spends the business's Calendly quota."""
        desk = self.desk
        with desk.failure_recorded(attempt_id, funnel.HANDOFF_FAILED):
            desk.limits.booking_try(request.client)  # a link or a direct booking will follow
            desk.limits.calendly_call(request.client)
            offers = desk.offers
            who = (
                desk.analyst(request.analyst)
                if request.analyst
                else offers.calendly_analyst_for(request.meeting_type)
            )
            if who.provider != "calendly":
                raise NotBookable(f"{who.name} is booked on this site, not through Calendly.")
            meeting = offers.meeting_type(who, request.meeting_type)
            details, start, tz = desk.take_details(attempt_id, who, meeting, request)
            self.direct.take_answers(attempt_id, who, meeting, request)
            offers.check_calendly_time(who, meeting, start, tz)
            if not meeting.is_free:
                raise pay_first(meeting)
        return who, meeting, details, start, tz

    def resume(self, attempt: dict) -> Outcome:
        """Book or hand off an attempt whose details (and payment) are in; repeatable."""
        who = self.desk.analyst(attempt["analyst"])
        kind = "embed" if who.handoff == "embed" else "redirect"
        attempt_id = attempt["id"]
        if attempt["booking_ref"]:
            return Outcome("booked", reference=attempt["booking_ref"], attempt_id=attempt_id)
        if attempt["handoff_url"]:
            return Outcome(kind, url=attempt["handoff_url"], attempt_id=attempt_id)
        if who.handoff == "direct":
            return self.direct.book(attempt)
        with self.desk.failure_recorded(attempt_id, funnel.HANDOFF_FAILED):
            url = self.new_link(
                attempt_id,
                attempt["meeting_type"],
                Details.of(attempt),
                parse_iso(attempt["slot_start"]),
                zone(attempt["visitor_tz"]),
            )
        return Outcome(kind, url=url, attempt_id=attempt_id)

    def new_link(
        self,
        attempt_id: str,
        event_type: str,
        details: Details,
        start: datetime,
        visitor_zone: ZoneInfo,
        *,
        handoff: bool = True,
    ) -> str:
        """A fresh single-use link for the attempt, pre-filled and opening on the day of
        ``start``, kept on the attempt; ``handoff`` records it as the funnel's link step
        (a follow-up's fresh link is recorded as the follow-up instead)."""
        desk = self.desk
        link = desk.offers.calendly().create_scheduling_link(event_type)
        try:  # the notes pre-fill the first free-text question, whatever its number
            notes_key = desk.offers.booking_form(event_type).notes_prefill_key
        except BookingError:
            notes_key = "a1"
        url = prefill_url(
            link,
            name=details.name,
            email=details.email,
            notes=details.notes,
            notes_key=notes_key,
            attempt_id=attempt_id,
            day=start.astimezone(visitor_zone).date(),
        )
        if not desk.modes.may_redirect_to(url):
            raise CalendlyUnavailable(
                "Calendly sent a booking link we do not trust, so we stopped. "
                "Please try again in a minute."
            )
        now = desk.clock()
        with desk.store.write():
            if handoff:
                desk.store.update_attempt(
                    attempt_id, now=now, handoff_url=url, status="link_created"
                )
                desk.store.add_event(
                    attempt_id, funnel.LINK_CREATED, now=now, detail={"event_type": event_type}
                )
            else:
                desk.store.update_attempt(attempt_id, now=now, handoff_url=url)
        return url

    # -- the embed page and the way back from Calendly ------------------------------------
    def embed_link(self, attempt_id: str) -> dict:
        """The attempt's single-use link and state, for the embed page."""
        attempt = self.desk.store.attempt(attempt_id or "")
        if attempt is None or not attempt["handoff_url"]:
            raise NotFound("This scheduling link is not known. Please start again.")
        return attempt

    def note_embed_event(self, attempt_id: str, event: str, invitee_uri: str | None) -> None:
        """Record what Calendly's embed reported (a browser's hint; the webhook confirms)."""
        step = funnel.EMBED_STEPS.get(event)
        if step and self.desk.store.attempt(attempt_id):
            detail = {"invitee": invitee_uri} if invitee_uri else None
            self.desk.store.add_event(attempt_id, step, now=self.desk.clock(), detail=detail)

    def note_return(self, details: dict[str, str]) -> None:
        """Record that a visitor came back from Calendly (their attempt is in utm_content)."""
        attempt_id = details.get("utm_content", "")
        if attempt_id.startswith("att_") and self.desk.store.attempt(attempt_id):
            self.desk.store.add_event(attempt_id, funnel.RETURNED, now=self.desk.clock())
