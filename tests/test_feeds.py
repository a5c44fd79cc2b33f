"""Analysts' own calendars: Google's and Outlook's iCalendar exports read into busy time,
served over real HTTP on loopback (ETag, If-Modified-Since, failures), shared for a TTL,
the last good copy kept, and never a time offered that a feed cannot vouch for."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from booking.desk import Desk
from booking.domain.catalogue import Catalogue
from booking.domain.request import BookingRequest
from booking.domain.slots import Interval, free_slots
from booking.errors import CalendarUnavailable, ConfigError, SlotTaken
from booking.feeds import FeedUnreadable, busy_intervals, parse
from booking.settings import Settings
from booking.store import Store
from booking.web.routes import create_routes
from tests.conftest import FakeClock, booking_args
from tests.servers import serve

FEEDS = Path(__file__).parent / "calendar_feeds"
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
WINDOW = (datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 12, 20, tzinfo=UTC))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# Every block both exports describe, in UTC, between 20 Oct and 20 Dec 2026.
EXPECTED = [
    # NY desk sync, Fridays 09:00 New York: 13:00 UTC while New York is on EDT, 14:00 UTC
    # once it is on EST (1 Nov), whatever London does (it changed on 25 Oct).
    Interval(utc(2026, 10, 23, 13), utc(2026, 10, 23, 14)),
    Interval(utc(2026, 10, 30, 13), utc(2026, 10, 30, 14)),
    Interval(utc(2026, 11, 3, 10), utc(2026, 11, 3, 10, 30)),  # weekly 1:1, Tuesdays 10:00
    Interval(utc(2026, 11, 6, 14), utc(2026, 11, 6, 15)),
    Interval(utc(2026, 11, 10, 10), utc(2026, 11, 10, 10, 30)),
    Interval(utc(2026, 11, 13, 14), utc(2026, 11, 13, 15)),  # COUNT=4: the last one
    Interval(utc(2026, 11, 17, 10), utc(2026, 11, 17, 10, 30)),
    Interval(utc(2026, 11, 24, 10), utc(2026, 11, 24, 10, 30)),
    Interval(utc(2026, 12, 1, 10), utc(2026, 12, 1, 10, 30)),
    # 8 Dec is an EXDATE; the dentist; the two-day conference (all day, London days);
    # the 15 Dec instance moved to Wednesday 16th 15:00. Transparent ("free") and
    # cancelled events are absent.
    Interval(utc(2026, 12, 9, 14), utc(2026, 12, 9, 15)),
    Interval(utc(2026, 12, 10), utc(2026, 12, 12)),
    Interval(utc(2026, 12, 16, 15), utc(2026, 12, 16, 15, 30)),
]


@pytest.mark.parametrize("export", ["google-export.ics", "outlook-export.ics"])
def test_google_and_outlook_exports_block_exactly_their_busy_time(export):
    """Recurring weekly event with an EXDATE and one moved instance, an all-day event, a
    TZID event across a DST change: blocked; transparent, 'free' and cancelled: not."""
    data = (FEEDS / export).read_bytes()
    assert busy_intervals(data, LONDON, *WINDOW) == EXPECTED


def test_an_all_day_event_blocks_the_whole_day_in_the_analysts_own_zone():
    """The same conference, for an analyst in New York: their midnight to midnight."""
    data = (FEEDS / "google-export.ics").read_bytes()
    blocks = busy_intervals(data, NEW_YORK, utc(2026, 12, 10), utc(2026, 12, 11))
    assert Interval(utc(2026, 12, 10, 5), utc(2026, 12, 12, 5)) in blocks


CALENDAR = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{extra}{events}END:VCALENDAR\r\n"
)


def event(uid: str, *lines: str) -> str:
    return (
        "BEGIN:VEVENT\r\n"
        + f"UID:{uid}\r\n"
        + "".join(f"{x}\r\n" for x in lines)
        + ("END:VEVENT\r\n")
    )


def test_floating_times_are_the_analysts_wall_clock():
    """An event with no zone at all is read in the analyst's own zone."""
    data = CALENDAR.format(
        extra="", events=event("f", "DTSTART:20261207T100000", "DTEND:20261207T110000")
    ).encode()
    assert busy_intervals(data, NEW_YORK, utc(2026, 12, 7), utc(2026, 12, 8)) == [
        Interval(utc(2026, 12, 7, 15), utc(2026, 12, 7, 16))
    ]


def test_a_google_feed_in_utc_recurs_on_its_calendars_wall_clock_across_dst():
    """Google writes a recurring event in UTC with X-WR-TIMEZONE; repaired by x-wr-timezone
    it stays at 10:00 London after the clocks go back (10:00 UTC, not 09:00)."""
    data = CALENDAR.format(
        extra="X-WR-TIMEZONE:Europe/London\r\n",
        events=event(
            "g", "DTSTART:20261020T090000Z", "DTEND:20261020T100000Z", "RRULE:FREQ=WEEKLY;COUNT=3"
        ),
    ).encode()
    assert busy_intervals(data, LONDON, utc(2026, 10, 19), utc(2026, 11, 5)) == [
        Interval(utc(2026, 10, 20, 9), utc(2026, 10, 20, 10)),
        Interval(utc(2026, 10, 27, 10), utc(2026, 10, 27, 11)),
        Interval(utc(2026, 11, 3, 10), utc(2026, 11, 3, 11)),
    ]


def test_an_apple_alarm_with_its_own_uid_does_not_confuse_the_event():
    """Apple puts a UID inside each VALARM; only the event's own properties count."""
    data = CALENDAR.format(
        extra="",
        events=event(
            "apple-1",
            "DTSTART;TZID=Europe/London:20261207T100000",
            "DTEND;TZID=Europe/London:20261207T110000",
            "RRULE:FREQ=DAILY;COUNT=2",
            "BEGIN:VALARM",
            "UID:alarm-uid-1",
            "X-WR-ALARMUID:alarm-uid-1",
            "TRIGGER:-PT15M",
            "ACTION:DISPLAY",
            "END:VALARM",
        ),
    ).encode()
    assert busy_intervals(data, LONDON, utc(2026, 12, 7), utc(2026, 12, 9)) == [
        Interval(utc(2026, 12, 7, 10), utc(2026, 12, 7, 11)),
        Interval(utc(2026, 12, 8, 10), utc(2026, 12, 8, 11)),
    ]


def test_a_series_that_ended_before_the_window_is_skipped_but_its_moved_instance_is_not():
    """Ended series are left out before parsing (UNTIL before the window), never what
    could still reach into it: an instance moved into the window, a rule still running,
    or a COUNT the prefilter does not expand."""
    data = CALENDAR.format(
        extra="",
        events=event(
            "ended",
            "DTSTART:20250106T100000Z",
            "DTEND:20250106T110000Z",
            "RRULE:FREQ=WEEKLY;UNTIL=20250601T000000Z",
        )
        + event(
            "ended",
            "RECURRENCE-ID:20250113T100000Z",
            "DTSTART:20261208T150000Z",
            "DTEND:20261208T160000Z",
        )
        + event(
            "running",
            "DTSTART:20250107T090000Z",
            "DTEND:20250107T093000Z",
            "RRULE:FREQ=WEEKLY;UNTIL=20261209T000000Z",
        )
        + event(
            "counted",
            "DTSTART:20261201T120000Z",
            "DTEND:20261201T123000Z",
            "RRULE:FREQ=DAILY;COUNT=10",
        ),
    ).encode()
    blocks = busy_intervals(data, LONDON, utc(2026, 12, 7), utc(2026, 12, 9))
    assert blocks == [
        Interval(utc(2026, 12, 7, 12), utc(2026, 12, 7, 12, 30)),
        Interval(utc(2026, 12, 8, 9), utc(2026, 12, 8, 9, 30)),
        Interval(utc(2026, 12, 8, 12), utc(2026, 12, 8, 12, 30)),
        Interval(utc(2026, 12, 8, 15), utc(2026, 12, 8, 16)),
    ]


WINDOWS = [(utc(2026, 12, 7), utc(2027, 2, 5)), (utc(2028, 2, 1), utc(2028, 3, 1))]


@settings(max_examples=150, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2027, 3, 1)),
    freq=st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY", "HOURLY"]),
    count=st.integers(1, 40),
    interval=st.integers(1, 4),
    byday=st.sampled_from(["", ";BYDAY=MO", ";BYDAY=TU,FR", ";BYDAY=1MO", ";BYMONTHDAY=31"]),
    hours=st.integers(1, 60),
    window=st.sampled_from(WINDOWS),
)
# the edges: the 31st of months (7th is 31 Dec), 29 February (next in 2028), a last week
@example(datetime(2026, 1, 31, 9), "MONTHLY", 7, 1, "", 1, WINDOWS[0])
@example(datetime(2024, 2, 29, 9), "YEARLY", 2, 1, "", 1, WINDOWS[1])
@example(datetime(2026, 10, 5, 9), "WEEKLY", 10, 1, "", 1, WINDOWS[0])
def test_the_prefilter_never_drops_a_counted_series_that_reaches_the_window(
    start, freq, count, interval, byday, hours, window
):
    """A series ending after COUNT occurrences (the 31st of months, 29 February, BY*
    parts, long events) blocks the same time whether or not the prefilter ran first."""
    lines = [
        f"DTSTART:{start:%Y%m%dT%H%M%S}Z",
        f"DTEND:{start + timedelta(hours=hours):%Y%m%dT%H%M%S}Z",
        f"RRULE:FREQ={freq};INTERVAL={interval};COUNT={count}{byday}",
    ]
    data = CALENDAR.format(extra="", events=event("s", *lines)).encode()
    filtered = busy_intervals(data, LONDON, *window)
    with pytest.MonkeyPatch.context() as unfiltered:
        unfiltered.setattr(parse, "reduce", lambda data, first, last: data)
        assert filtered == busy_intervals(data, LONDON, *window)


def test_the_last_instance_of_an_ended_series_still_blocks_as_long_as_it_lasts():
    """A series whose rule ended days before the window still blocks the window when its
    last instance runs into it (a five-day event)."""
    data = CALENDAR.format(
        extra="",
        events=event(
            "long",
            "DTSTART:20261103T090000Z",
            "DTEND:20261108T090000Z",
            "RRULE:FREQ=MONTHLY;UNTIL=20261203T090000Z",
        ),
    ).encode()
    blocks = busy_intervals(data, LONDON, utc(2026, 12, 7), utc(2026, 12, 9))
    assert blocks == [Interval(utc(2026, 12, 3, 9), utc(2026, 12, 8, 9))]


def test_a_counted_series_that_ended_long_ago_is_left_out_before_parsing():
    """A COUNT with an occurrence in every period is bounded without expanding it: a
    daily series of 20 that ended last year never reaches the parser."""
    ended = event(
        "d", "DTSTART:20251001T090000Z", "DTEND:20251001T100000Z", "RRULE:FREQ=DAILY;COUNT=20"
    )
    data = CALENDAR.format(extra="", events=ended).encode()
    reduced = parse.reduce(data, date(2026, 12, 7), date(2027, 2, 5))
    assert b"VEVENT" not in reduced and b"VCALENDAR" in reduced


PROPERTY_NAMES = [
    "RRULE:",
    "RDATE:",
    "EXDATE:",
    "DTSTART;TZID=",
    "DTEND:",
    "DURATION:",
    "RECURRENCE-ID:",
    "STATUS:",
    "TRANSP:",
    "BEGIN:",
    "END:",
    "UID:",
    "",
]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(PROPERTY_NAMES), st.text(st.characters(codec="utf-8"), max_size=40)
        ),
        max_size=8,
    )
)
def test_a_hostile_feed_is_refused_as_unreadable_never_with_another_error(lines):
    """Whatever a feed holds, reading it gives busy time or FeedUnreadable, nothing else."""
    body = "\r\n".join(["DTSTART:20261207T100000Z", *(name + text for name, text in lines)])
    data = CALENDAR.format(extra="", events=event("h", body, "DTEND:20261207T110000Z")).encode()
    try:
        blocks = busy_intervals(data, LONDON, utc(2026, 12, 1), utc(2026, 12, 31))
    except FeedUnreadable:
        return
    assert all(isinstance(b, Interval) and b.start < b.end for b in blocks)


# -- a feed server on loopback ------------------------------------------------------------


@dataclass
class FeedServer:
    """Serves one calendar like Google does: ETag and Last-Modified, 304 when unchanged."""

    body: bytes
    version: int = 1
    status: int = 200
    seen: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def change(self, body: bytes) -> None:
        self.body, self.version = body, self.version + 1

    async def handle(self, request: Request) -> Response:
        with self.lock:
            self.seen.append(dict(request.headers))
        if self.status != 200:
            return Response("unavailable", status_code=self.status)
        etag = f'"v{self.version}"'
        modified = f"Mon, 0{self.version} Nov 2026 08:00:00 GMT"
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        return Response(
            self.body,
            media_type="text/calendar",
            headers={"ETag": etag, "Last-Modified": modified},
        )


@pytest.fixture
def feed_server():
    server = FeedServer((FEEDS / "google-export.ics").read_bytes())
    app = Starlette(routes=[Route("/calendar/ical/secret/basic.ics", server.handle)])
    with serve(app) as base:
        server.url = f"{base}/calendar/ical/secret/basic.ics"
        yield server


def analyst_with(feed: str, **extra) -> Catalogue:
    return Catalogue.from_dict(
        {
            "analysts": [
                {
                    "slug": "maya",
                    "name": "Maya Chen",
                    "provider": "local",
                    "timezone": "Europe/London",
                    "busy_feeds": [feed],
                    "min_notice_hours": 1,
                    "buffer_minutes": 0,
                    "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
                    "meeting_types": [{"id": "intro", "name": "Intro", "duration_minutes": 30}],
                    **extra,
                }
            ]
        }
    )


@pytest.fixture
def feed_desk(tmp_path, feed_server):
    clock = FakeClock(utc(2026, 12, 7, 8))
    settings = Settings(db_path=str(tmp_path / "b.db"), feed_ttl_seconds=300)
    return Desk(settings, analyst_with(feed_server.url), Store(settings.db_path), clock)


def day_slots(desk: Desk, day: date) -> list[str]:
    days = desk.offers.open_days("maya", "intro", LONDON)
    return [f"{s.start.astimezone(LONDON):%H:%M}" for s in days.get(day, [])]


def test_a_feed_is_read_once_per_ttl_for_every_visitor_then_revalidated(feed_desk, feed_server):
    """Many visitors within the TTL cost one request; after it, a conditional one (304)."""
    for _ in range(5):
        assert "14:00" not in day_slots(feed_desk, date(2026, 12, 9))  # the dentist
    assert len(feed_server.seen) == 1
    assert "if-none-match" not in feed_server.seen[0]
    feed_desk.clock.advance(seconds=301)
    day_slots(feed_desk, date(2026, 12, 9))
    assert len(feed_server.seen) == 2
    assert feed_server.seen[1]["if-none-match"] == '"v1"'
    assert feed_server.seen[1]["if-modified-since"] == "Mon, 01 Nov 2026 08:00:00 GMT"


def test_a_changed_feed_is_read_anew_after_the_ttl(feed_desk, feed_server):
    """A new event in the analyst's calendar blocks time once the TTL has passed."""
    assert "11:00" in day_slots(feed_desk, date(2026, 12, 14))
    feed_server.change(
        feed_server.body.replace(
            b"END:VCALENDAR",
            event("new", "DTSTART:20261214T110000Z", "DTEND:20261214T120000Z").encode()
            + b"END:VCALENDAR",
        )
    )
    assert "11:00" in day_slots(feed_desk, date(2026, 12, 14))  # still within the TTL
    feed_desk.clock.advance(seconds=301)
    assert "11:00" not in day_slots(feed_desk, date(2026, 12, 14))


def test_a_failing_feed_keeps_its_last_good_copy_and_the_owner_is_told(feed_desk, feed_server):
    """The server fails: times are still checked against the last good copy, and the
    owner's page says since when and why."""
    before = day_slots(feed_desk, date(2026, 12, 9))
    feed_server.status = 503
    feed_desk.clock.advance(seconds=301)
    assert day_slots(feed_desk, date(2026, 12, 9)) == before
    [status] = feed_desk.owner.calendar_feeds()
    assert status["state"] == "stale" and "HTTP 503" in status["text"]
    assert "last good copy" in status["text"]
    assert "secret" not in status["feed"]  # a private address is never shown whole


def test_the_last_good_copy_outlives_a_restart(feed_desk, feed_server, tmp_path):
    """A new process (same database) while the feed is down still has the copy."""
    day_slots(feed_desk, date(2026, 12, 9))
    feed_server.status = 500
    later = FakeClock(utc(2026, 12, 7, 9))
    restarted = Desk(feed_desk.settings, feed_desk.catalogue, Store(feed_desk.store.path), later)
    assert "14:00" not in day_slots(restarted, date(2026, 12, 9))
    assert "13:00" in day_slots(restarted, date(2026, 12, 9))


def test_with_no_good_copy_ever_no_time_is_offered_and_the_visitor_is_told(feed_desk, feed_server):
    """Never offer time we cannot check: the analyst's times are withheld, with a sentence."""
    feed_server.status = 500
    with pytest.raises(CalendarUnavailable, match="Maya Chen's calendar could not be read"):
        feed_desk.offers.open_days("maya", "intro", LONDON)
    with pytest.raises(CalendarUnavailable):
        feed_desk.local.book(BookingRequest(**booking_args(start=utc(2026, 12, 8, 13))))
    assert feed_desk.store.db["bookings"].count == 0
    [status] = feed_desk.owner.calendar_feeds()
    assert status["state"] == "missing" and "not offered" in status["text"]


def test_the_api_answers_503_with_the_sentence_when_a_calendar_was_never_read(
    feed_desk, feed_server
):
    """GET availability: the usual error envelope, status 503, the visitor's sentence."""
    feed_server.status = 500
    client = TestClient(Starlette(routes=create_routes(feed_desk)))
    r = client.get(
        "/api/analysts/maya/availability",
        params={"meetingType": "intro", "start": "2026-12-08", "end": "2026-12-09"},
    )
    assert r.status_code == 503
    assert r.json()["error"] == "calendar_unavailable"
    assert r.json()["message"].startswith("Maya Chen's calendar could not be read just now")


def test_what_is_not_a_calendar_is_refused_and_the_good_copy_stays(feed_desk, feed_server):
    """A login page (HTML) in place of the feed is a failure, not an empty calendar."""
    day_slots(feed_desk, date(2026, 12, 9))
    feed_server.change(b"<html>Sign in to continue</html>")
    feed_desk.clock.advance(seconds=301)
    assert "14:00" not in day_slots(feed_desk, date(2026, 12, 9))
    assert feed_desk.owner.calendar_feeds()[0]["state"] == "stale"


def test_a_feed_change_between_showing_and_booking_is_caught(feed_desk, feed_server):
    """The booking asks the feed again: an event added since the page showed the time
    refuses the booking, even inside the TTL."""
    assert "11:00" in day_slots(feed_desk, date(2026, 12, 14))
    feed_server.change(
        feed_server.body.replace(
            b"END:VCALENDAR",
            event("late", "DTSTART:20261214T110000Z", "DTEND:20261214T113000Z").encode()
            + b"END:VCALENDAR",
        )
    )
    with pytest.raises(SlotTaken, match="no longer free in Maya Chen's calendar"):
        feed_desk.local.book(BookingRequest(**booking_args(start=utc(2026, 12, 14, 11))))
    assert feed_desk.store.db["bookings"].count == 0


def test_holidays_and_time_off_close_whole_days(tmp_path):
    """Christmas (GB) and a range of days off are not offered; other days are."""
    catalogue = analyst_with(
        str(FEEDS / "outlook-export.ics"),
        holidays="GB-ENG",
        time_off=["2026-12-24", "2026-12-29..2026-12-31"],
        horizon_days=60,
    )
    settings = Settings(db_path=str(tmp_path / "b.db"))
    desk = Desk(settings, catalogue, Store(settings.db_path), FakeClock(utc(2026, 12, 7, 8)))
    days = desk.offers.open_days("maya", "intro", LONDON)
    for closed in (24, 25, 28, 29, 30, 31):  # 28th: Boxing Day observed
        assert date(2026, 12, closed) not in days
    assert date(2026, 12, 22) in days and date(2027, 1, 1) not in days
    assert date(2027, 1, 4) in days


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"holidays": "XX"}, "field 'holidays'"),
        ({"holidays": "GB-XYZ"}, "no subdivision 'XYZ'"),
        ({"time_off": ["2026-13-01"]}, "not a real date"),
        ({"time_off": ["2027-01-06..2027-01-02"]}, "ends before it starts"),
        ({"busy_feeds": ["ftp://example.com/cal.ics"]}, "field 'busy_feeds'"),
        ({"busy_feeds": ["missing.ics"]}, "neither an https:// address nor a file"),
    ],
)
def test_bad_calendar_keys_stop_the_start_with_a_clear_message(changes, message):
    """The new keys are checked at start-up like the rest, naming analyst and field."""
    entry = analyst_with(str(FEEDS / "google-export.ics")).analysts[0].model_dump()
    with pytest.raises(ConfigError, match=message):
        Catalogue.from_dict({"analysts": [{**entry, **changes}]}, base=FEEDS)


def test_calendar_keys_belong_to_local_analysts_only():
    """A Calendly analyst's calendar is Calendly's: the keys are refused there."""
    with pytest.raises(ConfigError, match="only local analysts have it"):
        Catalogue.from_dict(
            {
                "analysts": [
                    {
                        "slug": "a",
                        "name": "A",
                        "provider": "calendly",
                        "timezone": "UTC",
                        "holidays": "GB",
                    }
                ]
            }
        )


def test_webcal_addresses_are_read_over_https_and_paths_from_the_catalogue_folder():
    """Apple's webcal:// is https://; a relative path is next to the catalogue file."""
    entry = analyst_with(str(FEEDS / "google-export.ics")).analysts[0].model_dump()
    entry["busy_feeds"] = ["webcal://p01-caldav.icloud.com/published/2/abc", "google-export.ics"]
    analyst = Catalogue.from_dict({"analysts": [entry]}, base=FEEDS).analysts[0]
    assert analyst.busy_feeds == (
        "https://p01-caldav.icloud.com/published/2/abc",
        str((FEEDS / "google-export.ics").resolve()),
    )


# -- no offered slot overlaps any feed event -----------------------------------------------

ZONES = ["Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC"]
BASE = datetime(2027, 3, 22)  # a fortnight that crosses Europe's and Australia's changes


@st.composite
def feed_events(draw):
    """(ics text, every occurrence as UTC intervals): one-off and weekly events with
    TZIDs, UTC and all-day times, computed here without the parser."""
    events, expected = [], []
    for n in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["tz", "utc", "allday", "weekly"]))
        offset = timedelta(minutes=15 * draw(st.integers(0, 4 * 24 * 14)))
        length = timedelta(minutes=15 * draw(st.integers(1, 16)))
        wall = BASE + offset
        if kind == "allday":
            day = wall.date()
            events.append(
                event(
                    f"e{n}",
                    f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
                    f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}",
                )
            )
            start = datetime.combine(day, datetime.min.time(), tzinfo=LONDON)
            end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=LONDON)
            expected.append(Interval(start.astimezone(UTC), end.astimezone(UTC)))
            continue
        zone = ZoneInfo(draw(st.sampled_from(ZONES)))
        count = draw(st.integers(2, 3)) if kind == "weekly" else 1
        if kind == "utc":
            events.append(
                event(
                    f"e{n}",
                    f"DTSTART:{wall:%Y%m%dT%H%M%S}Z",
                    f"DTEND:{wall + length:%Y%m%dT%H%M%S}Z",
                )
            )
            expected.append(Interval(wall.replace(tzinfo=UTC), (wall + length).replace(tzinfo=UTC)))
            continue
        lines = [
            f"DTSTART;TZID={zone.key}:{wall:%Y%m%dT%H%M%S}",
            f"DTEND;TZID={zone.key}:{wall + length:%Y%m%dT%H%M%S}",
        ]
        if count > 1:
            lines.append(f"RRULE:FREQ=WEEKLY;COUNT={count}")
        events.append(event(f"e{n}", *lines))
        for week in range(count):
            start = (wall + timedelta(weeks=week)).replace(tzinfo=zone)
            end = (wall + timedelta(weeks=week) + length).replace(tzinfo=zone)
            expected.append(Interval(start.astimezone(UTC), end.astimezone(UTC)))
    return CALENDAR.format(extra="", events="".join(events)).encode(), expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feed_events(), st.sampled_from([0, 10]), st.sampled_from([20, 45, 60]))
def test_no_offered_slot_overlaps_any_feed_event(feed, buffer, minutes):
    """Whatever the feed holds, every slot offered keeps clear of every one of its events
    (and of the buffer around them)."""
    data, events = feed
    analyst = (
        analyst_with(str(FEEDS / "google-export.ics"))
        .analysts[0]
        .model_copy(
            update={
                "buffer_minutes": buffer,
                "slot_step_minutes": 15,
                "hours": {
                    d: ("00:00-24:00",) for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                },
            }
        )
    )
    meeting = analyst.meeting_types[0].model_copy(update={"duration_minutes": minutes})
    start, end = utc(2027, 3, 21), utc(2027, 4, 8)
    reach = timedelta(minutes=buffer + minutes)  # as the desk reads: a slot may end past `end`
    busy = busy_intervals(data, LONDON, start - reach, end + reach)
    slots = free_slots(analyst, meeting, busy, now=utc(2027, 3, 1), start=start, end=end)
    pad = timedelta(minutes=buffer)
    for slot in slots:
        for ev in events:
            assert not Interval(ev.start - pad, ev.end + pad).overlaps(slot), (slot, ev)


def test_the_booking_asks_the_feed_without_holding_the_database(feed_desk, feed_server):
    """No lock across a network call: while the booking re-reads the analyst's feed,
    another writer can still take the database's write lock at once."""
    import sqlite3

    writable: list[bool] = []

    class CheckWhileServing:  # the server takes this lock as it answers each request
        def __enter__(self):
            other = sqlite3.connect(feed_desk.store.path, timeout=0.2)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.rollback()
                writable.append(True)
            except sqlite3.OperationalError:
                writable.append(False)
            finally:
                other.close()

        def __exit__(self, *exc):
            return False

    feed_server.lock = CheckWhileServing()
    feed_desk.settings = replace(feed_desk.settings, feed_ttl_seconds=0)
    booking = feed_desk.local.book(BookingRequest(**booking_args(start=utc(2026, 12, 14, 11))))
    assert booking.status == "confirmed" and writable and all(writable)
