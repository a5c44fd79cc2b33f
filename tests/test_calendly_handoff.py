"""The hand-off to Calendly through the desk, in sandbox mode and against failures."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking.calendly.links import prefill_url, redirect_details
from booking.desk import build_desk
from booking.domain.request import BookingRequest
from booking.errors import CalendlyUnavailable, SlotTaken, SlotUnavailable
from booking.settings import Settings
from booking.web.routes import create_routes
from tests.conftest import T0

LONDON = ZoneInfo("Europe/London")
QUICK = "https://api.calendly.com/event_types/SBXQUICKCALL0001"


def first_slot(desk):
    days = desk.offers.open_days("assassin", QUICK, LONDON)
    return next(iter(days.values()))[0]


def handoff(desk, start, **kw):
    args = dict(
        analyst="assassin",
        meeting_type=QUICK,
        start=start,
        name="Ada Lovelace",
        email="ada@example.com",
        notes="Options & risk",
        timezone="Europe/London",
    )
    return desk.handoff.link_for(BookingRequest(**{**args, **kw}))


def test_meeting_types_come_from_calendly_with_catalogue_prices(sandbox_desk):
    """Assassin's types are Calendly's event types, priced from the catalogue."""
    types = {m.name: m for m in sandbox_desk.offers.meeting_types(sandbox_desk.analyst("assassin"))}
    assert types["Strategy Session"].price_label == "$150"
    assert types["Quick Consult"].is_free and types["Quick Consult"].id == QUICK


def test_the_handoff_creates_a_fresh_prefilled_link_per_attempt(sandbox_desk):
    """Each attempt gets its own link, pre-filled, opened on the visitor's chosen day."""
    slot = first_slot(sandbox_desk)
    attempt = sandbox_desk.start_attempt()
    url = handoff(sandbox_desk, slot.start, attempt_id=attempt)
    again = handoff(sandbox_desk, slot.start)
    assert urlsplit(url).path != urlsplit(again).path
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    day = slot.start.astimezone(LONDON).date()
    assert q == {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "a1": "Options & risk",
        "utm_source": "booking-desk",
        "utm_content": attempt,
        "month": f"{day:%Y-%m}",
        "date": day.isoformat(),
    }
    assert url.startswith("http://testserver/sandbox/calendly/d/")
    steps = [e["step"] for e in sandbox_desk.store.events(attempt)]
    assert steps == ["started", "slot_chosen", "details_submitted", "link_created"]
    assert sandbox_desk.store.attempt(attempt)["status"] == "link_created"


def test_a_time_taken_on_calendly_meanwhile_is_refused_before_any_link(sandbox_desk, clock):
    """The re-check bypasses the cache: no link is created and fresh times are fetched."""
    slot = first_slot(sandbox_desk)  # now cached
    sandbox = sandbox_desk.sandbox
    code = urlsplit(sandbox_desk.calendly.create_scheduling_link(QUICK)).path.split("/")[4]
    sandbox.schedule(
        code,
        start=slot.start,
        name="Other",
        email="o@example.com",
        answer="",
        timezone="UTC",
        tracking={},
    )
    links_before = sandbox_desk.store.db["sandbox_links"].count
    attempt = sandbox_desk.start_attempt()
    with pytest.raises(SlotTaken, match="was just taken"):
        handoff(sandbox_desk, slot.start, attempt_id=attempt)
    assert sandbox_desk.store.db["sandbox_links"].count == links_before
    assert sandbox_desk.store.events(attempt)[-1]["step"] == "handoff_failed"
    assert first_slot(sandbox_desk) != slot  # the cache was dropped


def test_a_past_time_is_refused(sandbox_desk, clock):
    """A start that has passed is refused with a plain message."""
    with pytest.raises(SlotUnavailable, match="already passed"):
        handoff(sandbox_desk, clock() - timedelta(hours=1))


def test_calendly_down_is_explained_and_recorded(tmp_path, settings, clock):
    """With Calendly unreachable the visitor is told to retry; the attempt says why."""
    down = Settings(
        **{**settings.__dict__, "calendly_token": "pat", "calendly_api_url": "http://127.0.0.1:9"}
    )
    desk = build_desk(down, clock=clock)
    desk.calendly.sleep = lambda _: None
    attempt = desk.start_attempt()
    with pytest.raises(CalendlyUnavailable, match="not answering right now"):
        desk.handoff.link_for(
            BookingRequest(
                analyst="assassin",
                meeting_type=QUICK,
                start=clock() + timedelta(days=1),
                name="A",
                email="a@example.com",
                timezone="UTC",
                attempt_id=attempt,
            )
        )
    assert desk.store.events(attempt)[-1]["detail"] == '{"reason": "calendly_unavailable"}'


def test_a_hundred_visitors_within_one_ttl_cause_one_calendly_call(sandbox_desk, clock):
    """Availability is shared: 100 concurrent visitors over 50 s, one available-times call."""
    sandbox_desk.offers.meeting_types(sandbox_desk.analyst("assassin"))

    def visitor(i: int):
        clock.now = T0 + timedelta(seconds=i / 2)  # the visitors keep arriving
        return first_slot(sandbox_desk)

    before = sandbox_desk.sandbox.calls["event_type_available_times"]
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(visitor, range(100)))
    assert len(set(results)) == 1
    assert sandbox_desk.sandbox.calls["event_type_available_times"] - before == 1


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://calendly.com/d/abc/x", True),
        ("https://assets.calendly.com/x", True),
        ("http://calendly.com/d/abc/x", False),
        ("https://calendly.com.evil.example/d/abc", False),
        ("https://evil.example/?u=https://calendly.com", False),
        ("javascript:alert(1)", False),
        ("http://testserver/sandbox/calendly/d/abc/x", True),
        ("http://testserver/admin", False),
        ("http://testserver:9999/sandbox/calendly/d/abc/x", False),
    ],
)
def test_only_calendly_or_the_sandbox_may_be_redirected_to(sandbox_desk, url, allowed):
    """The redirect allow-list: Calendly over https, or this desk's own sandbox pages."""
    assert sandbox_desk.modes.may_redirect_to(url) is allowed


@given(name=st.text(min_size=1), email=st.text(min_size=1), notes=st.text(min_size=1))
def test_prefilled_values_survive_url_encoding(name, email, notes):
    """Any text, non-ASCII and reserved characters included, round-trips through the link."""
    url = prefill_url(
        "https://calendly.com/d/abcd-efg-hij/x?x=1",
        name=name,
        email=email,
        notes=notes,
        attempt_id="att_1",
        day=datetime(2026, 12, 1).date(),
    )
    q = parse_qs(urlsplit(url).query, keep_blank_values=True)
    assert (q["name"], q["email"], q["a1"], q["x"]) == ([name], [email], [notes], ["1"])
    assert " " not in url and urlsplit(url).netloc == "calendly.com"


def test_redirect_details_undo_calendlys_double_encoding():
    """Values that arrive double-encoded are decoded once more; others stay as they are."""
    details = redirect_details(
        {
            "event_start_time": "2026-10-01T13%3A45%3A00-04%3A00",
            "invitee_email": "a%40b.com",
            "invitee_full_name": "50% off",
            "unrelated": "x",
        }
    )
    assert details == {
        "event_start_time": "2026-10-01T13:45:00-04:00",
        "invitee_email": "a@b.com",
        "invitee_full_name": "50% off",
    }


# -- the seed's HTTP contract -----------------------------------------------------------------
@pytest.fixture
def api(sandbox_desk):
    return TestClient(Starlette(routes=create_routes(sandbox_desk)))


def test_create_booking_returns_a_booking_url(api, sandbox_desk):
    """The seed's request and response, exactly."""
    slot = first_slot(sandbox_desk)
    r = api.post(
        "/api/calendly/create-booking",
        json={
            "eventTypeUri": QUICK,
            "name": "John Doe",
            "email": "john@example.com",
            "startTime": slot.start.isoformat().replace("+00:00", "Z"),
            "notes": "Looking for help with trading strategies",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"success", "bookingUrl", "message"} and body["success"] is True
    assert sandbox_desk.modes.may_redirect_to(body["bookingUrl"])
    attempt = parse_qs(urlsplit(body["bookingUrl"]).query)["utm_content"][0]
    assert sandbox_desk.store.attempt(attempt)["source"] == "api"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"eventTypeUri": "https://api.calendly.com/event_types/NOPE"}, "not_found"),
        ({"email": "john@"}, "invalid_input"),
        ({"name": ""}, "invalid_input"),
        ({"name": "x" * 101}, "invalid_input"),
        ({"notes": "n" * 2001}, "invalid_input"),
        ({"startTime": "2020-01-01T10:00:00Z"}, "slot_unavailable"),
        ({"startTime": "2026-12-07T03:07:00Z"}, "slot_unavailable"),
    ],
)
def test_create_booking_refuses_bad_input_with_422_and_records_the_attempt(
    api, sandbox_desk, change, error
):
    """Each invalid request is a 422 in the seed's error shape, and the attempt is kept."""
    slot = first_slot(sandbox_desk)
    body = {
        "eventTypeUri": QUICK,
        "name": "John",
        "email": "john@example.com",
        "startTime": slot.start.isoformat(),
        "notes": "",
    }
    before = sandbox_desk.store.db["attempts"].count
    r = api.post("/api/calendly/create-booking", json={**body, **change})
    assert r.status_code == 422
    assert r.json()["success"] is False and r.json()["error"] == error and r.json()["message"]
    assert sandbox_desk.store.db["attempts"].count == before + 1


def test_create_booking_reports_calendly_failure_as_502(settings, clock):
    """Calendly failing is a 502 with the same error shape."""
    desk = build_desk(settings, clock=clock)
    slot = first_slot(desk)

    def broken(*args, **kwargs):
        raise requests.ConnectionError("down")

    desk.calendly.session.request = broken
    desk.calendly.sleep = lambda _: None
    client = TestClient(Starlette(routes=create_routes(desk)))
    r = client.post(
        "/api/calendly/create-booking",
        json={
            "eventTypeUri": QUICK,
            "name": "John",
            "email": "john@example.com",
            "startTime": slot.start.isoformat(),
        },
    )
    assert r.status_code == 502
    assert r.json() == {
        "success": False,
        "error": "calendly_unavailable",
        "message": "Calendly is not answering right now — please try again in a minute.",
    }


def test_availability_route_serves_calendly_times(api, sandbox_desk):
    """The same availability route answers for a Calendly analyst."""
    slot = first_slot(sandbox_desk)
    day = slot.start.astimezone(LONDON).date().isoformat()
    r = api.get(
        "/api/analysts/assassin/availability",
        params={"meetingType": QUICK, "start": day, "end": day, "timezone": "Europe/London"},
    )
    assert r.status_code == 200
    assert datetime.fromisoformat(r.json()["slots"][0]["startTime"]) == slot.start
    listing = api.get("/api/analysts").json()["analysts"]
    assassin = next(a for a in listing if a["slug"] == "assassin")
    assert QUICK in [m["id"] for m in assassin["meetingTypes"]] and assassin["bookable"]


def test_later_dates_reach_the_analysts_horizon_in_one_shared_load(sandbox_desk, clock):
    """The month ahead by default; 'later' reaches 60 days in two calls, then from cache."""
    month = sandbox_desk.offers.open_days("assassin", QUICK, LONDON)
    before = sandbox_desk.sandbox.calls["event_type_available_times"]
    later = sandbox_desk.offers.open_days("assassin", QUICK, LONDON, later=True)
    assert max(later) > clock().date() + timedelta(days=40) >= max(month)
    assert set(month) <= set(later)
    assert sandbox_desk.sandbox.calls["event_type_available_times"] - before == 2
    sandbox_desk.offers.open_days("assassin", QUICK, LONDON, later=True)
    assert sandbox_desk.sandbox.calls["event_type_available_times"] - before == 2
