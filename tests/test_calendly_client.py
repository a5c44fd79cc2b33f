"""The Calendly client against `responses`, fed Calendly's documented example bodies."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from responses import matchers
from responses.registries import OrderedRegistry

from booking.calendly.client import CalendlyClient, parse_calendly_time
from booking.errors import (
    CalendlyAuthError,
    CalendlyRateLimited,
    CalendlyRejected,
    CalendlyUnavailable,
)

API = "https://api.calendly.com"
TOKEN = "pat-SECRET-123"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
EVENT_TYPE = f"{API}/event_types/CCCCCCCCCCCCCCCC"


def example(name: str) -> dict:
    """A documented example body (copied from shared/calendly/examples)."""
    return json.loads((Path(__file__).parent / "calendly_examples" / name).read_text())


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps) -> CalendlyClient:
    return CalendlyClient(TOKEN, session=requests.Session(), clock=lambda: NOW, sleep=sleeps.append)


@responses.activate
def test_me_sends_the_token_and_reads_the_resource(client):
    """GET /users/me with the bearer token returns the documented resource."""
    responses.get(
        f"{API}/users/me",
        json=example("users_me.json"),
        match=[matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"})],
    )
    assert client.me()["uri"] == f"{API}/users/AAAAAAAAAAAAAAAA"


@responses.activate
def test_event_types_follow_next_page_until_it_is_null(client):
    """Pagination: the client follows `next_page` and gathers every page."""
    first = example("event_types.json")
    second = json.loads(json.dumps(first))
    second["collection"][0]["uri"] = f"{API}/event_types/SECOND"
    first["pagination"]["next_page"] = f"{API}/event_types?count=100&page_token=abc&user=u"
    responses.get(
        f"{API}/event_types",
        json=first,
        match=[matchers.query_param_matcher({"user": "u", "active": "true", "count": "100"})],
    )
    responses.get(
        f"{API}/event_types",
        json=second,
        match=[matchers.query_param_matcher({"count": "100", "page_token": "abc", "user": "u"})],
    )
    uris = [et["uri"] for et in client.event_types("u")]
    assert uris == [EVENT_TYPE, f"{API}/event_types/SECOND"]


@responses.activate
def test_available_times_split_long_ranges_and_never_ask_for_the_past(client):
    """45 days become two calls of at most 31 days, starting just after now."""
    responses.get(f"{API}/event_type_available_times", json=example("available_times.json"))
    slots = client.available_times(EVENT_TYPE, NOW - timedelta(days=2), NOW + timedelta(days=45))
    windows = []
    for call in responses.calls:
        q = parse_qs(urlsplit(call.request.url).query)
        windows.append(
            (parse_calendly_time(q["start_time"][0]), parse_calendly_time(q["end_time"][0]))
        )
    assert len(windows) == 2
    assert windows[0][0] == NOW + timedelta(minutes=1)
    assert all(end - start <= timedelta(days=31) for start, end in windows)
    assert windows[0][1] == windows[1][0] and windows[1][1] == NOW + timedelta(days=45)
    assert [s["start_time"] for s in slots] == [  # the same page twice is de-duplicated
        "2026-12-01T14:00:00Z",
        "2026-12-01T15:30:00Z",
        "2026-12-03T18:00:00Z",
    ]


@responses.activate
def test_single_use_link_asks_for_max_event_count_one(client):
    """POST /scheduling_links with the event type as owner; the booking URL comes back."""
    body = {"max_event_count": 1, "owner": EVENT_TYPE, "owner_type": "EventType"}
    responses.post(
        f"{API}/scheduling_links",
        status=201,
        json=example("scheduling_link.json"),
        match=[matchers.json_params_matcher(body)],
    )
    url = client.create_scheduling_link(EVENT_TYPE)
    assert url == "https://calendly.com/d/abcd-efg-hij/strategy-session"


@responses.activate
def test_401_is_not_retried_and_hides_the_token(client, caplog):
    """A bad token gives a clear message, one call, and the token appears nowhere."""
    responses.get(
        f"{API}/users/me",
        status=401,
        json={"title": "Unauthenticated", "message": "The access token is invalid"},
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(CalendlyAuthError) as exc:
        client.me()
    assert len(responses.calls) == 1
    assert "Calendly connection needs attention" in str(exc.value)
    assert TOKEN not in str(exc.value) + caplog.text + repr(client)


@responses.activate
def test_404_is_a_rejection_with_calendlys_reason(client):
    """A missing resource is not retried and says what Calendly said."""
    responses.post(
        f"{API}/scheduling_links",
        status=404,
        json={"title": "Resource Not Found", "message": "The server could not find it."},
    )
    with pytest.raises(CalendlyRejected, match="Resource Not Found") as exc:
        client.create_scheduling_link(EVENT_TYPE)
    assert exc.value.http_status == 404 and len(responses.calls) == 1


@responses.activate(registry=OrderedRegistry)
def test_429_on_a_get_waits_for_retry_after_then_succeeds(client, sleeps):
    """Rate limited: the GET waits exactly as long as Calendly asked, then retries."""
    responses.get(
        f"{API}/users/me",
        status=429,
        headers={"Retry-After": "2"},
        json={"title": "Too Many Requests", "message": "Rate limit"},
    )
    responses.get(f"{API}/users/me", json=example("users_me.json"))
    assert client.me()["slug"] == "assassin"
    assert sleeps == [2.0]


@responses.activate
def test_429_with_a_long_wait_or_on_a_post_is_not_retried(client, sleeps):
    """A POST is never retried on 429, and a GET does not wait minutes for Calendly."""
    responses.post(f"{API}/scheduling_links", status=429, headers={"Retry-After": "1"})
    with pytest.raises(CalendlyRateLimited, match="busy"):
        client.create_scheduling_link(EVENT_TYPE)
    responses.get(f"{API}/users/me", status=429, headers={"Retry-After": "600"})
    with pytest.raises(CalendlyRateLimited) as exc:
        client.me()
    assert exc.value.retry_after == 600 and sleeps == [] and len(responses.calls) == 2


@responses.activate
def test_5xx_is_retried_a_bounded_number_of_times(client, sleeps):
    """Three attempts with growing back-off, then a message a visitor can act on."""
    responses.get(f"{API}/users/me", status=503)
    with pytest.raises(CalendlyUnavailable, match="not answering right now"):
        client.me()
    assert len(responses.calls) == 3 and sleeps == [0.5, 1.0]


@responses.activate(registry=OrderedRegistry)
def test_the_link_post_retries_a_5xx(client):
    """A 500 on the link POST is retried; the second answer is used."""
    responses.post(f"{API}/scheduling_links", status=500)
    responses.post(f"{API}/scheduling_links", status=201, json=example("scheduling_link.json"))
    assert client.create_scheduling_link(EVENT_TYPE).startswith("https://calendly.com/d/")
    assert len(responses.calls) == 2


@responses.activate
def test_timeouts_are_retried_then_reported(client):
    """A timing-out Calendly is tried three times and then explained."""
    responses.get(f"{API}/users/me", body=requests.exceptions.ConnectTimeout("slow"))
    with pytest.raises(CalendlyUnavailable):
        client.me()
    assert len(responses.calls) == 3


@responses.activate
def test_malformed_json_is_unavailable_not_a_crash(client):
    """A 200 that is not JSON, or lacks the expected keys, becomes a clear error."""
    responses.get(f"{API}/users/me", body="<html>oops</html>", status=200)
    with pytest.raises(CalendlyUnavailable):
        client.me()
    responses.replace(responses.GET, f"{API}/users/me", json={"unexpected": True})
    with pytest.raises(CalendlyUnavailable):
        client.me()
    assert len(responses.calls) == 2  # neither was retried
