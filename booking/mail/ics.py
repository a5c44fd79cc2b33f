"""Calendar invitations (.ics) for bookings, and "add to calendar" links.

A booking's .ics is an iTIP message (RFC 5546) from the desk (ORGANIZER) to the visitor
(ATTENDEE): ``METHOD:REQUEST`` while it stands, ``METHOD:CANCEL`` with
``STATUS:CANCELLED`` once cancelled, one stable UID, and a SEQUENCE that goes up on every
change, so a calendar that imported the first one updates (or removes) the same event.
Times are in UTC, so every calendar shows the right instant.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from icalendar import Calendar, Event, vCalAddress

from booking.domain.funnel import BookingStatus


def _summary(booking) -> str:
    return f"{booking.meeting.name} with {booking.analyst.name}"


def _description(booking, manage_url: str = "") -> str:
    lines = [_summary(booking), f"Reference: {booking.reference}"]
    place = booking.place
    if place:
        lines += ["", f"{place.label}: {place.text}"]
    if booking.notes:
        lines += ["", "Your notes:", booking.notes]
    if manage_url:
        lines += ["", f"Change or cancel: {manage_url}"]
    return "\n".join(lines)


def booking_ics(
    booking,
    *,
    brand: str,
    stamp: datetime,
    organizer: str = "bookings@localhost",
    manage_url: str = "",
) -> bytes:
    """The invitation for a booking as it stands now (``booking.domain.records.Booking``)."""
    canceled = booking.status == BookingStatus.CANCELED
    place = booking.place
    event = Event.new(
        uid=f"{booking.reference}@booking-desk",
        summary=_summary(booking),
        description=_description(booking, manage_url),
        start=booking.start.astimezone(UTC),
        end=booking.end.astimezone(UTC),
        stamp=stamp.astimezone(UTC),
        sequence=booking.sequence,
        status="CANCELLED" if canceled else "CONFIRMED",
        organizer=vCalAddress.new(organizer, cn=brand),
        attendees=[
            vCalAddress.new(
                booking.email,
                cn=booking.name or None,
                role="REQ-PARTICIPANT",
                partstat="ACCEPTED",
                rsvp=False,
            )
        ],
        location=place.text if place else None,
        url=place.url if place and place.is_link else None,
    )
    calendar = Calendar.new(
        prodid=f"-//{brand}//Booking Desk//EN",
        method="CANCEL" if canceled else "REQUEST",
        subcomponents=[event],
    )
    return calendar.to_ical()


def utc_stamp(when: datetime) -> str:
    """An instant as iCalendar's UTC form, e.g. 20261201T140000Z."""
    return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def google_calendar_link(booking, *, manage_url: str = "") -> str:
    """Google Calendar's 'create event' page, filled in with the booking."""
    place = booking.place
    query = {
        "action": "TEMPLATE",
        "text": _summary(booking),
        "dates": f"{utc_stamp(booking.start)}/{utc_stamp(booking.end)}",
        "details": _description(booking, manage_url),
    }
    if place:
        query["location"] = place.text
    return "https://calendar.google.com/calendar/render?" + urlencode(query)


def outlook_calendar_link(booking, *, manage_url: str = "") -> str:
    """Outlook on the web's 'new event' page, filled in with the booking."""
    place = booking.place
    query = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": _summary(booking),
        "startdt": booking.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "enddt": booking.end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "body": _description(booking, manage_url),
    }
    if place:
        query["location"] = place.text
    return "https://outlook.live.com/calendar/0/deeplink/compose?" + urlencode(query)
