"""Calendar files (.ics) for bookings, in UTC so every calendar shows the right instant."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event


def booking_ics(booking, *, brand: str, stamp: datetime) -> bytes:
    """A one-event calendar for a booking (``booking.services.Booking``)."""
    lines = [
        f"{booking.meeting.name} with {booking.analyst.name}",
        f"Reference: {booking.reference}",
    ]
    if booking.notes:
        lines += ["", "Your notes:", booking.notes]
    event = Event.new(
        uid=f"{booking.reference}@booking-desk",
        summary=f"{booking.meeting.name} with {booking.analyst.name}",
        description="\n".join(lines),
        start=booking.start.astimezone(UTC),
        end=booking.end.astimezone(UTC),
        stamp=stamp.astimezone(UTC),
        sequence=0,
        status="CONFIRMED",
    )
    calendar = Calendar.new(
        prodid=f"-//{brand}//Booking Desk//EN", method="PUBLISH", subcomponents=[event]
    )
    return calendar.to_ical()
