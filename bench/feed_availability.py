"""Availability of a local analyst whose own calendar feed holds 2,000 events, half of
them recurring, over a 60-day horizon: cold (the feed fetched over loopback HTTP, parsed
and expanded) and warm (the copy every visitor shares). Goal: cold <= 150 ms, warm <= 10 ms.

The feed looks like a Google export of years of working life: 1,000 one-off events over
three years (1 in 20 still ahead) and 1,000 series (weekly, fortnightly, daily for a
while, monthly) of which 1 in 20 goes on, each event with the summary, description,
attendees, alarm and stamps real exports carry.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).parents[1]))

from booking.desk import Desk
from booking.domain.catalogue import Catalogue
from booking.feeds import busy_intervals
from booking.settings import Settings
from booking.store import Store

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
HORIZON = 60
LONDON = ZoneInfo("Europe/London")
RULES = (
    "RRULE:FREQ=WEEKLY;BYDAY={day}",
    "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY={day}",
    "RRULE:FREQ=DAILY;COUNT=20",
    "RRULE:FREQ=MONTHLY;BYMONTHDAY={dom}",
    "RRULE:FREQ=WEEKLY;BYDAY={day};UNTIL={until}",
)
DAYS = ("MO", "TU", "WE", "TH", "FR")


def feed(events: int = 2000, seed: int = 7) -> bytes:
    """A Google-export-shaped feed: ``events`` VEVENTs, every other one a series."""
    rnd = random.Random(seed)
    out = [
        "BEGIN:VCALENDAR",
        "PRODID:-//Google Inc//Google Calendar 70.9054//EN",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:bench@example.com",
        "X-WR-TIMEZONE:Europe/London",
    ]
    for n in range(events):
        recurring = n % 2 == 1
        # Most series ended long ago and most one-off events are in the past, as in a
        # calendar kept for years; 1 series in 20 goes on, 1 event in 20 is still ahead.
        ongoing = rnd.random() < 0.05
        if recurring:
            back = rnd.randrange(30, 720)
        else:
            back = rnd.randrange(-90, 0) if ongoing else rnd.randrange(1, 3 * 365)
        day = NOW.date() - timedelta(days=back)
        start = datetime(day.year, day.month, day.day, rnd.randrange(8, 18), rnd.choice((0, 30)))
        end = start + timedelta(minutes=rnd.choice((30, 45, 60, 90)))
        out += [
            "BEGIN:VEVENT",
            f"DTSTART;TZID=Europe/London:{start:%Y%m%dT%H%M%S}",
            f"DTEND;TZID=Europe/London:{end:%Y%m%dT%H%M%S}",
        ]
        if recurring:
            ended = start + timedelta(days=rnd.randrange(14, 400))
            until = min(ended.replace(tzinfo=UTC), NOW - timedelta(days=1))
            rule = RULES[rnd.randrange(len(RULES))]
            if not ongoing and "UNTIL" not in rule and "COUNT" not in rule:
                rule += ";UNTIL={until}"
            out.append(
                rule.format(
                    day=DAYS[start.weekday() % 5], dom=start.day, until=f"{until:%Y%m%dT%H%M%SZ}"
                )
            )
        out += [
            "DTSTAMP:20261206T120000Z",
            "ORGANIZER;CN=Maya Chen:mailto:maya.chen@example.com",
            f"UID:{n:06d}bench{seed}@google.com",
            "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Maya Ch",
            " en;X-NUM-GUESTS=0:mailto:maya.chen@example.com",
            "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;CN=Gu",
            f" est {n};X-NUM-GUESTS=0:mailto:guest{n}@example.com",
            "CREATED:20240101T090000Z",
            f"DESCRIPTION:Agenda for meeting {n}: markets\\, models and next steps.\\nJoin",
            "  with Google Meet: https://meet.google.com/abc-defg-hij",
            "LAST-MODIFIED:20261201T090000Z",
            "LOCATION:",
            "SEQUENCE:0",
            "STATUS:CONFIRMED",
            f"SUMMARY:Meeting {n}",
            "TRANSP:OPAQUE",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "DESCRIPTION:This is an event reminder",
            "TRIGGER:-P0DT0H10M0S",
            "END:VALARM",
            "END:VEVENT",
        ]
    out.append("END:VCALENDAR")
    return ("\r\n".join(out) + "\r\n").encode()


def serve(body: bytes) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", '"v1"')
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/calendar/ical/bench/basic.ics"


def desk_for(url: str, folder: Path, n: int) -> Desk:
    catalogue = Catalogue.from_dict(
        {
            "analysts": [
                {
                    "slug": "maya",
                    "name": "Maya Chen",
                    "provider": "local",
                    "timezone": "Europe/London",
                    "busy_feeds": [url],
                    "holidays": "GB-ENG",
                    "horizon_days": HORIZON,
                    "buffer_minutes": 15,
                    "min_notice_hours": 4,
                    "hours": {d: ["09:00-12:30", "13:30-17:30"] for d in DAYS_LOWER},
                    "meeting_types": [{"id": "intro", "name": "Intro", "duration_minutes": 30}],
                }
            ]
        }
    )
    settings = Settings(db_path=str(folder / f"bench-{n}.db"))
    return Desk(settings, catalogue, Store(settings.db_path), lambda: NOW)


DAYS_LOWER = ("mon", "tue", "wed", "thu", "fri")


def main(cold_runs: int = 5, warm_runs: int = 200) -> dict:
    body = feed()
    server, url = serve(body)
    folder = Path(tempfile.mkdtemp(prefix="bench-feed-"))
    try:
        cold, slots = [], 0
        for n in range(cold_runs):
            desk = desk_for(url, folder, n)  # a new process's state: no copy, nothing parsed
            t0 = time.perf_counter()
            days = desk.offers.open_days("maya", "intro", LONDON)
            cold.append((time.perf_counter() - t0) * 1000)
            slots = sum(len(s) for s in days.values())
        parse = []
        for _ in range(cold_runs):
            t0 = time.perf_counter()
            busy_intervals(body, LONDON, NOW - timedelta(days=1), NOW + timedelta(days=HORIZON))
            parse.append((time.perf_counter() - t0) * 1000)
        warm = []
        for _ in range(warm_runs):
            t0 = time.perf_counter()
            desk.offers.open_days("maya", "intro", LONDON)
            warm.append((time.perf_counter() - t0) * 1000)
    finally:
        server.shutdown()
    return {
        "bytes": len(body),
        "slots": slots,
        "cold": statistics.median(cold),
        "parse": statistics.median(parse),
        "warm": statistics.median(warm),
        "warm_p95": statistics.quantiles(warm, n=20)[-1],
    }


if __name__ == "__main__":
    r = main()
    print(
        f"feed availability, 2,000 events (half recurring, {r['bytes'] / 1e6:.1f} MB), "
        f"{HORIZON}-day horizon, {r['slots']} slots offered:"
    )
    print(
        f"  cold (fetch over loopback + parse + expand + slots): median {r['cold']:.0f} ms"
        " (goal <= 150 ms)"
    )
    print(f"    of which reading and expanding the feed alone: median {r['parse']:.0f} ms")
    print(
        f"  warm (the shared copy): median {r['warm']:.2f} ms, p95 {r['warm_p95']:.2f} ms"
        " (goal <= 10 ms)"
    )
