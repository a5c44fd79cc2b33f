"""Reminder emails before meetings, on an injected clock: at the right instant (across a
daylight-saving change too), once each with two runners, never for a cancelled or
moved-away time, and for Calendly bookings only when asked."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest

from booking import cli
from booking.desk import Desk
from booking.domain.catalogue import Catalogue
from booking.domain.request import BookingRequest
from booking.settings import Settings
from booking.store import Store, iso
from tests.conftest import CATALOGUE, FakeClock, booking_args


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


EVERY_DAY = {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def make_desk(tmp_path, now: datetime, **settings) -> Desk:
    catalogue = Catalogue.from_dict(
        {
            "analysts": [
                CATALOGUE["analysts"][0],
                {
                    **CATALOGUE["analysts"][1],
                    "hours": EVERY_DAY,
                    "min_notice_hours": 0,
                    "horizon_days": 60,
                    "meeting_types": [
                        {
                            "id": "intro",
                            "name": "Intro call",
                            "duration_minutes": 30,
                            "location": "tel:+44 20 7946 0000",
                        }
                    ],
                },
            ]
        }
    )
    s = Settings(db_path=str(tmp_path / "r.db"), public_url="http://testserver", **settings)
    return Desk(s, catalogue, Store(s.db_path), FakeClock(now))


def book(desk: Desk, start: datetime, **changes):
    return desk.local.book(BookingRequest(**booking_args(start=start, **changes)))


def reminders(desk: Desk) -> list[dict]:
    return [m for m in desk.owner.outbox() if m["kind"] == "reminder"]


def test_reminders_fire_24_hours_and_1_hour_before_not_a_minute_earlier(tmp_path):
    """With the default 24,1: nothing at T-24h-1min, one at T-24h, the second at T-1h."""
    start = utc(2026, 12, 10, 15)
    desk = make_desk(tmp_path, utc(2026, 12, 7, 8))
    booking = book(desk, start)
    desk.clock.now = start - timedelta(hours=24, minutes=1)
    assert desk.reminders.run() == {}
    desk.clock.now = start - timedelta(hours=24)
    assert desk.reminders.run() == {"sent": 1}
    assert desk.reminders.run() == {}  # once
    desk.clock.now = start - timedelta(hours=1, seconds=1)
    assert desk.reminders.run() == {}
    desk.clock.now = start - timedelta(hours=1)
    assert desk.reminders.run() == {"sent": 1}
    sent = reminders(desk)
    assert len(sent) == 2 and all(booking.reference in m["key"] for m in sent)
    text = sent[0]["text"]
    assert "starts in 1 hour" in text and "Where: Phone: +44 20 7946 0000" in text
    url = re.search(r"http://testserver/manage\?\S+", text)[0]
    token = re.search(r"token=([\w-]+)", url)[1]
    assert desk.manage.open(booking.reference, token).reference == booking.reference
    desk.clock.now = start + timedelta(minutes=1)
    assert desk.reminders.run() == {}  # never after it started


def test_a_reminder_across_the_clocks_going_forward_is_24_real_hours_before(tmp_path):
    """Sunday 29 March 2026 12:00 London (BST, 11:00 UTC): the 24-hour reminder goes at
    11:00 UTC on Saturday (11:00 GMT), 24 elapsed hours, not at 12:00 wall-clock time."""
    start = utc(2026, 3, 29, 11)
    desk = make_desk(tmp_path, utc(2026, 3, 20, 8), reminder_hours="24")
    book(desk, start)
    desk.clock.now = utc(2026, 3, 28, 10, 59)
    assert desk.reminders.run() == {}
    desk.clock.now = utc(2026, 3, 28, 11, 0)
    assert desk.reminders.run() == {"sent": 1}


def test_a_reminder_across_the_clocks_going_back_is_24_real_hours_before(tmp_path):
    """Sunday 25 October 2026 12:00 London (GMT, 12:00 UTC): the reminder goes at 12:00
    UTC on Saturday (13:00 BST), not at 12:00 BST (25 hours before)."""
    start = utc(2026, 10, 25, 12)
    desk = make_desk(tmp_path, utc(2026, 10, 20, 8), reminder_hours="24")
    book(desk, start)
    desk.clock.now = utc(2026, 10, 24, 11, 0)  # 12:00 BST on Saturday
    assert desk.reminders.run() == {}
    desk.clock.now = utc(2026, 10, 24, 12, 0)
    assert desk.reminders.run() == {"sent": 1}


def test_no_reminder_for_a_cancelled_booking(tmp_path):
    """Cancelled before its reminder: nothing is sent, ever."""
    start = utc(2026, 12, 10, 15)
    desk = make_desk(tmp_path, utc(2026, 12, 7, 8))
    booking = book(desk, start)
    desk.manage.cancel(booking.reference, booking.manage_token)
    for hours in (24, 1):
        desk.clock.now = start - timedelta(hours=hours)
        assert desk.reminders.run() == {}
    assert reminders(desk) == []


def test_a_moved_booking_is_reminded_of_its_new_time_only(tmp_path):
    """The old time's reminders never go; the new time's do, at its own instants."""
    old, new = utc(2026, 12, 10, 15), utc(2026, 12, 12, 9)
    desk = make_desk(tmp_path, utc(2026, 12, 7, 8))
    booking = book(desk, old)
    desk.clock.now = old - timedelta(hours=30)
    desk.manage.reschedule(booking.reference, booking.manage_token, new, "Europe/London")
    desk.clock.now = old - timedelta(hours=24)
    assert desk.reminders.run() == {}
    desk.clock.now = new - timedelta(hours=24)
    assert desk.reminders.run() == {"sent": 1}
    [sent] = desk.store.db.query("SELECT * FROM reminders_sent")
    assert sent["start_utc"] == iso(new) and sent["hours"] == "24"


def test_a_booking_made_inside_a_lead_skips_that_reminder(tmp_path):
    """Booked 5 hours ahead: the confirmation is fresh, so no 24-hour reminder; the
    1-hour one still goes."""
    start = utc(2026, 12, 7, 13)
    desk = make_desk(tmp_path, utc(2026, 12, 7, 8))
    book(desk, start)
    assert desk.reminders.run() == {}
    desk.clock.now = start - timedelta(hours=1)
    assert desk.reminders.run() == {"sent": 1}
    assert "starts in 1 hour" in reminders(desk)[0]["text"]


def test_two_runners_at_once_send_each_reminder_exactly_once(tmp_path):
    """Eight threads run the job together over many due bookings: one mail each."""
    desk = make_desk(tmp_path, utc(2026, 12, 7, 8))
    for n in range(12):
        book(desk, utc(2026, 12, 9, 8, 30) + timedelta(hours=n), email=f"v{n}@example.com")
    desk.clock.now = utc(2026, 12, 9, 8)
    other = Desk(desk.settings, desk.catalogue, Store(desk.store.path), desk.clock)
    barrier = threading.Barrier(8)
    results = []

    def run(which: Desk) -> None:
        barrier.wait()
        results.append(which.reminders.run())

    threads = [threading.Thread(target=run, args=(d,)) for d in [desk, other] * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["sent"] for r in results) == 12
    assert len(reminders(desk)) == 12
    assert desk.store.db["reminders_sent"].count == 12


@pytest.mark.parametrize(("ours", "expected"), [(0, {}), (1, {"sent": 1})])
def test_calendly_bookings_are_reminded_by_calendly_unless_asked(tmp_path, ours, expected):
    """Calendly reminds its own invitees; ours only with BOOKING_CALENDLY_CONFIRMATIONS."""
    desk = make_desk(tmp_path, utc(2026, 12, 7, 8), calendly_confirmations=ours)
    now = iso(desk.clock())
    desk.store.db["bookings"].insert(
        {
            "reference": "BD-CALE-NDLY-0001",
            "provider": "calendly",
            "analyst": "assassin",
            "meeting_type": "https://api.calendly.com/event_types/X",
            "start_utc": iso(utc(2026, 12, 9, 9)),
            "end_utc": iso(utc(2026, 12, 9, 9, 30)),
            "status": "confirmed",
            "name": "Ada",
            "email": "ada@example.com",
            "visitor_tz": "Europe/London",
            "created_at": now,
            "scheduled_at": now,
        }
    )
    desk.clock.now = utc(2026, 12, 8, 9)
    assert desk.reminders.run() == expected


def test_reminders_can_be_switched_off(tmp_path):
    """BOOKING_REMINDER_HOURS=none: the job sends nothing."""
    desk = make_desk(tmp_path, utc(2026, 12, 7, 8), reminder_hours="none")
    book(desk, utc(2026, 12, 9, 9))
    desk.clock.now = utc(2026, 12, 9, 8, 30)
    assert desk.reminders.run() == {}


def test_the_command_line_runs_the_reminders_and_sends_the_mail(tmp_path, monkeypatch, capsys):
    """`booking reminders run` queues what is due and hands it to the outbox."""
    monkeypatch.setenv("BOOKING_DB_PATH", str(tmp_path / "cli.db"))
    monkeypatch.setenv("BOOKING_REMINDER_HOURS", "24,1")
    settings = Settings.from_env()
    desk = Desk(
        settings,
        Catalogue.load(settings.catalogue_path),
        Store(settings.db_path),
        FakeClock(datetime.now(UTC)),
    )
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=45)
    desk.store.db["bookings"].insert(
        {
            "reference": "BD-CLI0-0000-0001",
            "provider": "local",
            "analyst": "maya-chen",
            "meeting_type": "intro",
            "start_utc": iso(start),
            "end_utc": iso(start + timedelta(minutes=20)),
            "status": "confirmed",
            "name": "Ada",
            "email": "ada@example.com",
            "visitor_tz": "Europe/London",
            "created_at": iso(start - timedelta(days=3)),
            "scheduled_at": iso(start - timedelta(days=3)),
        }
    )
    assert cli.main(["reminders", "run"]) == 0
    out = capsys.readouterr().out
    assert "Reminders: {'sent': 1}" in out and "'kept': 1" in out
