"""Booking a local analyst through the desk: validation, slot rules and the funnel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking.domain.request import BookingRequest
from booking.errors import InvalidInput, NotBookable, NotFound, SlotTaken, SlotUnavailable
from tests.conftest import booking_args


def test_a_valid_request_books_and_records_the_funnel(desk):
    """The booking is stored confirmed, normalised, and the attempt (whose request named
    the time) goes slot chosen, details submitted, booked."""
    b = desk.local.book(
        BookingRequest(**booking_args(name="  Ada   Lovelace ", email="Ada@Example.COM"))
    )
    assert b.status == "confirmed"
    assert (b.name, b.email) == ("Ada Lovelace", "Ada@example.com")
    assert b.end - b.start == timedelta(minutes=30)
    row = desk.store.booking(b.reference)
    attempt = desk.store.attempt(row["attempt_id"])
    assert attempt["status"] == "booked" and attempt["booking_ref"] == b.reference
    steps = [e["step"] for e in desk.store.events(attempt["id"])]
    assert steps == ["started", "slot_chosen", "details_submitted", "booked"]
    assert desk.booking(b.reference.lower()) == b


def test_the_same_slot_twice_is_refused_with_a_clear_message(desk):
    """The second visitor hears which time was taken, in their own zone."""
    desk.local.book(BookingRequest(**booking_args()))
    with pytest.raises(SlotTaken, match=r"11:00 on Mon 7 Dec was just taken"):
        desk.local.book(
            BookingRequest(**booking_args(timezone="Europe/Berlin", email="bob@example.com"))
        )


def test_a_slot_inside_the_buffer_is_taken(desk):
    """10:30 is free on the grid but within the 15-minute buffer after 10:00-10:30."""
    desk.local.book(BookingRequest(**booking_args()))
    with pytest.raises(SlotTaken):
        desk.local.book(
            BookingRequest(**booking_args(start=datetime(2026, 12, 7, 10, 30, tzinfo=UTC)))
        )
    assert desk.local.book(
        BookingRequest(**booking_args(start=datetime(2026, 12, 7, 11, tzinfo=UTC)))
    )


@pytest.mark.parametrize(
    "start",
    [
        datetime(2026, 12, 7, 9, 0, tzinfo=UTC),  # inside the 2-hour notice
        datetime(2026, 12, 7, 12, 0, tzinfo=UTC),  # lunch break
        datetime(2026, 12, 7, 10, 10, tzinfo=UTC),  # off the 30-minute grid
        datetime(2026, 12, 9, 10, 0, tzinfo=UTC),  # a Wednesday: day off
        datetime(2027, 1, 11, 10, 0, tzinfo=UTC),  # beyond the 30-day horizon
    ],
)
def test_times_that_are_not_offered_are_refused(desk, start):
    """Only times the page would show can be booked, whatever a client sends; the
    refusal names the time (with its year when it is not this year's) and the meeting."""
    with pytest.raises(SlotUnavailable, match="is not a time Maya Chen offers for the ") as e:
        desk.local.book(BookingRequest(**booking_args(start=start)))
    assert ("Jan 2027 is" in str(e.value)) == (start.year == 2027)
    assert desk.store.db["bookings"].count == 0


@pytest.mark.parametrize(
    ("start", "said"),
    [
        (datetime(2026, 12, 1, 10, 0, tzinfo=UTC), "10:00 on Tue 1 Dec has already passed"),
        (datetime(2020, 11, 30, 12, 0, tzinfo=UTC), "12:00 on Mon 30 Nov 2020 has already passed"),
    ],
)
def test_a_time_in_the_past_is_refused_as_passed_with_its_year(desk, start, said):
    """A start in the past says so (with the year when it is another year's), rather than
    that the analyst does not offer it."""
    with pytest.raises(SlotUnavailable, match=said):
        desk.local.book(BookingRequest(**booking_args(start=start, timezone="UTC")))
    assert desk.store.db["bookings"].count == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "ada@", "email address is not valid"),
        ("email", "", "Please give an email address"),
        ("name", "   ", "Please tell us your name"),
        ("name", "x" * 101, "shorten your name"),
        ("notes", "n" * 2001, "at most 2,000 characters"),
        ("timezone", "Mars/Olympus", "not a time zone we know"),
    ],
)
def test_bad_details_are_refused_and_nothing_is_booked(desk, field, value, message):
    """Each invalid field gets a message that says what to fix, and no booking is written."""
    with pytest.raises(InvalidInput, match=message):
        desk.local.book(BookingRequest(**booking_args(**{field: value})))
    assert desk.store.db["bookings"].count == 0


def test_calendly_analysts_and_unknown_names_are_refused(desk):
    """Calendly analysts are not bookable locally; unknown ones are not found."""
    with pytest.raises(NotBookable, match="Calendly"):
        desk.local.book(BookingRequest(**booking_args(analyst="assassin")))
    with pytest.raises(NotFound):
        desk.local.book(BookingRequest(**booking_args(analyst="nobody")))
    with pytest.raises(NotFound):
        desk.local.book(BookingRequest(**booking_args(meeting_type="nothing")))


def test_open_days_drop_a_fully_booked_day(desk, clock):
    """Once Tuesday's every slot is booked, Tuesday disappears from the date list."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Europe/London")
    tuesday = datetime(2026, 12, 8).date()
    days = desk.offers.open_days("maya", "intro", tz)
    assert tuesday in days
    visitor = 0
    while days.get(tuesday):
        visitor += 1  # a visitor each: one email may hold only a few upcoming sessions
        slot = days[tuesday][0].start
        desk.local.book(BookingRequest(**booking_args(start=slot, email=f"v{visitor}@example.com")))
        days = desk.offers.open_days("maya", "intro", tz)
    assert tuesday not in days and datetime(2026, 12, 14).date() in days
