"""Calendly links and the way back (pure): the pre-filled single-use link, which hosts are
Calendly's, and what Calendly's "redirect to an external site" appends."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

UTM_SOURCE = "booking-desk"


def prefill_url(
    booking_url: str,
    *,
    name: str,
    email: str,
    notes: str,
    attempt_id: str,
    day: date,
    notes_key: str | None = "a1",
) -> str:
    """The single-use link, pre-filled and opened on the chosen day; every value encoded.
    ``notes_key`` is the pre-fill key (``a1``…``a10``) of the event type's first free-text
    question, which the notes answer (None: it has none, so they are left out)."""
    parts = urlsplit(booking_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [("name", name), ("email", email)]
    if notes and notes_key:
        query.append((notes_key, notes))
    query += [
        ("utm_source", UTM_SOURCE),
        ("utm_content", attempt_id),
        ("month", f"{day:%Y-%m}"),
        ("date", day.isoformat()),
    ]
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote, safe="")))


def is_calendly_host(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and (host == "calendly.com" or host.endswith(".calendly.com"))


def same_origin(url: str, origin: str) -> bool:
    a, b = urlsplit(url), urlsplit(origin)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


REDIRECT_FIELDS = (
    "assigned_to",
    "event_type_uuid",
    "event_type_name",
    "event_start_time",
    "event_end_time",
    "invitee_uuid",
    "invitee_full_name",
    "invitee_first_name",
    "invitee_last_name",
    "invitee_email",
    *(f"answer_{i}" for i in range(1, 11)),
    "utm_source",
    "utm_content",
)


def redirect_details(params: dict[str, str]) -> dict[str, str]:
    """What Calendly's 'redirect to external site' appended (untrusted: display only).

    Calendly has been seen to double-encode these values, so a value that still holds
    percent-escapes after the first decode is decoded once more.
    """
    out = {}
    for key in REDIRECT_FIELDS:
        value = params.get(key)
        if isinstance(value, list):
            value = value[-1] if value else None
        if value:
            if re.search(r"%[0-9A-Fa-f]{2}", value):
                value = unquote(value)
            out[key] = value[:500]
    return out
