"""What a visitor asks for (``BookingRequest``) and the checks on what they typed (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email

from booking.errors import InvalidInput

MAX_NAME = 100
MAX_NOTES = 2000


@dataclass(frozen=True)
class BookingRequest:
    """One booking try as the page or the API sends it: who, what, when and the visitor's
    details, unchecked. ``analyst`` may be None when only a Calendly event type URI is
    known (the seed's API); ``attempt_id`` None starts a new attempt (source ``source``)."""

    analyst: str | None
    meeting_type: str
    start: datetime
    name: str | None
    email: str | None
    timezone: str
    notes: str | None = ""
    attempt_id: str | None = None
    source: str = "web"

    def utc_start(self) -> datetime:
        """The start in UTC; the visitor must have said which offset they meant."""
        if self.start.tzinfo is None:
            raise InvalidInput("The start time needs a UTC offset, e.g. +00:00.", field="startTime")
        return self.start.astimezone(UTC)


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
    """Normalise the visitor's details, or raise InvalidInput naming the field to fix."""
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


def zone(name: str | None, *, field: str = "timezone") -> ZoneInfo:
    """The IANA zone called ``name``, or InvalidInput naming ``field``."""
    try:
        return ZoneInfo(name or "")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            f"{name!r} is not a time zone we know; use an IANA name such as Europe/London.",
            field=field,
        ) from exc
