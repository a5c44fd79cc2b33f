"""Ready for the public internet: limits per client and per email, bodies bounded, headers,
BOOKING_MODE, hostile text and edge inputs, and a database that tells the truth."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import datetime

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking.desk import Desk, build_desk
from booking.domain.request import BookingRequest, Details, check_details
from booking.errors import ConfigError, InvalidInput, TooManyRequests
from booking.settings import Settings
from booking.store import Store
from booking.web.clients import client_address
from booking.web.routes import create_middleware, create_routes
from tests.conftest import ROOT, booking_args


def api(desk) -> TestClient:
    return TestClient(Starlette(routes=create_routes(desk), middleware=create_middleware()))


def body(**overrides) -> dict:
    return {
        "analyst": "maya",
        "meetingType": "intro",
        "startTime": "2026-12-07T10:00:00+00:00",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "timezone": "Europe/London",
        **overrides,
    }


def slots(desk, n: int) -> list[datetime]:
    days = desk.offers.open_days("maya", "intro", desk.offers.desk.analyst("maya").zone)
    return [s.start for day in days.values() for s in day][::4][:n]  # apart: no buffers meet


# -- limits ------------------------------------------------------------------------------
def test_fifty_parallel_tries_from_one_address_pass_the_limit_exactly_ten_times(
    settings, catalogue, clock
):
    """The counter is spent inside a write transaction: 50 threads, limit 10 → 10 pass."""
    desk = Desk(
        replace(settings, limit_bookings_per_hour=10), catalogue, Store(settings.db_path), clock
    )
    results: list[str] = []
    barrier = threading.Barrier(50)

    def attempt() -> None:
        barrier.wait()
        try:
            desk.limits.booking_try("203.0.113.9")
            results.append("ok")
        except TooManyRequests:
            results.append("limited")

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 10 and results.count("limited") == 40
    desk.limits.booking_try("198.51.100.7")  # another address has its own budget
    clock.advance(hours=1)
    desk.limits.booking_try("203.0.113.9")  # and the next hour starts afresh
    rows = desk.store.db.execute("SELECT count(*) FROM rate_limits").fetchone()[0]
    assert rows == 1  # passed windows are gone: the counters cannot fill the disk


def test_over_the_limit_the_api_answers_429_with_retry_after(settings, catalogue, clock):
    """A script booking slot after slot gets 429, Retry-After and the usual envelope."""
    desk = Desk(
        replace(settings, limit_bookings_per_hour=3), catalogue, Store(settings.db_path), clock
    )
    client = api(desk)
    answers = [
        client.post(
            "/api/bookings", json=body(startTime=start.isoformat(), email=f"v{i}@example.com")
        )
        for i, start in enumerate(slots(desk, 5))
    ]
    assert [a.status_code for a in answers] == [201, 201, 201, 429, 429]
    assert answers[3].json()["error"] == "too_many_requests"
    assert 0 < int(answers[3].headers["Retry-After"]) <= 3600
    assert "try again in" in answers[3].json()["message"]
    assert desk.store.db["bookings"].count == 3


def test_one_email_may_hold_only_a_few_upcoming_sessions_and_one_time_while_paying(desk):
    """Per email: three upcoming sessions with Maya, then a clear refusal; and while one
    time is held for payment, no second one. Whoever typed the address may not own it, so
    neither refusal names the address or the times already booked or held."""
    starts = slots(desk, 6)
    for start in starts[:3]:
        desk.local.book(BookingRequest(**booking_args(start=start)))
    with pytest.raises(TooManyRequests, match="as many upcoming sessions with") as exc:
        desk.local.book(BookingRequest(**booking_args(start=starts[3])))
    assert exc.value.field == "email"
    who = desk.analyst("maya")
    review, bo = who.meeting_type("review"), Details("Bo", "bo@example.com", "")
    desk.local.take_slot("att_x", who, review, bo, starts[4], who.zone, hold=True)
    with pytest.raises(TooManyRequests, match="already being held") as held:
        desk.limits.per_email("bo@example.com", "maya", name="Maya", holding=True)
    assert held.value.retry_after > 0
    desk.limits.per_email("bo@example.com", "maya", name="Maya", holding=False)
    for refusal in (str(exc.value), str(held.value)):
        assert "@" not in refusal
        for start in starts:
            local = start.astimezone(who.zone)
            assert f"{local:%H:%M}" not in refusal and f"{local:%a} {local.day}" not in refusal


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.5", "1.2.3.4", [], "203.0.113.5"),  # no trusted proxy: header ignored
        ("10.0.0.2", "198.51.100.1", ["10.0.0.0/8"], "198.51.100.1"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.1", ["10.0.0.0/8"], "198.51.100.1"),  # spoofed left
        ("10.0.0.2", "198.51.100.1, 10.0.0.9", ["10.0.0.0/8"], "198.51.100.1"),  # two proxies
        ("10.0.0.2", "not-an-ip", ["10.0.0.0/8"], "10.0.0.2"),
        ("10.0.0.2", "", ["10.0.0.0/8"], "10.0.0.2"),
        # a dual-stack socket hands IPv4 peers over as IPv4-mapped IPv6
        ("::ffff:127.0.0.1", "203.0.113.1", ["127.0.0.1/32"], "203.0.113.1"),
        ("::ffff:203.0.113.9", "", [], "203.0.113.9"),
        # an IPv6 client is its /64: it can take any other address in it
        ("2001:db8:1:2::7", "", [], "2001:db8:1:2::/64"),
        ("::1", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", ["::1/128"], "2001:db8:1:2::/64"),
        ("::1", "", [], "::1"),
        # a proxy configured in its IPv4-mapped spelling still matches
        ("127.0.0.1", "203.0.113.1", ["::ffff:127.0.0.1"], "203.0.113.1"),
        ("10.1.2.3", "203.0.113.1", ["::ffff:10.0.0.0/104"], "203.0.113.1"),
    ],
)
def test_x_forwarded_for_is_believed_only_from_trusted_proxies(peer, forwarded, trusted, expected):
    """The right-most address that is not one of our proxies is the client (IPv4-mapped
    peers read as IPv4, IPv6 clients counted by their /64)."""
    networks = Settings(trusted_proxies=",".join(trusted)).proxy_networks
    assert client_address(peer, {"x-forwarded-for": forwarded}, networks) == expected


# -- bodies, headers, mode --------------------------------------------------------------------
def test_json_bodies_over_the_limit_are_refused_before_they_are_read(desk):
    """413 with the envelope, whether Content-Length says so or a stream runs long."""
    client = api(desk)
    big = b'{"name": "' + b"x" * 100_000 + b'"}'
    r = client.post("/api/bookings", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "too_large"

    def chunks():
        yield b'{"name": "'
        for _ in range(40):
            yield b"x" * 1024
        yield b'"}'

    r = client.post("/api/bookings", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    assert client.post("/api/bookings", json=body()).status_code == 201


@pytest.mark.parametrize(
    "path", ["/sandbox/checkout/cs_sandbox_x", "/sandbox/calendly/d/abc/quick-consult"]
)
def test_sandbox_form_posts_streamed_past_their_limit_are_refused_unread(sandbox_desk, path):
    """A sandbox page's form body with no Content-Length that runs past 64 KiB: 413 (the
    parser never holds it all); the owner's sign-in has its own test."""
    chunks = (b"x" * 8192 for _ in range(128))  # 1 MiB
    r = api(sandbox_desk).post(
        path, content=chunks, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 413 and r.json()["error"] == "too_large"


def test_every_response_carries_the_security_headers(sandbox_desk):
    """Our pages and routes may not be framed by other sites, sniffed, or leak referrers."""
    client = api(sandbox_desk)
    for path in ("/healthz", "/api/analysts", "/followups/stop?attempt=x"):
        headers = client.get(path).headers
        assert headers["content-security-policy"] == "frame-ancestors 'self'"
        assert headers["x-frame-options"] == "SAMEORIGIN"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"


def test_live_mode_refuses_to_start_on_sandboxes_and_names_the_settings(settings):
    """BOOKING_MODE=live with no Stripe key, no Calendly token and no owner sign-in."""
    with pytest.raises(ConfigError) as exc:
        build_desk(replace(settings, mode="live"))
    message = str(exc.value)
    for setting in ("STRIPE_SECRET_KEY", "CALENDLY_TOKEN", "BOOKING_OWNER_PASSWORD"):
        assert setting in message
    with pytest.raises(ConfigError, match="BOOKING_MODE"):
        Settings.from_env({"BOOKING_MODE": "production"})
    assert build_desk(settings).settings.mode == "demo"


# -- hostile text and edge inputs ---------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "notes", "field"),
    [
        ("Ada\u202eecalovoL", "", "name"),  # a right-to-left override
        ("\u200b\u200b\u200b", "", "name"),  # zero-width only: no visible letter
        ("Ada\x00", "", "name"),
        ("Ada", "fine\x1b[31m red", "notes"),
        ("Ada", "a \u2066hidden\u2069 isolate", "notes"),
        ("Ada\u200b Lovelace", "", "name"),  # a zero-width space
        ("\u200fAda", "", "name"),  # a right-to-left mark
    ],
)
def test_control_and_bidi_characters_and_letterless_names_are_refused(name, notes, field):
    """Text that could disguise itself on the owner's screens is refused, naming the field."""
    with pytest.raises(InvalidInput) as exc:
        check_details(name, "ada@example.com", notes)
    assert exc.value.field == field


def test_text_is_normalised_and_real_names_in_any_script_pass():
    """NFC normalisation; accents, Arabic and line breaks in notes are all fine."""
    d = check_details("Zoe\u0308  Ba\u0301nfi", "z@example.com", "line one\r\nline two")
    assert d.name == "Zoë Bánfi" and d.notes == "line one\nline two"
    assert check_details("محمد", "m@example.com", "").name == "محمد"
    # the zero-width non-joiner is part of Persian spelling, the joiner of emoji
    assert check_details("مهرآفرین\u200cها", "m@example.com", "").name == "مهرآفرین\u200cها"
    assert check_details("Ada 👩\u200d💻", "a@example.com", "").name == "Ada 👩\u200d💻"
    # our pages show addresses with a word joiner (never a link): pasted back, it is dropped
    pasted = check_details("Ada", "ada\u2060@example.com", "see www.\u2060example.com")
    assert (pasted.email, pasted.notes) == ("ada@example.com", "see www.example.com")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=0001-01-01&end=0001-01-02", "start"),
        ("start=2026-12-07&end=9999-12-31", "end"),
        ("start=2026-12-07&end=2026-12-08&timezone=" + "A" * 300, "timezone"),
        ("start=2026-12-07&end=2026-12-08&timezone=../../etc/passwd", "timezone"),
    ],
)
def test_edge_dates_and_zone_names_are_422_with_the_field(desk, query, field):
    """Year 1, year 9999 and 300-character zone names were 500s; now the field is named."""
    r = api(desk).get(f"/api/analysts/maya/availability?meetingType=intro&{query}")
    assert r.status_code == 422 and r.json()["field"] == field


@pytest.mark.parametrize("start", ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+23:59"])
@pytest.mark.parametrize("path", ["/api/bookings", "/api/calendly/create-booking"])
def test_absurd_start_times_are_422_naming_the_start_time(sandbox_desk, start, path):
    """Year 9999 (plus a meeting's length) and year 1 at +23:59 (before UTC's year 1)
    overflowed into 500s; now the start time is named and nothing is stored."""
    calendly = {"eventTypeUri": f"{sandbox_desk.sandbox.api_url}/event_types/SBXQUICKCALL0001"}
    sent = body(analyst="maya-chen", startTime=start, **(calendly if "calendly" in path else {}))
    r = api(sandbox_desk).post(path, json=sent)
    assert r.status_code == 422 and r.json()["field"] == "startTime", r.text
    assert sandbox_desk.store.db["bookings"].count == 0


# -- a database that tells the truth --------------------------------------------------------
def test_with_the_data_directory_deleted_bookings_answer_503_and_health_says_why(
    settings, catalogue, clock, tmp_path
):
    """No more 201s that are not durable: the write is refused and /healthz is 503."""
    data = tmp_path / "data"
    desk = Desk(
        replace(settings, db_path=str(data / "b.db")), catalogue, Store(data / "b.db"), clock
    )
    client = api(desk)
    assert client.get("/healthz").status_code == 200
    shutil.rmtree(data)
    r = client.post("/api/bookings", json=body())
    assert r.status_code == 503 and "nothing was done" in r.json()["message"]
    assert r.headers["Retry-After"]
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json()["reason"]


def test_a_writer_holding_the_lock_past_the_busy_timeout_gets_busy_try_again(
    settings, catalogue, clock
):
    """Another process holding the write lock: a clear 503 'busy' with Retry-After."""
    store = Store(settings.db_path, busy_timeout_ms=200)
    desk = Desk(settings, catalogue, store, clock)
    other = sqlite3.connect(settings.db_path)
    other.execute("BEGIN IMMEDIATE")
    try:
        r = api(desk).post("/api/bookings", json=body())
    finally:
        other.rollback()
    assert r.status_code == 503 and r.json()["error"] == "store_busy"
    assert int(r.headers["Retry-After"]) > 0
    assert api(desk).post("/api/bookings", json=body()).status_code == 201


KILLED_MID_WAY = """
import os, sys
from booking.desk import Desk
from booking.domain.request import BookingRequest
from booking.settings import Settings
from booking.store import Store
from booking.mail import outbox
from tests.conftest import CATALOGUE, FakeClock, booking_args
from booking.domain.catalogue import Catalogue
import booking.store.outbox as stored
db = sys.argv[1]
desk = Desk(Settings(db_path=db), Catalogue.from_dict(CATALOGUE), Store(db), FakeClock())
if sys.argv[2] == "kill":
    real = stored.add
    def dying(*a, **k):
        real(*a, **k)
        os._exit(9)  # the power goes after the email row is written, before the commit
    stored.add = dying
desk.local.book(BookingRequest(**booking_args()))
"""


def test_a_booking_and_its_confirmation_email_land_together_or_not_at_all(tmp_path):
    """Killed mid-way (kill -9 after the email row, before the commit): neither is there;
    a normal run: both."""
    for mode, expected in (("kill", (0, 0)), ("run", (1, 1))):
        db = str(tmp_path / f"{mode}.db")
        out = subprocess.run(
            [sys.executable, "-c", KILLED_MID_WAY, db, mode],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == (9 if mode == "kill" else 0), out.stderr
        store = Store(db)
        counts = (store.db["bookings"].count, store.db["outbox"].count)
        assert counts == expected


LOGS = """
import logging, sys
from booking.settings import Settings
from booking.web import logs
logs.configure(Settings(stripe_secret_key="sk_live_abcdefgh1234", smtp_password="hunter22",
                        calendly_signing_key="old-key-123, new-key-456"))
log = logging.getLogger("booking.test")
log.info("charging with %s", "sk_live_abcdefgh1234")
log.warning("smtp said: 535 bad password hunter22; header Authorization: Bearer eyJhbGciOi.xyz")
logging.getLogger("stripe").info("request to Stripe api with sk_test_zzzzzzzz99")
try:
    raise RuntimeError("key new-key-456 refused")
except RuntimeError:
    log.exception("signature check blew up")
"""


def test_no_secret_reaches_a_log_line(tmp_path):
    """Configured secrets and key-shaped strings are masked, in messages, arguments and
    tracebacks; the payment SDK's own INFO chatter is not logged at all."""
    out = subprocess.run(
        [sys.executable, "-c", LOGS],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    for secret in ("abcdefgh1234", "hunter22", "eyJhbGciOi", "zzzzzzzz99", "new-key-456"):
        assert secret not in out.stderr
    assert out.stderr.count("***") >= 4 and "signature check blew up" in out.stderr


def test_visitor_text_on_pages_is_never_a_link():
    """md() escapes markdown and breaks what GFM would link by itself (checked in Chromium:
    escaping alone still links www. and email addresses; the word joiner does not)."""
    from ui_kit import JOINER, md

    shown = md("https://evil\u3002example/x, www.evil.example and ada@evil.example *x*")
    assert "https\\://" in shown and "\\*x\\*" in shown
    assert f"www{JOINER}\\." in shown and f"ada{JOINER}\\@" in shown
    assert shown.replace("\\", "").replace(JOINER, "") == (
        "https://evil\u3002example/x, www.evil.example and ada@evil.example *x*"
    )
