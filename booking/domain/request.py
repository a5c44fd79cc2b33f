"""What a visitor asks for (``BookingRequest``) and the checks on what they typed (pure)."""

from __future__ import annotations

import unicodedata
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
    known (the seed's API); ``attempt_id`` None starts a new attempt (source ``source``);
    ``client`` is the address the edge counts the per-client limits against."""

    analyst: str | None
    meeting_type: str
    start: datetime
    name: str | None
    email: str | None
    timezone: str
    notes: str | None = ""
    attempt_id: str | None = None
    source: str = "web"
    # Direct Calendly bookings: the visitor's answers to the event type's questions
    # (``q<position>`` or ``location`` → text), as the details form asked them.
    answers: tuple[tuple[str, str], ...] = ()
    client: str | None = None  # the client's address, for the per-client limits

    def utc_start(self) -> datetime:
        """The start in UTC; the visitor must have said which offset they meant."""
        return in_utc(self.start)


# Start times outside these years are refused before any arithmetic on them could
# overflow (9999-12-31 plus a meeting's length, or 0001-01-01 at +23:59 in UTC).
EARLIEST_YEAR, LATEST_YEAR = 2000, 2999


def in_utc(start: datetime) -> datetime:
    """A start time the visitor gave, in UTC: it must say which offset was meant, and
    fall in a year anyone could book."""
    if start.tzinfo is None:
        raise InvalidInput("The start time needs a UTC offset, e.g. +00:00.", field="startTime")
    try:
        utc = start.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST_YEAR <= utc.year <= LATEST_YEAR:
        raise InvalidInput(
            f"{start.date().isoformat()} is not a date we take bookings for; please pick one "
            "of the times offered.",
            field="startTime",
        )
    return utc


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


# Characters that hide or reorder text: bidi embeddings, overrides and isolates, the
# direction marks, zero-width spaces and the byte-order mark. The zero-width joiners (in
# emoji, and ZWNJ in Persian and Indic names) are real writing and stay allowed. The word
# joiner is dropped quietly: our own pages put it into addresses they show (so they are
# never links), and a visitor may paste one back.
HIDDEN = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u200b\ufeff"
)
WORD_JOINER = "\u2060"


def clean_text(text: str | None, *, field: str, label: str, multiline: bool = False) -> str:
    """NFC-normalised text without control or hidden characters (which can disguise what
    a name, a note or a reason says on the owner's screens and in emails); InvalidInput
    naming ``field`` else."""
    text = (text or "").replace("\r\n", "\n").replace(WORD_JOINER, "")
    text = unicodedata.normalize("NFC", text)
    allowed = "\n\t" if multiline else ""
    bad = next(
        (
            ch
            for ch in text
            if ch in HIDDEN or (unicodedata.category(ch) == "Cc" and ch not in allowed)
        ),
        None,
    )
    if bad is not None:
        raise InvalidInput(
            f"There is an invisible character (U+{ord(bad):04X}) in your {label}; please "
            "retype it.",
            field=field,
        )
    return text


def check_details(name: str | None, email: str | None, notes: str | None) -> Details:
    """Normalise the visitor's details, or raise InvalidInput naming the field to fix."""
    name = " ".join(clean_text(name, field="name", label="name").split())
    if not name:
        raise InvalidInput("Please tell us your name.", field="name")
    if not any(unicodedata.category(ch).startswith("L") for ch in name):
        raise InvalidInput("Please write your name with letters.", field="name")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"Please shorten your name to {MAX_NAME} characters.", field="name")
    email = clean_text(email, field="email", label="email address").strip()
    if not email:
        raise InvalidInput("Please give an email address for the confirmation.", field="email")
    try:
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidInput(f"That email address is not valid: {exc}", field="email") from exc
    notes = clean_text(notes, field="notes", label="notes", multiline=True).strip()
    if len(notes) > MAX_NOTES:
        raise InvalidInput(
            f"Notes can be at most {MAX_NOTES:,} characters; yours are {len(notes):,}.",
            field="notes",
        )
    return Details(name, email, notes)


def detail_problems(name: str | None, email: str | None, notes: str | None) -> dict[str, str]:
    """Every problem with the visitor's details at once, by field ('name', 'email',
    'notes'), so a form can show each under its field; empty when ``check_details`` passes.
    Each field is checked by ``check_details`` itself, beside valid values for the others."""
    problems: dict[str, str] = {}
    for field, args in (
        ("name", (name, "a@example.com", "")),
        ("email", ("A", email, "")),
        ("notes", ("A", "a@example.com", notes)),
    ):
        try:
            check_details(*args)
        except InvalidInput as exc:
            problems[exc.field or field] = str(exc)
    return problems


def zone(name: str | None, *, field: str = "timezone") -> ZoneInfo:
    """The IANA zone called ``name``, or InvalidInput naming ``field``."""
    try:
        if len(name or "") > 64:  # the longest IANA name is 32 characters
            raise ValueError(name)
        return ZoneInfo(name or "")
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        shown = name if len(name or "") <= 64 else f"{(name or '')[:40]}…"
        raise InvalidInput(
            f"{shown!r} is not a time zone we know; use an IANA name such as Europe/London.",
            field=field,
        ) from exc
