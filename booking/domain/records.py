"""What the desk hands back to its edges: bookings, outcomes, receipts, and new ids."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from booking.domain.catalogue import Analyst, MeetingType
from booking.domain.place import Place

_REF_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L


def new_attempt_id() -> str:
    """An unguessable attempt id (it travels to Calendly as utm_content)."""
    return "att_" + secrets.token_urlsafe(16)


def new_manage_token() -> str:
    """A booking's private manage key: 192 random bits, URL-safe (only its hash is kept)."""
    return secrets.token_urlsafe(24)


def new_reference() -> str:
    """A booking reference a person can read out: BD-XXXX-XXXX-XXXX."""
    n = secrets.randbelow(len(_REF_ALPHABET) ** 12)  # one draw from the OS, unbiased
    chars = ""
    for _ in range(12):
        n, digit = divmod(n, len(_REF_ALPHABET))
        chars += _REF_ALPHABET[digit]
    return f"BD-{chars[:4]}-{chars[4:8]}-{chars[8:]}"


@dataclass(frozen=True)
class Outcome:
    """Where a booking try stands, and so where the visitor goes next:

    'booked' (``reference``), 'checkout' (``url`` to pay on), 'redirect' (``url`` to open),
    'embed' (``url`` to show inline), 'pending' (the payment is not confirmed yet) or
    'expired' (the checkout lapsed). ``attempt_id`` names the try it belongs to.
    """

    kind: str
    reference: str | None = None
    url: str | None = None
    attempt_id: str | None = None
    manage_token: str | None = None  # 'booked': the visitor's private key to the booking


@dataclass(frozen=True)
class Receipt:
    """What became of one webhook delivery; ``web/`` turns it into an HTTP answer.

    ``outcome``: 'applied', 'duplicate', 'ignored', 'unusable', or an error code; ``error``
    is set (code, message) when the sender must be told it failed: a refused signature
    ('missing_signature', 'bad_signature', 'stale_signature', …) or an unreadable body
    ('not_json'); ``status`` is the HTTP status that error deserves.
    """

    outcome: str
    error: tuple[str, str] | None = None
    status: int = 200


@dataclass(frozen=True)
class Booking:
    """A booking as a person reads it (local or Calendly)."""

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
    sequence: int = 0  # the invitation's SEQUENCE: one more on every change
    cancel_reason: str = ""
    # Only on a booking just made: the visitor's private key to it (never stored as such).
    manage_token: str | None = field(default=None, compare=False, repr=False)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.visitor_tz)

    @property
    def place(self) -> Place | None:
        """Where the meeting happens (the meeting type's location), if it says."""
        return self.meeting.place(self.reference)
