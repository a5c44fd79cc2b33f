"""Branded emails: each renderer turns plain values into a ``Mail`` (text + escaped HTML),
which ``booking.mail.outbox`` stores and sends."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

from booking.mail.ics import booking_ics, utc_stamp


@dataclass(frozen=True)
class Mail:
    """One email, before it is queued: what it is about (``key``), to whom, and its parts."""

    kind: str
    key: str
    to: str
    subject: str
    text: str
    html: str
    attachments: tuple[tuple[str, str, bytes], ...] = ()  # (filename, mime type, data)
    attempt_id: str | None = None
    booking_ref: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def to_message(self, *, sender: str, brand: str, now: datetime) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = Address(display_name=brand, addr_spec=sender)
        msg["To"] = self.to
        msg["Subject"] = self.subject
        msg["Date"] = format_datetime(now)
        msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "booking-desk")
        for name, value in self.headers:
            msg[name] = value
        msg.set_content(self.text, cte="quoted-printable")
        msg.add_alternative(self.html, subtype="html", cte="quoted-printable")
        for filename, mime, data in self.attachments:
            maintype, subtype = mime.split("/", 1)
            calendar = mime == "text/calendar"
            params = {"method": _method(data), "charset": "utf-8"} if calendar else {}
            msg.add_attachment(
                data, maintype=maintype, subtype=subtype, filename=filename, params=params
            )
        return msg


def _method(ics: bytes) -> str:
    """The iTIP method an .ics declares (the MIME part must say the same)."""
    found = re.search(rb"^METHOD:([A-Z-]+)\r?$", ics, flags=re.M)
    return found[1].decode() if found else "PUBLISH"


# --------------------------------------------------------------------------- renderers
# A mail body is a list of blocks, rendered once as text and once as (escaped) HTML:
# ("p", text) | ("facts", ((label, value), ...)) | ("quote", text) | ("button"|"link", label, url)

ACCENT = "#1f3a5f"


def _text(title: str, blocks: list[tuple], footer: str) -> str:
    out = [title, ""]
    for kind, *rest in blocks:
        if kind == "p":
            out += [rest[0], ""]
        elif kind == "facts":
            out += [*(f"{label}: {value}" for label, value in rest[0]), ""]
        elif kind == "quote":
            out += [*(f"  {line}" for line in rest[0].splitlines()), ""]
        else:
            out += [f"{rest[0]}: {rest[1]}", ""]
    return "\n".join([*out, "--", footer, ""])


def _html(brand: str, title: str, blocks: list[tuple], footer: str) -> str:
    e = html.escape
    parts = []
    for kind, *rest in blocks:
        if kind == "p":
            parts.append(f'<p style="margin:0 0 14px">{e(rest[0])}</p>')
        elif kind == "facts":
            rows = "".join(
                f'<tr><td style="padding:3px 14px 3px 0;color:#6b7280;vertical-align:top">'
                f'{e(label)}</td><td style="padding:3px 0;font-weight:600">{e(value)}</td></tr>'
                for label, value in rest[0]
            )
            parts.append(f'<table role="presentation" style="margin:0 0 16px">{rows}</table>')
        elif kind == "quote":
            parts.append(
                '<blockquote style="margin:0 0 16px;padding:8px 12px;border-left:3px solid '
                f'#d1d5db;color:#374151">{e(rest[0]).replace(chr(10), "<br>")}</blockquote>'
            )
        elif kind == "button":
            parts.append(
                f'<p style="margin:20px 0"><a href="{e(rest[1])}" style="display:inline-block;'
                f"background:{ACCENT};color:#ffffff;text-decoration:none;padding:12px 22px;"
                f'border-radius:6px;font-weight:600">{e(rest[0])}</a></p>'
            )
        else:
            parts.append(
                f'<p style="margin:0 0 10px;font-size:14px"><a href="{e(rest[1])}" '
                f'style="color:{ACCENT}">{e(rest[0])}</a></p>'
            )
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        '<body style="margin:0;padding:0;background:#f3f4f6;font-family:-apple-system,'
        "'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2933\">"
        '<div style="max-width:560px;margin:0 auto;background:#ffffff">'
        f'<div style="background:{ACCENT};color:#ffffff;padding:16px 20px;font-size:18px;'
        f'font-weight:600">{e(brand)}</div>'
        '<div style="padding:22px 20px;font-size:16px;line-height:1.5">'
        f'<h1 style="font-size:21px;line-height:1.3;margin:0 0 14px">{e(title)}</h1>'
        f"{''.join(parts)}</div>"
        f'<div style="padding:14px 20px;font-size:12px;color:#6b7280;border-top:1px solid '
        f'#e5e7eb">{e(footer)}</div></div></body></html>'
    )


def _mail(*, brand: str, title: str, blocks: list[tuple], footer: str, **fields) -> Mail:
    return Mail(
        text=_text(title, blocks, footer), html=_html(brand, title, blocks, footer), **fields
    )


def when(booking) -> str:
    """'Tuesday 8 December 2026, 10:00–11:00 (Europe/London)', in the visitor's zone."""
    zone = ZoneInfo(booking.visitor_tz)
    s, t = booking.start.astimezone(zone), booking.end.astimezone(zone)
    end = f"{t:%H:%M}" if t.date() == s.date() else f"{t:%A} {t.day} {t:%B}, {t:%H:%M}"
    return f"{s:%A} {s.day} {s:%B %Y}, {s:%H:%M}–{end} ({booking.visitor_tz})"


def _short(booking) -> str:
    s = booking.start.astimezone(ZoneInfo(booking.visitor_tz))
    return f"{s:%a} {s.day} {s:%b} {s:%H:%M} {s:%Z}"


def _hi(name: str) -> str:
    return f"Hi {name}," if name else "Hi,"


def _facts(booking) -> tuple:
    place = booking.place
    return (
        ("When", when(booking)),
        ("With", booking.analyst.name),
        ("Session", booking.meeting.name),
        *((("Where", f"{place.label}: {place.text}"),) if place else ()),
        ("Reference", booking.reference),
    )


def _place_link(booking) -> list[tuple]:
    """A link to join the meeting, when it happens at one."""
    place = booking.place
    if place and place.is_link:
        return [("link", "Join the video call", place.url)]
    if place and place.kind == "phone":
        return [("link", f"Call {place.text}", place.url)]
    return []


def _booked(
    booking,
    *,
    brand: str,
    kind: str,
    links: list[tuple],
    organizer: str = "bookings@localhost",
    manage_url: str = "",
    title: str = "You're booked",
    news: str = "",
    key: str = "",
    subject: str = "Booked",
    stamp: datetime | None = None,
) -> Mail:
    ref = booking.reference
    ics = booking_ics(
        booking,
        brand=brand,
        stamp=stamp or booking.created_at,
        organizer=organizer,
        manage_url=manage_url,
    )
    blocks = [
        ("p", _hi(booking.name)),
        ("p", news or f"Your {booking.meeting.name} with {booking.analyst.name} is booked."),
        ("facts", _facts(booking)),
        *_place_link(booking),
    ]
    if booking.notes:
        blocks += [("p", "Your notes:"), ("quote", booking.notes)]
    blocks += [("p", "The calendar invitation is attached."), *links]
    return _mail(
        brand=brand,
        title=title,
        blocks=blocks,
        footer=f"{brand} · you booked with this address.",
        kind=kind,
        key=key or f"{kind}:{ref}",
        to=booking.email,
        subject=f"{subject}: {booking.meeting.name} with {booking.analyst.name}, {_short(booking)}",
        attachments=((f"{ref}.ics", "text/calendar", ics),),
        attempt_id=getattr(booking, "attempt_id", None),
        booking_ref=ref,
    )


def confirmation(
    booking, *, brand: str, manage_url: str, organizer: str = "bookings@localhost"
) -> Mail:
    """A local booking is confirmed: the details, where to meet, the invitation, and the
    private link to change or cancel it."""
    links = [("button", "Change or cancel your booking", manage_url)]
    return _booked(
        booking,
        brand=brand,
        kind="confirmation",
        links=links,
        organizer=organizer,
        manage_url=manage_url,
    )


def rescheduled(
    booking,
    *,
    brand: str,
    manage_url: str,
    previous: str,
    organizer: str = "bookings@localhost",
    stamp: datetime | None = None,
) -> Mail:
    """A local booking moved to another time: the new time, an updated invitation (same
    UID, higher SEQUENCE) that replaces the old one in the visitor's calendar."""
    what = f"{booking.meeting.name} with {booking.analyst.name}"
    return _booked(
        booking,
        brand=brand,
        kind="rescheduled",
        links=[("button", "Change or cancel your booking", manage_url)],
        organizer=organizer,
        manage_url=manage_url,
        title="Your booking has moved",
        news=f"Your {what} has moved from {previous} to the time below.",
        key=f"rescheduled:{booking.reference}:{booking.sequence}",
        subject="Moved",
        stamp=stamp,
    )


def reminder(booking, *, brand: str, manage_url: str, hours: float) -> Mail:
    """A reminder ahead of a meeting: when, where, and the link to change it."""
    what = f"{booking.meeting.name} with {booking.analyst.name}"
    soon = f"in {hours:g} hour{'s' if hours != 1 else ''}" if hours < 48 else "soon"
    blocks = [
        ("p", _hi(booking.name)),
        ("p", f"A reminder: your {what} starts {soon}."),
        ("facts", _facts(booking)),
        *_place_link(booking),
        ("button", "Change or cancel your booking", manage_url),
    ]
    start = utc_stamp(booking.start)
    return _mail(
        brand=brand,
        title=f"Coming up: {what}",
        blocks=blocks,
        footer=f"{brand} · you booked with this address.",
        kind="reminder",
        key=f"reminder:{booking.reference}:{start}:{hours:g}",
        to=booking.email,
        subject=f"Reminder: {what}, {_short(booking)}",
        attempt_id=getattr(booking, "attempt_id", None),
        booking_ref=booking.reference,
    )


def calendly_confirmation(booking, *, brand: str, cancel_url: str, reschedule_url: str) -> Mail:
    """Our branded confirmation of a Calendly booking, with Calendly's own links."""
    links = [("link", "Reschedule", reschedule_url), ("link", "Cancel", cancel_url)]
    links = [link for link in links if link[2]]
    return _booked(booking, brand=brand, kind="calendly_confirmation", links=links)


def cancellation(
    booking,
    *,
    brand: str,
    book_url: str,
    refund_due: bool,
    organizer: str = "bookings@localhost",
    stamp: datetime | None = None,
) -> Mail:
    """A booking was cancelled; say so, mention a refund if one is due, offer to rebook.
    The attached METHOD:CANCEL invitation takes it out of the visitor's calendar."""
    what = f"{booking.meeting.name} with {booking.analyst.name}"
    blocks = [
        ("p", _hi(booking.name)),
        ("p", f"Your {what} on {when(booking)} is cancelled."),
        ("facts", (("Reference", booking.reference),)),
    ]
    if refund_due:
        blocks.append(("p", "Your payment will be refunded to the card you paid with."))
    blocks.append(("button", "Book another time", book_url))
    return _mail(
        brand=brand,
        title="Your booking is cancelled",
        blocks=blocks,
        footer=f"{brand} · you booked with this address.",
        kind="cancellation",
        key=f"cancellation:{booking.reference}",
        to=booking.email,
        subject=f"Cancelled: {what}, {_short(booking)}",
        attachments=(
            (
                f"{booking.reference}.ics",
                "text/calendar",
                booking_ics(
                    booking, brand=brand, stamp=stamp or booking.created_at, organizer=organizer
                ),
            ),
        ),
        attempt_id=getattr(booking, "attempt_id", None),
        booking_ref=booking.reference,
    )


def followup(
    *,
    to: str,
    name: str,
    attempt_id: str,
    number: int,
    analyst_name: str,
    meeting_name: str,
    resume_url: str,
    stop_url: str,
    brand: str,
) -> Mail:
    """A friendly nudge to someone who started booking and did not finish."""
    what = f"{meeting_name} with {analyst_name}" if meeting_name else f"session with {analyst_name}"
    blocks = [
        ("p", _hi(name)),
        ("p", f"You started booking a {what} but didn't get to the end."),
        ("p", "If you'd still like to meet, pick up where you left off:"),
        ("button", "Finish booking", resume_url),
        ("p", "If not, no problem: you can stop these reminders with one click."),
        ("link", "Stop reminders", stop_url),
    ]
    return _mail(
        brand=brand,
        title="Still want to book?" if number <= 1 else "A quick reminder",
        blocks=blocks,
        footer=f"{brand} · you started a booking with this address.",
        kind="followup",
        key=f"followup:{attempt_id}:{number}",
        to=to,
        subject=f"Your {what} isn't booked yet",
        attempt_id=attempt_id,
        headers=(  # RFC 8058: mail clients may stop them with one POST to stop_url
            ("List-Unsubscribe", f"<{stop_url}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ),
    )


def late_payment_refund(
    *,
    to: str,
    name: str,
    payment_id: str,
    attempt_id: str,
    amount: str,
    what: str,
    when_text: str,
    book_url: str,
    brand: str,
) -> Mail:
    """A payment came through after its held time had gone to someone else: nothing is
    booked, the payment is due back in full, and here is the way to choose another time."""
    blocks = [
        ("p", _hi(name)),
        (
            "p",
            f"Your payment of {amount} for a {what} on {when_text} came through after "
            "that time had been taken, so nothing was booked.",
        ),
        ("p", f"Your {amount} will be refunded in full to the card you paid with."),
        ("facts", (("Payment", payment_id),)),
        ("button", "Choose another time", book_url),
    ]
    return _mail(
        brand=brand,
        title="Your payment will be refunded",
        blocks=blocks,
        footer=f"{brand} · you paid with this address.",
        kind="refund_due",
        key=f"refund_due:{payment_id}",
        to=to,
        subject=f"Refund due: {what}, {when_text}",
        attempt_id=attempt_id,
    )
