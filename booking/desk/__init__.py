"""Use-cases: the only place that composes the catalogue, the clock and the store."""

from __future__ import annotations

import functools
import hmac
import logging
import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from email_validator import EmailNotValidError, validate_email

from booking import analytics, demo, mail
from booking.cache import TTLCache
from booking.calendly import webhooks
from booking.calendly.client import (
    WINDOW,
    CalendlyClient,
    SchedulingApiUnavailable,
    is_calendly_host,
    parse_calendly_time,
    prefill_url,
    same_origin,
)
from booking.calendly.sandbox import CalendlySandbox
from booking.domain import funnel
from booking.domain.catalogue import Analyst, Catalogue, MeetingType
from booking.domain.slots import Interval, free_slots, group_by_day
from booking.domain.wording import describe_time, money
from booking.errors import (
    BookingError,
    CalendlyRateLimited,
    CalendlyUnavailable,
    InvalidInput,
    NotBookable,
    NotFound,
    SlotTaken,
    SlotUnavailable,
)
from booking.payments.sandbox import SESSION_PLACEHOLDER, PaymentProvider, SandboxCheckout
from booking.payments.stripe import StripeCheckout
from booking.settings import Settings
from booking.signatures import SignatureError, verify
from booking.store import Store, iso, parse_iso

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
MAX_NAME = 100
MAX_NOTES = 2000
_SECOND = timedelta(seconds=1)
_REF_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L


def system_clock() -> datetime:
    return datetime.now(UTC)


def new_attempt_id() -> str:
    return "att_" + secrets.token_urlsafe(16)


def new_reference() -> str:
    chars = "".join(secrets.choice(_REF_ALPHABET) for _ in range(12))
    return f"BD-{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def zone(name: str | None, *, field: str = "timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name or "")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            f"{name!r} is not a time zone we know; use an IANA name such as Europe/London.",
            field=field,
        ) from exc


def pay_first(meeting: MeetingType) -> NotBookable:
    """The error for booking a priced session without paying."""
    return NotBookable(
        f"A {meeting.name} is paid before it is booked; please use Proceed to Pay "
        "on the booking page."
    )


def refunded(payment: dict) -> SlotTaken:
    """The error for a payment that arrived after its time was taken."""
    return SlotTaken(
        "The time you paid for was taken before your payment came through. Your payment of "
        f"{money(payment['amount'], payment['currency'])} will be refunded in full; please "
        "pick another time."
    )


def slot_taken(start: datetime, tz: ZoneInfo) -> SlotTaken:
    """The error for a time someone else took first, worded in the visitor's zone."""
    return SlotTaken(
        f"{describe_time(start, tz)} was just taken by someone else; please pick another time.",
        field="startTime",
    )


@dataclass(frozen=True)
class Details:
    """What the visitor typed, checked and normalised."""

    name: str
    email: str
    notes: str

    @classmethod
    def of(cls, attempt: dict) -> Details:
        """The details already checked and kept on an attempt."""
        return cls(attempt["name"], attempt["email"], attempt["notes"] or "")


def check_details(name: str | None, email: str | None, notes: str | None) -> Details:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("Please tell us your name.", field="name")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"Please shorten your name to {MAX_NAME} characters.", field="name")
    email = (email or "").strip()
    if not email:
        raise InvalidInput("Please give an email address for the confirmation.", field="email")
    try:
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidInput(f"That email address is not valid: {exc}", field="email") from exc
    notes = (notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise InvalidInput(
            f"Notes can be at most {MAX_NOTES:,} characters; yours are {len(notes):,}.",
            field="notes",
        )
    return Details(name, email, notes)


@dataclass(frozen=True)
class Outcome:
    """Where an attempt stands: 'booked' (reference), 'redirect' (url to open), 'embed'
    (url to show inline), 'pending' (the payment is not confirmed yet) or 'expired' (the
    checkout lapsed)."""

    kind: str
    reference: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Booking:
    reference: str
    analyst: Analyst
    meeting: MeetingType
    start: datetime
    end: datetime
    status: str
    name: str
    email: str
    notes: str
    visitor_tz: str
    created_at: datetime
    cancel_url: str = ""  # Calendly bookings: Calendly's own links
    reschedule_url: str = ""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.visitor_tz)


@dataclass
class Desk:
    """The booking desk: everything the pages, the API and the CLI can ask for."""

    settings: Settings
    catalogue: Catalogue
    store: Store
    clock: Clock = system_clock
    calendly: CalendlyClient | None = None
    sandbox: CalendlySandbox | None = None
    payments: PaymentProvider | None = None
    checkout_sandbox: SandboxCheckout | None = None
    stripe: StripeCheckout | None = None
    mail_transport: mail.SmtpTransport | None = None
    availability_cache: TTLCache = field(default_factory=lambda: TTLCache(60))
    catalogue_cache: TTLCache = field(default_factory=lambda: TTLCache(300))

    @contextmanager
    def _failure_recorded(self, attempt_id: str, step: str) -> Iterator[None]:
        """Record a BookingError raised inside as funnel ``step`` (with its reason), then
        let it go on to the caller."""
        try:
            yield
        except BookingError as exc:
            self.store.add_event(attempt_id, step, now=self.clock(), detail={"reason": exc.code})
            raise

    def link(self, path: str) -> str:
        """An address on this desk, e.g. ``link("/paid?attempt=…")``."""
        return self.settings.public_url.rstrip("/") + path

    # -- catalogue -----------------------------------------------------------------
    def analyst(self, slug: str) -> Analyst:
        return self.catalogue.get(slug)

    def local_analyst(self, slug: str) -> Analyst:
        analyst = self.analyst(slug)
        if analyst.provider != "local":
            raise NotBookable(
                f"{analyst.name} is booked through Calendly, not here; please use the "
                "Calendly hand-off (POST /api/calendly/create-booking)."
            )
        return analyst

    def _calendly(self) -> CalendlyClient:
        if self.calendly is None:
            raise NotBookable("Booking through Calendly is not set up on this desk.")
        return self.calendly

    def meeting_types(self, analyst: Analyst) -> tuple[MeetingType, ...]:
        """What the analyst offers: the catalogue's types, or Calendly's active event types."""
        if analyst.provider == "local":
            return analyst.meeting_types
        client = self._calendly()
        user = self.catalogue_cache.get("calendly-user", client.me)
        event_types = self.catalogue_cache.get(
            ("event-types", user["uri"]), lambda: client.event_types(user["uri"])
        )
        return tuple(
            MeetingType(
                id=et["uri"],
                name=et["name"],
                duration_minutes=et["duration"],
                price=analyst.prices.get(et.get("slug", ""), 0),
                currency=analyst.currency,
                description=et.get("description_plain") or "",
            )
            for et in event_types
            if et.get("active", True)
        )

    def meeting_type(self, analyst: Analyst, meeting_id: str) -> MeetingType:
        if analyst.provider == "local":
            return analyst.meeting_type(meeting_id)
        for meeting in self.meeting_types(analyst):
            if meeting.id == meeting_id:
                return meeting
        raise NotFound(f"{analyst.name} no longer offers that meeting type; please pick another.")

    # -- attempts and funnel -------------------------------------------------------
    def start_attempt(self, *, source: str = "web", visitor_tz: str | None = None) -> str:
        attempt_id = new_attempt_id()
        self.store.create_attempt(
            attempt_id, now=self.clock(), source=source, visitor_tz=visitor_tz
        )
        return attempt_id

    def record(
        self, attempt_id: str, step: str, *, attempt_fields: dict | None = None, **detail
    ) -> None:
        """Append a funnel event, and optionally note what the visitor chose on the attempt."""
        now = self.clock()
        if attempt_fields:
            self.store.update_attempt(attempt_id, now=now, **attempt_fields)
        self.store.add_event(attempt_id, step, now=now, detail=detail or None)

    # -- availability --------------------------------------------------------------
    def slots(self, slug: str, meeting_id: str, start: datetime, end: datetime) -> list[Interval]:
        """Free slots starting in [start, end), from our calendar or from Calendly."""
        analyst = self.analyst(slug)
        meeting = self.meeting_type(analyst, meeting_id)
        if analyst.provider == "calendly":
            return self._calendly_slots(meeting, start, end)
        now = self.clock()
        pad = timedelta(minutes=analyst.buffer_minutes + meeting.duration_minutes)
        busy = self.store.busy(slug, start - pad, end + pad, now=now)
        return free_slots(analyst, meeting, busy, now=now, start=start, end=end)

    def _calendly_slots(
        self,
        meeting: MeetingType,
        start: datetime,
        end: datetime | None,
        *,
        days: int = WINDOW.days,
    ) -> list[Interval]:
        """Calendly's free times in [start, end), shared by all visitors for one TTL.

        The next ``days`` days come from one shared load (one call per 31 days) and serve
        every request that ends inside them (``end=None``: as far as they reach); other
        ranges are cached by their bounds.
        """
        client = self._calendly()
        length = timedelta(minutes=meeting.duration_minutes)

        def load(first: datetime, last: datetime) -> tuple[datetime, list[Interval]]:
            times = client.available_times(meeting.id, first, last)
            starts = (parse_calendly_time(x["start_time"]) for x in times)
            return last, [Interval(t, t + length) for t in starts]

        now = self.clock()
        reach, slots = self.availability_cache.get(
            ("ahead", meeting.id, days), lambda: load(now, now + timedelta(days=days))
        )
        end = reach if end is None else end
        if end > reach:
            _, slots = self.availability_cache.get(
                ("range", meeting.id, start, end), lambda: load(start, end)
            )
        return [s for s in slots if start <= s.start < end and s.start > now]

    def forget_availability(self, meeting_id: str) -> None:
        """Drop cached Calendly times of an event type (after a booking took one)."""
        self.availability_cache.invalidate(lambda key: key[1] == meeting_id)

    def slots_between_dates(
        self, slug: str, meeting_id: str, first: date, last: date, tz: ZoneInfo
    ) -> list[Interval]:
        """Free slots on the visitor's calendar dates first..last (inclusive)."""
        if last < first:
            raise InvalidInput("The end date is before the start date.", field="end")
        if (last - first).days > 366:
            raise InvalidInput("Ask for at most a year of availability at once.", field="end")
        start = datetime.combine(first, time(0), tzinfo=tz)
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
        return self.slots(slug, meeting_id, start, end)

    def open_days(
        self, slug: str, meeting_id: str, tz: ZoneInfo, *, later: bool = False
    ) -> dict[date, list[Interval]]:
        """Every visitor-local date ahead with a free slot, with its slots.

        Local analysts: up to their horizon. Calendly analysts: the month ahead (one call),
        or with ``later`` up to their horizon (one call per further 31 days).
        """
        analyst = self.analyst(slug)
        now = self.clock()
        if analyst.provider == "calendly":
            meeting = self.meeting_type(analyst, meeting_id)
            days = max(analyst.horizon_days, WINDOW.days) if later else WINDOW.days
            return group_by_day(self._calendly_slots(meeting, now, None, days=days), tz)
        return group_by_day(
            self.slots(slug, meeting_id, now, now + timedelta(days=analyst.horizon_days)), tz
        )

    # -- booking -------------------------------------------------------------------
    def _attempt_for(self, attempt_id: str | None, source: str, timezone: str) -> str:
        if attempt_id is None:
            attempt_id = new_attempt_id()
            self.store.create_attempt(
                attempt_id, now=self.clock(), source=source, visitor_tz=timezone
            )
        return attempt_id

    def _take_details(
        self,
        attempt_id: str,
        who: Analyst,
        meeting: MeetingType,
        start: datetime,
        *,
        name: str,
        email: str,
        notes: str,
        timezone: str,
    ) -> tuple[Details, datetime, ZoneInfo]:
        """Check what the visitor sent and note it on the attempt (step details_submitted).

        Returns the normalised details, the start in UTC and the visitor's zone.
        """
        visitor_zone = zone(timezone)
        details = check_details(name, email, notes)
        if start.tzinfo is None:
            raise InvalidInput("The start time needs a UTC offset, e.g. +00:00.", field="startTime")
        start = start.astimezone(UTC)
        now = self.clock()
        self.store.update_attempt(
            attempt_id,
            now=now,
            analyst=who.slug,
            meeting_type=meeting.id,
            provider=who.provider,
            slot_start=iso(start),
            name=details.name,
            email=details.email,
            notes=details.notes,
            visitor_tz=timezone,
        )
        self.store.add_event(attempt_id, funnel.DETAILS_SUBMITTED, now=now)
        return details, start, visitor_zone

    def _not_offered(self, start: datetime, tz: ZoneInfo, who: Analyst, meeting: MeetingType):
        return SlotUnavailable(
            f"{describe_time(start, tz)} is not a time {who.name} offers for a "
            f"{meeting.name}. Please pick one of the times shown.",
            field="startTime",
        )

    def book_local(
        self,
        *,
        analyst: str,
        meeting_type: str,
        start: datetime,
        name: str,
        email: str,
        notes: str = "",
        timezone: str,
        attempt_id: str | None = None,
    ) -> Booking:
        """Book a local analyst's slot, or raise a BookingError saying why not.

        Every try is recorded on its attempt (a new one, source "api", when none is given),
        a refusal as step ``booking_failed`` with the reason.
        """
        attempt_id = self._attempt_for(attempt_id, "api", timezone)
        with self._failure_recorded(attempt_id, funnel.BOOKING_FAILED):
            who = self.local_analyst(analyst)
            meeting = who.meeting_type(meeting_type)
            if not meeting.is_free:
                raise pay_first(meeting)
            details, start, visitor_zone = self._take_details(
                attempt_id,
                who,
                meeting,
                start,
                name=name,
                email=email,
                notes=notes,
                timezone=timezone,
            )
            reference = self._take_local_slot(
                attempt_id, who, meeting, details, start, visitor_zone, hold=False
            )
        booking = self.booking(reference)
        self._send(mail.confirmation, booking, manage_url=self.manage_url(booking))
        return booking

    def _take_local_slot(
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
        transaction; returns the booking reference or raises if it is not free."""
        end = start + timedelta(minutes=meeting.duration_minutes)
        now = self.clock()
        offered = free_slots(who, meeting, [], now=now, start=start, end=start + _SECOND)
        if Interval(start, end) not in offered:
            raise self._not_offered(start, visitor_zone, who, meeting)
        reference = new_reference()
        buffer = timedelta(minutes=who.buffer_minutes)
        until = now + timedelta(minutes=self.settings.hold_minutes)
        inserted = self.store.insert_booking_if_free(
            {
                "reference": reference,
                "attempt_id": attempt_id,
                "provider": "local",
                "analyst": who.slug,
                "meeting_type": meeting.id,
                "start_utc": iso(start),
                "end_utc": iso(end),
                "status": "held" if hold else "confirmed",
                "hold_expires_at": iso(until) if hold else None,
                "name": details.name,
                "email": details.email,
                "notes": details.notes,
                "visitor_tz": visitor_zone.key,
                "price": str(meeting.price),
                "currency": meeting.currency,
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

    # -- Calendly hand-off ---------------------------------------------------------
    def start_calendly_handoff(
        self,
        *,
        analyst: str | None,
        meeting_type: str,
        start: datetime,
        name: str,
        email: str,
        notes: str = "",
        timezone: str,
        attempt_id: str | None = None,
        source: str = "web",
        create_link: bool = True,
    ) -> str:
        """Check the time is still free on Calendly, create a fresh single-use link for this
        attempt and return it pre-filled (without ``create_link``: only check and note the
        details, returning ""). Every outcome is recorded on the attempt.

        ``analyst`` may be None when only the event type URI is known (the seed's API).
        """
        attempt_id = self._attempt_for(attempt_id, source, timezone)
        with self._failure_recorded(attempt_id, funnel.HANDOFF_FAILED):
            who = self.analyst(analyst) if analyst else self.calendly_analyst_for(meeting_type)
            if who.provider != "calendly":
                raise NotBookable(f"{who.name} is booked on this site, not through Calendly.")
            meeting = self.meeting_type(who, meeting_type)
            details, start, visitor_zone = self._take_details(
                attempt_id,
                who,
                meeting,
                start,
                name=name,
                email=email,
                notes=notes,
                timezone=timezone,
            )
            self._check_calendly_time(who, meeting, start, visitor_zone)
            if not meeting.is_free:
                raise pay_first(meeting)
            url = ""
            if create_link:
                url = self._new_link(attempt_id, meeting.id, details, start, visitor_zone)
        return url

    def _check_calendly_time(
        self, who: Analyst, meeting: MeetingType, start: datetime, visitor_zone: ZoneInfo
    ) -> None:
        """Raise unless Calendly offers ``start`` right now (asked, not cached)."""
        if start <= self.clock():
            raise SlotUnavailable(
                f"{describe_time(start, visitor_zone)} has already passed; "
                "please pick a time in the future.",
                field="startTime",
            )
        if all(s.start != start for s in self._calendly_slots(meeting, start, start + _SECOND)):
            raise self._not_offered(start, visitor_zone, who, meeting)
        offered = {
            parse_calendly_time(t["start_time"])
            for t in self._calendly().available_times(
                meeting.id, start - timedelta(minutes=1), start + timedelta(minutes=1)
            )
        }
        if start not in offered:
            self.forget_availability(meeting.id)
            raise slot_taken(start, visitor_zone)

    def _new_link(
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
        link = self._calendly().create_scheduling_link(event_type)
        url = prefill_url(
            link,
            name=details.name,
            email=details.email,
            notes=details.notes,
            attempt_id=attempt_id,
            day=start.astimezone(visitor_zone).date(),
        )
        if not self.may_redirect_to(url):
            raise CalendlyUnavailable(
                "Calendly sent a booking link we do not trust, so we stopped. "
                "Please try again in a minute."
            )
        now = self.clock()
        if handoff:
            self.store.update_attempt(attempt_id, now=now, handoff_url=url, status="link_created")
            self.store.add_event(
                attempt_id, funnel.LINK_CREATED, now=now, detail={"event_type": event_type}
            )
        else:
            self.store.update_attempt(attempt_id, now=now, handoff_url=url)
        return url

    def may_redirect_to(self, url: str) -> bool:
        """Only Calendly's and Stripe Checkout's own pages, or this desk's sandbox pages,
        are redirect targets."""
        ours = self.link("")
        if same_origin(url, ours):
            return (self.sandbox is not None and url.startswith(f"{ours}/sandbox/calendly/")) or (
                self.checkout_sandbox is not None and url.startswith(f"{ours}/sandbox/checkout/")
            )
        if self.stripe is not None and url.startswith("https://checkout.stripe.com/"):
            return True
        return is_calendly_host(url)

    def calendly_analyst_for(self, event_type_uri: str) -> Analyst:
        """The Calendly analyst who offers an event type (seed API: event type URI only)."""
        for analyst in self.catalogue.analysts:
            if analyst.provider == "calendly" and any(
                m.id == event_type_uri for m in self.meeting_types(analyst)
            ):
                return analyst
        raise NotFound(
            "That Calendly event type is not offered here; list them with GET /api/analysts.",
            field="eventTypeUri",
        )

    def note_return(self, details: dict[str, str]) -> None:
        """Record that a visitor came back from Calendly (their attempt is in utm_content)."""
        attempt_id = details.get("utm_content", "")
        if attempt_id.startswith("att_") and self.store.attempt(attempt_id):
            self.store.add_event(attempt_id, funnel.RETURNED, now=self.clock())

    # -- payment ---------------------------------------------------------------------
    def proceed_to_pay(
        self,
        *,
        analyst: str,
        meeting_type: str,
        start: datetime,
        name: str,
        email: str,
        notes: str = "",
        timezone: str,
        attempt_id: str | None = None,
        source: str = "web",
    ) -> str:
        """Check the time, hold it (local analysts) and open a checkout; returns the page
        to pay on. Asked again for the same attempt and time (a double click, a reload),
        it returns the same open checkout instead of a second one."""
        attempt_id = self._attempt_for(attempt_id, source, timezone)
        with self._failure_recorded(attempt_id, funnel.BOOKING_FAILED):
            who = self.analyst(analyst)
            meeting = self.meeting_type(who, meeting_type)
            if meeting.is_free:
                raise NotBookable(f"A {meeting.name} is free: there is nothing to pay.")
            details, start, visitor_zone = self._take_details(
                attempt_id,
                who,
                meeting,
                start,
                name=name,
                email=email,
                notes=notes,
                timezone=timezone,
            )
            earlier = self.store.payments_of(attempt_id)
            for payment in earlier:
                if payment["status"] == "open":
                    if (payment["meeting_type"], payment["slot_start"]) == (meeting.id, iso(start)):
                        return payment["url"]
                    self._abandon(payment)  # they went back and chose another time
                elif payment["status"] == "paid":
                    raise NotBookable(
                        "This booking is already paid. Please check your email, or start a "
                        "new booking for another session."
                    )
            hold = None
            if who.provider == "local":
                hold = self._take_local_slot(
                    attempt_id, who, meeting, details, start, visitor_zone, hold=True
                )
            else:
                self._check_calendly_time(who, meeting, start, visitor_zone)
            base = self.link(f"/paid?attempt={attempt_id}")
            try:
                checkout = self.payments.create(
                    attempt_id=attempt_id,
                    amount=meeting.price,
                    currency=meeting.currency,
                    description=f"{meeting.name} with {who.name}, "
                    f"{describe_time(start, visitor_zone)}",
                    email=details.email,
                    success_url=f"{base}&session={SESSION_PLACEHOLDER}",
                    cancel_url=f"{base}&canceled=1",
                    idempotency_key=f"{attempt_id}:{len(earlier)}",
                )
            except BookingError:
                if hold:
                    self._release(hold)
                raise
        now = self.clock()
        self.store.add_payment(
            {
                "id": checkout.id,
                "attempt_id": attempt_id,
                "provider": self.payments.name,
                "amount": str(meeting.price),
                "currency": meeting.currency,
                "description": meeting.name,
                "meeting_type": meeting.id,
                "slot_start": iso(start),
                "status": "open",
                "url": checkout.url,
                "hold_ref": hold,
            },
            now=now,
        )
        self.store.update_attempt(attempt_id, now=now, status="payment_pending")
        self.store.add_event(
            attempt_id,
            funnel.PAYMENT_STARTED,
            now=now,
            detail={"provider": self.payments.name, "amount": str(meeting.price)},
        )
        return checkout.url

    def _payment_of(self, attempt_id: str, checkout_id: str | None) -> dict:
        payments = self.store.payments_of(attempt_id or "")
        payment = next((p for p in payments if p["id"] == checkout_id or not checkout_id), None)
        if payment is None:
            raise NotFound(
                "We could not find that payment. If you paid, check your email for the "
                "confirmation; otherwise please book again."
            )
        return payment

    def complete_payment(self, attempt_id: str, checkout_id: str | None = None) -> Outcome:
        """Confirm a payment with its provider and carry on: book the held local slot, or
        create the Calendly link. Safe to call any number of times, from the visitor's
        return, the provider's webhook and the sweeper alike: only the first call that sees
        the payment paid records it, and a booked attempt stays booked."""
        payment = self._payment_of(attempt_id, checkout_id)
        if payment["status"] in ("open", "abandoned"):
            checkout = self.payments.retrieve(payment["id"])
            if checkout.status != "paid":
                return Outcome("pending" if checkout.status == "open" else "expired")
            now = self.clock()
            if self.store.move_payment(
                payment["id"], "paid", now=now, only_if=("open", "abandoned")
            ):
                self.store.update_attempt(attempt_id, now=now, status="paid")
                self.store.add_event(
                    attempt_id, funnel.PAID, now=now, detail={"amount": payment["amount"]}
                )
            payment = self.store.payment(payment["id"])
        if payment["status"] == "refund_due":
            raise refunded(payment)
        attempt = self.store.attempt(attempt_id)
        if attempt["booking_ref"]:
            return Outcome("booked", reference=attempt["booking_ref"])
        if payment["hold_ref"]:
            return self._confirm_paid_hold(attempt, payment)
        return self._continue_calendly(attempt)

    # -- Calendly hand-off modes: redirect, embed, direct -------------------------------
    def calendly_handoff(self, **request) -> Outcome:
        """The booking page's way on for a free Calendly session, in the analyst's mode:
        a link to open ('redirect') or to embed ('embed'), or booked at once ('direct')."""
        request.setdefault("attempt_id", None)
        request["attempt_id"] = self._attempt_for(
            request["attempt_id"], request.get("source", "web"), request["timezone"]
        )
        who = self.analyst(request["analyst"])
        self.start_calendly_handoff(**request, create_link=False)
        return self._continue_calendly(self.store.attempt(request["attempt_id"]), who)

    def _continue_calendly(self, attempt: dict, who: Analyst | None = None) -> Outcome:
        """Book or hand off an attempt whose details (and payment) are in; repeatable."""
        who = who or self.analyst(attempt["analyst"])
        kind = "embed" if who.handoff == "embed" else "redirect"
        if attempt["booking_ref"]:
            return Outcome("booked", reference=attempt["booking_ref"])
        if attempt["handoff_url"]:
            return Outcome(kind, url=attempt["handoff_url"])
        if who.handoff == "direct":
            return self._book_direct(attempt)
        with self._failure_recorded(attempt["id"], funnel.HANDOFF_FAILED):
            url = self._new_link(
                attempt["id"],
                attempt["meeting_type"],
                Details.of(attempt),
                parse_iso(attempt["slot_start"]),
                zone(attempt["visitor_tz"]),
            )
        return Outcome(kind, url=url)

    def _book_direct(self, attempt: dict) -> Outcome:
        """Book through Calendly's Scheduling API. A time taken meanwhile is refused; a rate
        limit or the API being unavailable falls back to the single-use link, noting why."""
        attempt_id, event_type = attempt["id"], attempt["meeting_type"]
        start, visitor_zone = parse_iso(attempt["slot_start"]), zone(attempt["visitor_tz"])
        try:
            invitee = self._calendly().create_invitee(
                event_type,
                start=start,
                name=attempt["name"],
                email=attempt["email"],
                timezone=visitor_zone.key,
                notes=attempt["notes"] or "",
                attempt_id=attempt_id,
            )
        except SlotTaken as exc:
            self.forget_availability(event_type)
            self.store.add_event(
                attempt_id, funnel.BOOKING_FAILED, now=self.clock(), detail={"reason": exc.code}
            )
            raise slot_taken(start, visitor_zone) from exc
        except (CalendlyRateLimited, SchedulingApiUnavailable) as exc:
            log.warning("direct booking of %s fell back to a link: %s", attempt_id, exc.code)
            self.store.add_event(
                attempt_id, funnel.DIRECT_FALLBACK, now=self.clock(), detail={"reason": exc.code}
            )
            url = self._new_link(attempt_id, event_type, Details.of(attempt), start, visitor_zone)
            return Outcome("redirect", url=url)
        meeting = self.meeting_type(self.analyst(attempt["analyst"]), event_type)
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
        now = self.clock()
        webhooks.apply(  # the same idempotent path the webhook takes when it arrives
            self.store,
            webhooks.Delivery(webhooks.CREATED, now, payload),
            delivery_id=None,
            analyst=attempt["analyst"],
            now=now,
            new_reference=new_reference,
        )
        self._after_calendly(webhooks.CREATED, payload)
        return Outcome("booked", reference=self.store.attempt(attempt_id)["booking_ref"])

    def embed_link(self, attempt_id: str) -> dict:
        """The attempt's single-use link and state, for the embed page."""
        attempt = self.store.attempt(attempt_id or "")
        if attempt is None or not attempt["handoff_url"]:
            raise NotFound("This scheduling link is not known. Please start again.")
        return attempt

    def embed_origins(self) -> list[str]:
        """Origins whose embed messages are believed: Calendly's, or our sandbox's."""
        if self.sandbox is not None:
            return [self.link("")]
        return ["https://calendly.com"]

    def note_embed_event(self, attempt_id: str, event: str, invitee_uri: str | None) -> None:
        """Record what Calendly's embed reported (a browser's hint; the webhook confirms)."""
        step = funnel.EMBED_STEPS.get(event)
        if step and self.store.attempt(attempt_id):
            detail = {"invitee": invitee_uri} if invitee_uri else None
            self.store.add_event(attempt_id, step, now=self.clock(), detail=detail)

    def _confirm_paid_hold(self, attempt: dict, payment: dict) -> Outcome:
        held = self.store.booking(payment["hold_ref"])
        who = self.analyst(held["analyst"])
        buffer = timedelta(minutes=who.buffer_minutes)
        now = self.clock()
        if self.store.confirm_hold(
            held["reference"],
            clear_from=parse_iso(held["start_utc"]) - buffer,
            clear_to=parse_iso(held["end_utc"]) + buffer,
            now=now,
            attempt_id=attempt["id"],
            event_detail={"reference": held["reference"]},
        ):
            booking = self.booking(held["reference"])
            self._send(mail.confirmation, booking, manage_url=self.manage_url(booking))
            return Outcome("booked", reference=held["reference"])
        self._refund_due(payment, reason="slot_taken")
        raise refunded(payment)

    def abandon_payment(self, attempt_id: str, checkout_id: str | None = None) -> None:
        """The visitor cancelled at the checkout: release the held time (if still unpaid)."""
        payment = self._payment_of(attempt_id, checkout_id)
        if payment["status"] == "open":
            self._abandon(payment)

    def _abandon(self, payment: dict) -> None:
        now = self.clock()
        if self.store.move_payment(payment["id"], "abandoned", now=now, only_if=("open",)):
            if payment["hold_ref"]:
                self._release(payment["hold_ref"])
            self.store.update_attempt(payment["attempt_id"], now=now, status="payment_abandoned")
            self.store.add_event(payment["attempt_id"], funnel.PAYMENT_ABANDONED, now=now)

    def _release(self, hold_ref: str) -> None:
        self.store.set_booking_status(hold_ref, "released", now=self.clock(), only_if=("held",))

    def _refund_due(self, payment: dict, *, reason: str) -> None:
        now = self.clock()
        if self.store.move_payment(payment["id"], "refund_due", now=now, only_if=("paid",)):
            self.store.add_event(
                payment["attempt_id"], funnel.REFUND_DUE, now=now, detail={"reason": reason}
            )

    def settle_quietly(self, attempt_id: str, checkout_id: str) -> None:
        """Settle a checkout its provider reported paid; the visitor's return page shows
        any problem, so here it is only logged."""
        try:
            self.complete_payment(attempt_id, checkout_id)
        except BookingError as exc:
            log.info("checkout %s settled with a problem: %s", checkout_id, exc)

    def sweep_payments(self) -> Counter:
        """Checkouts left open longer than a hold: confirm the ones paid meanwhile (a lost
        webhook), call the rest abandoned so their held times are free again."""
        done: Counter = Counter()
        before = self.clock() - timedelta(minutes=self.settings.hold_minutes)
        for payment in self.store.stale_payments(before=before):
            try:
                outcome = self.complete_payment(payment["attempt_id"], payment["id"])
            except BookingError as exc:
                log.warning("payment %s not settled: %s", payment["id"], exc)
                continue
            if outcome.kind in ("pending", "expired"):
                self._abandon(payment)
                done["abandoned"] += 1
            else:
                done[outcome.kind] += 1
        return done

    def stripe_webhook(self, body: bytes, signature: str | None) -> tuple[int, dict]:
        """Verify a Stripe delivery, store it, and settle the checkout it is about."""
        if self.stripe is None:
            return 404, _error_body("not_found", "Stripe is not set up on this desk.")
        now = self.clock()
        try:
            event = self.stripe.parse_webhook(body, signature, now=now.timestamp())
            rejection = None
        except SignatureError as exc:
            event, rejection = None, exc
        session = ((event or {}).get("data") or {}).get("object") or {}
        delivery_id = self.store.record_delivery(
            received_at=now,
            body=body,
            verified=rejection is None,
            rejection=rejection.code if rejection else None,
            event=(event or {}).get("type"),
            payload_uri=session.get("id"),
            source="stripe",
        )
        if rejection is not None:
            log.warning("stripe webhook %s rejected: %s", delivery_id, rejection)
            return rejection.status, _error_body(rejection.code, str(rejection))
        outcome = "ignored"
        attempt_id = session.get("client_reference_id") or ""
        if event and self.store.payment(session.get("id", "")):
            try:
                if event["type"] == "checkout.session.completed":
                    outcome = self.complete_payment(attempt_id, session["id"]).kind
                elif event["type"] == "checkout.session.expired":
                    self.abandon_payment(attempt_id, session["id"])
                    outcome = "abandoned"
            except BookingError as exc:  # e.g. the slot went meanwhile: refund is due
                outcome = exc.code
        self.store.finish_delivery(delivery_id, outcome=outcome, now=now)
        return 200, {"success": True, "outcome": outcome}

    # -- cancelling ------------------------------------------------------------------
    def cancel_booking(self, reference: str) -> Booking:
        """Cancel a local booking (the visitor, from their confirmation). A paid one is
        marked refund due for the owner; the visitor gets a cancellation email."""
        booking = self.booking(reference)
        if booking.analyst.provider != "local":
            raise NotBookable("Calendly bookings are cancelled on Calendly: use its link.")
        if not self.store.set_booking_status(
            booking.reference, "canceled", now=self.clock(), only_if=("confirmed",)
        ):
            return booking  # cancelled already
        self._after_cancel(booking.reference)
        return self.booking(booking.reference)

    def _after_cancel(self, reference: str) -> None:
        row = self.store.booking(reference)
        refund = False
        if row and row["attempt_id"]:
            now = self.clock()
            if row["provider"] == "local":
                self.store.add_event(
                    row["attempt_id"], funnel.CANCELED, now=now, detail={"reference": reference}
                )
            for payment in self.store.payments_of(row["attempt_id"]):
                if payment["status"] == "paid":
                    self._refund_due(payment, reason="canceled")
                    refund = True
        if row and (row["provider"] == "local" or self.settings.calendly_confirmations):
            self._send(
                mail.cancellation,
                self.booking(reference),
                book_url=self.link("/"),
                refund_due=refund,
            )

    # -- email -----------------------------------------------------------------------
    @property
    def brand(self) -> str:
        return self.settings.brand_name

    def manage_url(self, booking: Booking) -> str:
        return self.link(f"/success?ref={booking.reference}")

    def _send(self, render: Callable[..., mail.Mail], *args, **kwargs) -> None:
        """Write an email (``render`` is one of ``booking.mail``'s) and queue it; a failure
        here is logged and never undoes what was booked."""
        try:
            message = render(*args, brand=self.brand, **kwargs)
            mail.enqueue(
                self.store,
                message,
                now=self.clock(),
                sender=self.settings.mail_from,
                brand=self.brand,
            )
        except Exception:
            log.exception("could not queue an email (%s)", render.__name__)

    def deliver_mail(self) -> Counter:
        """Send what is due in the outbox (kept for the owner when no SMTP is set)."""
        return mail.deliver_due(self.store, self.mail_transport, now=self.clock())

    def outbox(self, limit: int = 50) -> list[dict]:
        return mail.outbox(self.store, limit=limit)

    def refunds_due(self) -> list[dict]:
        return self.store.refunds_due()

    # -- follow-ups ------------------------------------------------------------------
    def run_followups(self) -> Counter:
        """Email each stalled attempt (a link created or a payment started, then nothing
        for BOOKING_INCOMPLETE_AFTER_HOURS) a fresh link, at most BOOKING_FOLLOWUP_MAX times,
        BOOKING_FOLLOWUP_SPACING_HOURS apart. Each send is claimed first (compare-and-set
        on the attempt's count), so runners working at once never send one twice."""
        s = self.settings
        done: Counter = Counter()
        if s.followup_max <= 0:
            return done
        now = self.clock()
        for attempt in self.store.stalled_attempts(
            stalled_before=now - timedelta(hours=s.incomplete_after_hours),
            last_before=now - timedelta(hours=s.followup_spacing_hours),
            max_sent=s.followup_max,
        ):
            number = (attempt["followups_sent"] or 0) + 1
            if not self.store.claim_followup(attempt["id"], number, now=now):
                done["claimed_elsewhere"] += 1
                continue
            try:
                resume = self._resume_url(attempt)
            except BookingError as exc:
                log.warning("follow-up of %s postponed: %s", attempt["id"], exc)
                self.store.unclaim_followup(attempt["id"], number)
                done["postponed"] += 1
                continue
            who = self.analyst(attempt["analyst"])
            meeting_name = next(
                (m.name for m in self._offers(who) if m.id == attempt["meeting_type"]), "session"
            )
            self._send(
                mail.followup,
                to=attempt["email"],
                name=attempt["name"],
                attempt_id=attempt["id"],
                number=number,
                analyst_name=who.name,
                meeting_name=meeting_name,
                resume_url=resume,
                stop_url=self.link(f"/followups/stop?attempt={attempt['id']}"),
            )
            self.store.add_event(
                attempt["id"], funnel.FOLLOWUP_SENT, now=now, detail={"number": number}
            )
            done["sent"] += 1
        return done

    def _offers(self, who: Analyst) -> tuple[MeetingType, ...]:
        try:
            return self.meeting_types(who)
        except BookingError:
            return ()

    def _resume_url(self, attempt: dict) -> str:
        """Where a follow-up sends the visitor: a fresh single-use Calendly link (the old
        one may have expired or been spent), or our booking page with the analyst chosen."""
        if attempt["provider"] == "calendly":
            start = max(parse_iso(attempt["slot_start"]), self.clock())
            return self._new_link(
                attempt["id"],
                attempt["meeting_type"],
                Details.of(attempt),
                start,
                zone(attempt["visitor_tz"]),
                handoff=False,
            )
        return self.link(f"/?analyst={attempt['analyst']}")

    def stop_followups(self, attempt_id: str) -> bool:
        """The visitor opted out through the link in a follow-up; True if it was theirs."""
        if not attempt_id.startswith("att_") or self.store.attempt(attempt_id) is None:
            return False
        if self.store.stop_followups(attempt_id, now=self.clock()):
            self.store.add_event(attempt_id, funnel.FOLLOWUPS_STOPPED, now=self.clock())
        return True

    # -- Calendly webhooks and reconciliation ------------------------------------------
    def webhook_keys(self) -> list[str]:
        keys = [k.strip() for k in self.settings.calendly_signing_key.split(",") if k.strip()]
        return keys + (self.sandbox.signing_keys() if self.sandbox else [])

    def calendly_analyst_slug(self) -> str:
        return next(
            (a.slug for a in self.catalogue.analysts if a.provider == "calendly"), "calendly"
        )

    def receive_webhook(self, body: bytes, signature: str | None) -> tuple[int, dict]:
        """Verify, store, then apply one Calendly delivery; returns (HTTP status, JSON body).

        The delivery is stored (raw body, verification result) before anything is applied,
        and applied in one transaction; a repeat of an applied (event, invitee) is a no-op.
        """
        now = self.clock()
        try:
            verify(
                signature,
                body,
                self.webhook_keys(),
                now=now.timestamp(),
                tolerance=self.settings.webhook_tolerance_seconds,
            )
            rejection = None
        except SignatureError as exc:
            rejection = exc
        try:
            delivery, unreadable = webhooks.parse(body), None
        except ValueError as exc:  # not JSON, or not an envelope
            delivery, unreadable = None, exc
        delivery_id = self.store.record_delivery(
            received_at=now,
            body=body,
            verified=rejection is None,
            rejection=rejection.code if rejection else None,
            event=delivery.event if delivery else None,
            payload_uri=delivery.uri if delivery else None,
        )
        if rejection is not None:
            log.warning("webhook %s rejected: %s", delivery_id, rejection)
            return rejection.status, _error_body(rejection.code, str(rejection))
        if delivery is None:
            outcome = (
                "not_json" if not isinstance(unreadable, webhooks.UnusableDelivery) else "unusable"
            )
            self.store.finish_delivery(delivery_id, outcome=outcome, now=now)
            if outcome == "not_json":
                return 400, _error_body("not_json", "The delivery body is not JSON.")
            return 200, {"success": True, "outcome": outcome}
        try:
            outcome = webhooks.apply(
                self.store,
                delivery,
                delivery_id=delivery_id,
                analyst=self.calendly_analyst_slug(),
                now=now,
                new_reference=new_reference,
            )
        except webhooks.UnusableDelivery as exc:
            log.warning("webhook %s unusable: %s", delivery_id, exc)
            self.store.finish_delivery(delivery_id, outcome="unusable", now=now)
            return 200, {"success": True, "outcome": "unusable"}
        if outcome == "applied":
            self._after_calendly(delivery.event, delivery.payload)
        return 200, {"success": True, "outcome": outcome}

    def _after_calendly(self, event: str, payload: dict) -> None:
        """What follows a newly applied Calendly change: fresh availability, our branded
        confirmation (when switched on), and for a cancellation a refund due if it was paid."""
        if event not in (webhooks.CREATED, webhooks.CANCELED):
            return
        self.forget_availability((payload.get("scheduled_event") or {}).get("event_type", ""))
        uri = payload.get("uri") or ""
        if event == webhooks.CREATED:
            if self.settings.calendly_confirmations and (row := self.store.booking_by_invitee(uri)):
                self._send(
                    mail.calendly_confirmation,
                    self.booking(row["reference"]),
                    cancel_url=row["cancel_url"] or "",
                    reschedule_url=row["reschedule_url"] or "",
                )
        elif not payload.get("rescheduled") and (row := self.store.booking_by_invitee(uri)):
            self._after_cancel(row["reference"])

    def reconcile(self, since: datetime | None = None) -> Counter:
        """Read Calendly's scheduled events and invitees since ``since`` (default: a week
        ago) and apply what the webhooks missed, through the same idempotent path."""
        client = self._calendly()
        now = self.clock()
        user = self.catalogue_cache.get("calendly-user", client.me)
        fixed: Counter = Counter()
        for event in client.scheduled_events(
            user["uri"], min_start=since or now - timedelta(days=7)
        ):
            for invitee in client.invitees(event["uri"]):
                payload = {**invitee, "scheduled_event": event}
                created = parse_calendly_time(invitee["created_at"])
                kinds = [(webhooks.CREATED, created)]
                if invitee.get("status") == "canceled":
                    at = (invitee.get("cancellation") or {}).get("created_at") or invitee[
                        "updated_at"
                    ]
                    kinds.append((webhooks.CANCELED, parse_calendly_time(at)))
                if invitee.get("no_show"):
                    kinds.append(
                        (
                            webhooks.NO_SHOW_CREATED,
                            parse_calendly_time(invitee["no_show"]["created_at"]),
                        )
                    )
                for kind, at in kinds:
                    outcome = webhooks.apply(
                        self.store,
                        webhooks.Delivery(kind, at, payload),
                        delivery_id=None,
                        analyst=self.calendly_analyst_slug(),
                        now=now,
                        new_reference=new_reference,
                    )
                    if outcome == "applied":
                        fixed[kind] += 1
                        self._after_calendly(kind, payload)
        self.store.record_reconcile(now=now, fixed=fixed)
        return fixed

    def calendly_booking(self, invitee_uuid: str) -> dict | None:
        """The stored Calendly booking of an invitee (as confirmed by webhook), if any."""
        if not invitee_uuid or "/" in invitee_uuid:
            return None
        return self.store.booking_by_invitee_suffix(f"/invitees/{invitee_uuid}")

    # -- the owner's side ------------------------------------------------------------
    def is_owner_password(self, given: str | None) -> bool:
        """Constant-time check of the owner password; never true when none is set."""
        expected = self.settings.owner_password
        return bool(expected) and hmac.compare_digest((given or "").encode(), expected.encode())

    def is_owner_email(self, email: str | None) -> bool:
        allowed = {e.strip().lower() for e in self.settings.owner_emails.split(",") if e.strip()}
        return bool(email) and email.strip().lower() in allowed

    def dashboard(self, f: analytics.Filters, tz: ZoneInfo) -> dict:
        """Everything the analytics page shows, each piece one small SQL aggregate."""
        db = self.store.db.conn
        counts = analytics.kpis_with_change(db, f)
        return {
            "kpis": counts,
            "funnel": analytics.funnel_table(
                dict(zip(counts["step"], counts["count"], strict=True))
            ),
            "by_analyst": analytics.breakdown(db, f, "analyst"),
            "by_meeting_type": analytics.breakdown(db, f, "meeting_type"),
            "by_provider": analytics.breakdown(db, f, "provider"),
            "daily": analytics.daily(db, f),
            "heatmap": analytics.booked_heatmap(db, f, tz),
            "time_to_book": analytics.time_to_book(db, f),
            "rates": analytics.booking_rates(db, f),
            "incomplete": analytics.incomplete(
                db, f, now=self.clock(), hours=self.settings.incomplete_after_hours
            ),
            "webhooks": analytics.webhook_health(db, f),
            "followups": analytics.followups(db, f),
        }

    def export_csv(self, f: analytics.Filters, what: str) -> str:
        return analytics.export_csv(self.store.db.conn, f, what)

    def has_history(self) -> bool:
        return self.store.db.execute("SELECT 1 FROM attempts LIMIT 1").fetchone() is not None

    def meeting_type_names(self) -> dict[str, str]:
        """Meeting type id → name across analysts (Calendly's only when reachable)."""
        names = {}
        for a in self.catalogue.analysts:
            try:
                names.update({m.id: m.name for m in self.meeting_types(a)})
            except BookingError:
                continue
        return names

    def load_demo_data(self, attempts: int, *, seed: int = 1) -> int:
        """Write a synthetic history of ``attempts`` attempts (see booking.demo)."""
        offers = []
        for a in self.catalogue.analysts:
            try:
                offers.append((a, list(self.meeting_types(a))))
            except BookingError:
                continue
        offers = [(a, types) for a, types in offers if types]
        return self.store.import_history(
            demo.histories(attempts, seed=seed, now=self.clock(), offers=offers)
        )

    def booking(self, reference: str) -> Booking:
        row = self.store.booking((reference or "").strip().upper())
        if row is None:
            raise NotFound(
                "We could not find a booking with that reference. Please check the link in "
                "your confirmation, or book again."
            )
        analyst = self.catalogue.get(row["analyst"])
        start, end = parse_iso(row["start_utc"]), parse_iso(row["end_utc"])
        try:
            meeting = self.meeting_type(analyst, row["meeting_type"])
        except BookingError:  # a Calendly event type gone (or Calendly unreachable)
            minutes = int((end - start).total_seconds() // 60)
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
        )

    def health(self) -> dict:
        reachable = self.store.ping()
        last = self.store.last_verified_delivery() if reachable else None
        return {
            "lastVerifiedWebhook": last,
            "status": "ok" if reachable else "degraded",
            "database": "reachable" if reachable else "unreachable",
            "mode": "offline" if self.settings.calendly_mode == "sandbox" else "live",
            "services": {
                "calendly": self.settings.calendly_mode,
                "payments": self.settings.payments_mode,
                "email": self.settings.mail_mode,
            },
        }


@functools.lru_cache(maxsize=8)
def desk_for(settings: Settings) -> Desk:
    """One desk per settings in this process, shared by the pages and the HTTP routes, so
    they share one Calendly availability cache."""
    return build_desk(settings)


def _error_body(code: str, message: str) -> dict:
    return {"success": False, "error": code, "message": message}


def build_desk(
    settings: Settings, *, clock: Clock = system_clock, session: requests.Session | None = None
) -> Desk:
    """Build the whole desk from settings (the factory the edges and tests use).

    With no Calendly token, the sandbox is mounted beneath the real client's session.
    """
    catalogue = Catalogue.load(settings.catalogue_path)
    store = Store(settings.db_path)
    session = session or requests.Session()
    sandbox = None
    token = settings.calendly_token
    if not token:
        sandbox = CalendlySandbox(
            store,
            public_url=settings.public_url,
            api_url=settings.calendly_api_url,
            latency_ms=settings.sandbox_latency_ms,
            clock=clock,
        )
        session.mount(settings.calendly_api_url.rstrip("/") + "/", sandbox.adapter())
        sandbox.ensure_subscription(
            f"{settings.public_url.rstrip('/')}/api/calendly/webhook",
            settings.calendly_signing_key.split(",")[0].strip() or None,
        )
        token = "sandbox"  # noqa: S105 - not a secret: the sandbox takes any bearer token
    client = CalendlyClient(token, base_url=settings.calendly_api_url, session=session, clock=clock)
    stripe = checkout_sandbox = None
    if settings.stripe_secret_key:
        stripe = StripeCheckout(
            settings.stripe_secret_key,
            settings.stripe_webhook_secret,
            api_base=settings.stripe_api_url,
        )
    else:
        checkout_sandbox = SandboxCheckout(store, public_url=settings.public_url, clock=clock)
    desk = Desk(
        settings,
        catalogue,
        store,
        clock,
        calendly=client,
        sandbox=sandbox,
        payments=stripe or checkout_sandbox,
        checkout_sandbox=checkout_sandbox,
        stripe=stripe,
        mail_transport=mail.from_settings(settings),
        availability_cache=TTLCache(settings.calendly_cache_seconds),
    )
    if checkout_sandbox is not None:  # paying in the sandbox settles at once, like a webhook
        checkout_sandbox.on_paid = desk.settle_quietly
    return desk
