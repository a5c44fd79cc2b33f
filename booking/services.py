"""Use-cases: the only place that composes the catalogue, the clock and the store."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email

from booking import funnel
from booking.config import Analyst, Catalogue, MeetingType, Settings
from booking.errors import InvalidInput, NotBookable, NotFound, SlotTaken, SlotUnavailable
from booking.slots import Interval, free_slots, group_by_day
from booking.store import Store, iso, parse_iso

Clock = Callable[[], datetime]
MAX_NAME = 100
MAX_NOTES = 2000
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


def describe_time(when: datetime, tz: ZoneInfo) -> str:
    """'09:30 on Tue 14 Oct' in the given zone."""
    local = when.astimezone(tz)
    return f"{local:%H:%M} on {local:%a} {local.day} {local:%b}"


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

    # -- catalogue -----------------------------------------------------------------
    def analyst(self, slug: str) -> Analyst:
        return self.catalogue.get(slug)

    def local_analyst(self, slug: str) -> Analyst:
        analyst = self.analyst(slug)
        if analyst.provider != "local":
            raise NotBookable(
                f"{analyst.name} is booked through Calendly, which this desk cannot reach yet. "
                "Please choose another analyst for now."
            )
        return analyst

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
        """Free slots of a local analyst starting in [start, end)."""
        analyst = self.local_analyst(slug)
        meeting = analyst.meeting_type(meeting_id)
        now = self.clock()
        pad = timedelta(minutes=analyst.buffer_minutes + meeting.duration_minutes)
        busy = self.store.busy(slug, start - pad, end + pad, now=now)
        return free_slots(analyst, meeting, busy, now=now, start=start, end=end)

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

    def open_days(self, slug: str, meeting_id: str, tz: ZoneInfo) -> dict[date, list[Interval]]:
        """Every visitor-local date within the horizon that has a free slot, with its slots."""
        analyst = self.local_analyst(slug)
        now = self.clock()
        return group_by_day(
            self.slots(slug, meeting_id, now, now + timedelta(days=analyst.horizon_days)), tz
        )

    # -- booking -------------------------------------------------------------------
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
        """Book a local analyst's slot, or raise a BookingError saying why not."""
        who = self.local_analyst(analyst)
        meeting = who.meeting_type(meeting_type)
        visitor_zone = zone(timezone)
        details = check_details(name, email, notes)
        if start.tzinfo is None:
            raise InvalidInput("The start time needs a UTC offset, e.g. +00:00.", field="startTime")
        start = start.astimezone(UTC)
        end = start + timedelta(minutes=meeting.duration_minutes)
        now = self.clock()
        if attempt_id is None:
            attempt_id = new_attempt_id()
            self.store.create_attempt(
                attempt_id,
                now=now,
                source="api",
                visitor_tz=timezone,
                analyst=who.slug,
                meeting_type=meeting.id,
                provider=who.provider,
            )
        self.store.update_attempt(
            attempt_id,
            now=now,
            analyst=who.slug,
            meeting_type=meeting.id,
            provider="local",
            slot_start=iso(start),
            name=details.name,
            email=details.email,
            notes=details.notes,
            visitor_tz=timezone,
        )
        self.store.add_event(attempt_id, funnel.DETAILS_SUBMITTED, now=now)
        offered = free_slots(
            who, meeting, [], now=now, start=start, end=start + timedelta(seconds=1)
        )
        if Interval(start, end) not in offered:
            self.store.add_event(
                attempt_id, funnel.BOOKING_FAILED, now=now, detail={"reason": "not_offered"}
            )
            raise SlotUnavailable(
                f"{describe_time(start, visitor_zone)} is not a time {who.name} offers "
                f"for a {meeting.name}. Please pick one of the times shown.",
                field="startTime",
            )
        reference = new_reference()
        buffer = timedelta(minutes=who.buffer_minutes)
        inserted = self.store.insert_booking_if_free(
            {
                "reference": reference,
                "attempt_id": attempt_id,
                "provider": "local",
                "analyst": who.slug,
                "meeting_type": meeting.id,
                "start_utc": iso(start),
                "end_utc": iso(end),
                "status": "confirmed",
                "name": details.name,
                "email": details.email,
                "notes": details.notes,
                "visitor_tz": timezone,
                "price": str(meeting.price),
                "currency": meeting.currency,
            },
            clear_from=start - buffer,
            clear_to=end + buffer,
            now=now,
            attempt_id=attempt_id,
            event_detail={"reference": reference},
        )
        if not inserted:
            self.store.add_event(
                attempt_id, funnel.BOOKING_FAILED, now=now, detail={"reason": "slot_taken"}
            )
            raise slot_taken(start, visitor_zone)
        return self.booking(reference)

    def booking(self, reference: str) -> Booking:
        row = self.store.booking((reference or "").strip().upper())
        if row is None:
            raise NotFound(
                "We could not find a booking with that reference. Please check the link in "
                "your confirmation, or book again."
            )
        analyst = self.catalogue.get(row["analyst"])
        return Booking(
            reference=row["reference"],
            analyst=analyst,
            meeting=analyst.meeting_type(row["meeting_type"]),
            start=parse_iso(row["start_utc"]),
            end=parse_iso(row["end_utc"]),
            status=row["status"],
            name=row["name"],
            email=row["email"],
            notes=row["notes"] or "",
            visitor_tz=row["visitor_tz"],
            created_at=parse_iso(row["created_at"]),
        )

    def health(self) -> dict:
        reachable = self.store.ping()
        return {
            "status": "ok" if reachable else "degraded",
            "database": "reachable" if reachable else "unreachable",
            "mode": "offline",
            "services": {"calendly": "not connected", "payments": "none", "email": "none"},
        }


def build_desk(settings: Settings, *, clock: Clock = system_clock) -> Desk:
    """Build the whole desk from settings (the factory the edges and tests use)."""
    catalogue = Catalogue.load(settings.catalogue_path)
    return Desk(settings, catalogue, Store(settings.db_path), clock)
