"""The Calendly sandbox: the same shapes as Calendly's documented examples, and its page."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking.calendly.sandbox import SandboxError
from booking.calendly.sandbox.pages import sandbox_routes

EXAMPLES = Path(__file__).parent / "calendly_examples"
SHARED = Path(__file__).parents[2] / "shared" / "calendly" / "examples"


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


def same_shape(got, want, path="$") -> list[str]:
    """Differences in keys and JSON types (a null in the example accepts anything)."""
    if want is None:
        return []
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return [f"{path}: expected an object"]
        problems = [f"{path}.{k}: missing" for k in want if k not in got]
        problems += [f"{path}.{k}: unexpected" for k in got if k not in want]
        for k in want.keys() & got.keys():
            problems += same_shape(got[k], want[k], f"{path}.{k}")
        return problems
    if isinstance(want, list):
        if not isinstance(got, list):
            return [f"{path}: expected a list"]
        return [p for item in got for p in same_shape(item, want[0], f"{path}[]")] if want else []
    for kind in (bool, int | float, str):  # bool first: True is an int in Python
        if isinstance(want, kind):
            ok = isinstance(got, kind) and isinstance(got, bool) == isinstance(want, bool)
            return [] if ok else [f"{path}: {got!r} is not like {want!r}"]
    return []


@pytest.mark.skipif(not SHARED.exists(), reason="shared/ is not beside this clone")
def test_the_vendored_examples_match_the_shared_ones():
    """tests/calendly_examples is an exact copy of shared/calendly/examples."""
    for path in SHARED.glob("*.json"):
        assert json.loads(path.read_text()) == example(path.name), path.name


def get(desk, path: str, **params):
    r = desk.calendly.session.get(
        f"https://api.calendly.com{path}",
        params=params,
        headers={"Authorization": "Bearer sandbox"},
    )
    return r.status_code, r.json() if r.content else None


def test_sandbox_answers_have_the_documented_shapes(sandbox_desk, clock):
    """users/me, event_types, available times and links look like Calendly's examples."""
    _, me = get(sandbox_desk, "/users/me")
    assert same_shape(me, example("users_me.json")) == []
    _, types = get(sandbox_desk, "/event_types", user=me["resource"]["uri"])
    assert same_shape(types, example("event_types.json")) == []
    uri = types["collection"][0]["uri"]
    start = clock() + timedelta(hours=1)
    _, times = get(
        sandbox_desk,
        "/event_type_available_times",
        event_type=uri,
        start_time=start.isoformat(),
        end_time=(start + timedelta(days=7)).isoformat(),
    )
    assert times["collection"] and same_shape(times, example("available_times.json")) == []
    assert times["collection"][0]["start_time"].endswith(".000000Z")
    r = sandbox_desk.calendly.session.post(
        "https://api.calendly.com/scheduling_links",
        json={"max_event_count": 1, "owner": uri, "owner_type": "EventType"},
        headers={"Authorization": "Bearer sandbox"},
    )
    assert r.status_code == 201 and same_shape(r.json(), example("scheduling_link.json")) == []


def test_scheduled_invitees_have_the_webhook_payload_shape(sandbox_desk, clock):
    """An invitee booked on the sandbox has every key of Calendly's invitee payload."""
    sandbox = sandbox_desk.sandbox
    et = sandbox._event_type("SBXSTRATEGY00001")
    url = sandbox_desk.calendly.create_scheduling_link(sandbox.event_type_uri(et["uuid"]))
    code = url.split("/d/")[1].split("/")[0]
    slot = sandbox.free_slots(et, clock(), clock() + timedelta(days=7))[0]
    booked = sandbox.schedule(
        code,
        start=slot.start,
        name="Ada",
        email="ada@example.com",
        answer="Hi",
        timezone="Europe/London",
        tracking={"utm_content": "att_x", "utm_source": "booking-desk"},
    )
    _, invitees = get(sandbox_desk, f"/scheduled_events/{booked['event']['uuid']}/invitees")
    payload = example("webhook_invitee_created.json")["payload"]
    as_read = {k: v for k, v in payload.items() if k != "scheduled_event"}  # GET omits it
    assert same_shape(invitees["collection"][0], as_read) == []
    queued = json.loads(
        sandbox_desk.store.db.execute("SELECT body FROM sandbox_deliveries").fetchone()[0]
    )
    assert same_shape(queued, example("webhook_invitee_created.json")) == []
    assert invitees["collection"][0]["tracking"]["utm_content"] == "att_x"
    _, events = get(sandbox_desk, "/scheduled_events", status="active")
    assert [e["uri"] for e in events["collection"]] == [payload_uri(booked)]


def payload_uri(booked) -> str:
    return f"https://api.calendly.com/scheduled_events/{booked['event']['uuid']}"


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (-timedelta(hours=1), timedelta(days=1), "must be in the future"),
        (timedelta(hours=1), timedelta(days=33), "no greater than 31 days"),
        (timedelta(hours=5), timedelta(hours=1), "must be after start_time"),
    ],
)
def test_available_times_refuses_what_calendly_refuses(sandbox_desk, clock, start, end, message):
    """Past starts, ranges over 31 days and inverted ranges are 400s with Calendly's wording."""
    status, body = get(
        sandbox_desk,
        "/event_type_available_times",
        event_type="https://api.calendly.com/event_types/SBXSTRATEGY00001",
        start_time=(clock() + start).isoformat(),
        end_time=(clock() + end).isoformat(),
    )
    assert status == 400 and body["title"] == "Invalid Argument"
    assert message in body["details"][0]["message"]


def test_pagination_follows_next_page_with_small_pages(sandbox_desk):
    """count=1 gives one event type per page and a next_page that keeps the query."""
    status, page = get(sandbox_desk, "/event_types", count=1)
    assert status == 200 and page["pagination"]["count"] == 1
    nxt = page["pagination"]["next_page"]
    assert parse_qs(urlsplit(nxt).query)["count"] == ["1"]
    # Calendly lists secret and team types too (the desk filters them out): all five.
    assert len(sandbox_desk.calendly.event_types(sandbox_desk.sandbox.user_uri)) == 5


def test_missing_token_is_401(sandbox_desk):
    """Like Calendly, the sandbox wants a bearer token."""
    r = sandbox_desk.calendly.session.get("https://api.calendly.com/users/me")
    assert r.status_code == 401 and r.json()["title"] == "Unauthenticated"


def test_a_single_use_link_books_once_and_the_slot_disappears(sandbox_desk, clock):
    """The first booking spends the link; its time is no longer offered."""
    sandbox = sandbox_desk.sandbox
    et = sandbox._event_type("SBXQUICKCALL0001")
    code = sandbox_desk.calendly.create_scheduling_link(sandbox.event_type_uri(et["uuid"]))
    code = code.split("/d/")[1].split("/")[0]
    slot = sandbox.free_slots(et, clock(), clock() + timedelta(days=7))[0]
    sandbox.schedule(
        code,
        start=slot.start,
        name="A",
        email="a@example.com",
        answer="",
        timezone="UTC",
        tracking={},
    )
    with pytest.raises(SandboxError, match="already been used"):
        sandbox.schedule(
            code,
            start=slot.start + timedelta(hours=1),
            name="A",
            email="a@example.com",
            answer="",
            timezone="UTC",
            tracking={},
        )
    assert slot not in sandbox.free_slots(et, clock(), clock() + timedelta(days=7))


@pytest.fixture
def page_client(sandbox_desk):
    return TestClient(
        Starlette(routes=sandbox_routes(sandbox_desk.sandbox)), follow_redirects=False
    )


def new_link(desk, event_uuid="SBXQUICKCALL0001") -> str:
    url = desk.calendly.create_scheduling_link(f"https://api.calendly.com/event_types/{event_uuid}")
    return urlsplit(url).path


def test_the_booking_page_prefills_and_escapes_what_it_was_given(sandbox_desk, page_client, clock):
    """Pre-filled values appear in the form, HTML-escaped; the day comes from `date`."""
    day = (clock() + timedelta(days=1)).date()
    r = page_client.get(
        new_link(sandbox_desk),
        params={
            "name": "<script>alert(1)</script>",
            "email": "a@example.com",
            "a1": "Q&A 'x'",
            "date": day.isoformat(),
            "tz": "Europe/London",
        },
    )
    assert r.status_code == 200
    assert "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "Q&amp;A &#x27;x&#x27;" in r.text
    assert f"{day:%A %-d %B %Y}" in r.text and "Calendly sandbox" in r.text


def test_scheduling_redirects_to_our_confirmation_with_calendlys_parameters(
    sandbox_desk, page_client, clock
):
    """Schedule Event books, spends the link and sends the visitor back with event details."""
    path = new_link(sandbox_desk)
    et = sandbox_desk.sandbox._event_type("SBXQUICKCALL0001")
    slot = sandbox_desk.sandbox.free_slots(et, clock(), clock() + timedelta(days=7))[0]
    r = page_client.post(
        path,
        data={
            "start_time": slot.start.isoformat(),
            "name": "Zoë",
            "email": "zoe@example.com",
            "a1": "Notes",
            "tz": "Asia/Tokyo",
            "utm_content": "att_abc",
            "utm_source": "booking-desk",
        },
    )
    assert r.status_code == 303
    back = urlsplit(r.headers["location"])
    assert back.path == "/confirmation"
    q = {k: v[0] for k, v in parse_qs(back.query).items()}
    assert q["invitee_full_name"] == "Zoë" and q["utm_content"] == "att_abc"
    assert q["event_type_name"] == "Quick Consult" and q["answer_1"] == "Notes"
    assert datetime.fromisoformat(q["event_start_time"]) == slot.start
    assert q["event_start_time"].endswith("+09:00")
    again = page_client.get(path)
    assert again.status_code == 410 and "no longer available" in again.text


def test_a_time_taken_meanwhile_is_refused_on_the_page(sandbox_desk, page_client, clock):
    """Two links, one time: the second visitor is told to pick another time."""
    et = sandbox_desk.sandbox._event_type("SBXQUICKCALL0001")
    slot = sandbox_desk.sandbox.free_slots(et, clock(), clock() + timedelta(days=7))[0]
    form = {"start_time": slot.start.isoformat(), "name": "A", "email": "a@example.com"}
    assert page_client.post(new_link(sandbox_desk), data=form).status_code == 303
    r = page_client.post(new_link(sandbox_desk), data=form)
    assert r.status_code == 409 and "no longer available" in r.text
    assert 'value="A"' in r.text or "value='A'" in r.text


def test_sandbox_subscriptions_events_and_new_invitees_have_the_recorded_shapes(
    sandbox_desk, clock
):
    """Re-checked against the documented bodies after the stricter sandbox: a webhook
    subscription, the scheduled events list and the 201 of POST /invitees."""
    from booking.calendly.questions import BookingForm

    sandbox = sandbox_desk.sandbox
    org, user = sandbox.host.org_uri, sandbox.user_uri
    hooks = sandbox_desk.calendly.webhooks(organization=org, user=user)
    assert hooks and same_shape(hooks[0], example("webhook_subscription.json")["resource"]) == []
    et_uri = sandbox.event_type_uri("SBXSTRATEGY00001")
    form = BookingForm.of(sandbox_desk.calendly.event_type(et_uri))
    slot = sandbox.free_slots(sandbox._event_type(et_uri), clock(), clock() + timedelta(days=7))[0]
    invitee = sandbox_desk.calendly.create_invitee(
        et_uri,
        start=slot.start,
        name="Ada",
        email="ada@example.com",
        timezone="UTC",
        attempt_id="att_1",
        location=form.location({}),
    )
    assert same_shape(invitee, example("invitee.json")["resource"]) == []
    _, events = get(sandbox_desk, "/scheduled_events", user=user)
    assert same_shape(events, example("scheduled_events.json")) == []
