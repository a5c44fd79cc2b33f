"""Booking through Calendly's Scheduling API (`POST /invitees`): the client and the sandbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError

from booking.calendly.client import CalendlyClient, SchedulingApiUnavailable
from booking.calendly.links import UTM_SOURCE
from booking.calendly.questions import BookingForm
from booking.errors import (
    CalendlyAuthError,
    CalendlyRateLimited,
    CalendlyRejected,
    CalendlyUnavailable,
    SlotTaken,
)

API = "https://api.calendly.com"
TOKEN = "pat-SECRET-123"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
EVENT_TYPE = f"{API}/event_types/CCCCCCCCCCCCCCCC"
START = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
QUESTION = "What would you like to discuss?"
INVITEE = {
    "uri": f"{API}/scheduled_events/EEEEEEEEEEEEEEEE/invitees/IIIIIIIIIIIIIIII",
    "event": f"{API}/scheduled_events/EEEEEEEEEEEEEEEE",
    "cancel_url": "https://calendly.com/cancellations/IIIIIIIIIIIIIIII",
    "reschedule_url": "https://calendly.com/reschedulings/IIIIIIIIIIIIIIII",
    "status": "active",
    "email": "ada@example.com",
    "name": "Ada Lovelace",
}
FILLED = {
    "title": "Invalid Argument",
    "message": "The supplied parameters are invalid.",
    "details": [
        {
            "parameter": "event.start_time",
            "message": "That start time has been filled",
            "code": "already_filled",
        }
    ],
}
SBX_TYPE = f"{API}/event_types/SBXQUICKCALL0001"


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps) -> CalendlyClient:
    return CalendlyClient(TOKEN, session=requests.Session(), clock=lambda: NOW, sleep=sleeps.append)


def book(client: CalendlyClient, **overrides) -> dict:
    event_type = overrides.pop("event_type", EVENT_TYPE)
    args = dict(
        start=START,
        name="Ada Lovelace",
        email="ada@example.com",
        timezone="Europe/London",
        attempt_id="att_7f3c2a",
        questions_and_answers=[{"question": QUESTION, "answer": "Bond ladders", "position": 0}],
    )
    args.update(overrides)
    return client.create_invitee(event_type, **args)


def posts() -> list:
    return [c for c in responses.calls if c.request.method == "POST"]


@responses.activate
def test_create_invitee_sends_calendlys_body_and_returns_the_invitee(client):
    """The POST carries event type, UTC start, invitee, the answer and all six tracking keys."""
    responses.post(f"{API}/invitees", json={"resource": INVITEE}, status=201)
    invitee = book(client, location={"kind": "zoom_conference"})
    assert invitee["uri"] == INVITEE["uri"] and invitee["cancel_url"] == INVITEE["cancel_url"]
    sent = json.loads(posts()[0].request.body)
    assert sent["event_type"] == EVENT_TYPE
    assert sent["start_time"] == "2026-12-01T15:30:00.000000Z"
    assert sent["invitee"] == {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "timezone": "Europe/London",
    }
    assert sent["questions_and_answers"] == [
        {"question": QUESTION, "answer": "Bond ladders", "position": 0}
    ]
    assert sent["tracking"] == {
        "utm_campaign": None,
        "utm_source": UTM_SOURCE,
        "utm_medium": None,
        "utm_content": "att_7f3c2a",
        "utm_term": None,
        "salesforce_uuid": None,
    }
    assert sent["location"] == {"kind": "zoom_conference"}
    assert posts()[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


@responses.activate
def test_no_notes_sends_no_questions_and_answers(client):
    """No answers: the key is left out rather than sent as an empty list."""
    responses.post(f"{API}/invitees", json={"resource": INVITEE}, status=201)
    book(client, questions_and_answers=[])
    assert "questions_and_answers" not in json.loads(posts()[0].request.body)


@responses.activate
@pytest.mark.parametrize(("status", "body"), [(400, FILLED), (409, {"title": "Conflict"})])
def test_a_filled_start_time_is_slot_taken_and_not_retried(client, status, body):
    """Calendly's `already_filled` (400) or a 409 becomes SlotTaken with a friendly message."""
    responses.post(f"{API}/invitees", json=body, status=status)
    with pytest.raises(SlotTaken, match="just taken on Calendly; please pick another"):
        book(client)
    assert len(posts()) == 1


@responses.activate
@pytest.mark.parametrize("header", ["Retry-After", "X-RateLimit-Reset"])
def test_429_is_rate_limited_with_retry_after_and_not_retried(client, sleeps, header):
    """The tight invitee limit surfaces as CalendlyRateLimited carrying the wait."""
    responses.post(
        f"{API}/invitees",
        json={"title": "Too Many Requests", "message": "Rate limit exceeded."},
        status=429,
        headers={header: "42", "X-RateLimit-Remaining": "0"},
    )
    with pytest.raises(CalendlyRateLimited) as caught:
        book(client)
    assert caught.value.retry_after == 42.0
    assert len(posts()) == 1 and sleeps == []


@responses.activate
@pytest.mark.parametrize("status", [403, 404])
def test_403_or_404_means_the_scheduling_api_is_unavailable(client, status):
    """Plan or scope without the Scheduling API: a CalendlyRejected the caller can tell apart."""
    responses.post(
        f"{API}/invitees",
        json={
            "title": "Permission Denied",
            "message": "The Scheduling API is only available on paid Calendly plans.",
        },
        status=status,
    )
    with pytest.raises(SchedulingApiUnavailable) as caught:
        book(client)
    assert isinstance(caught.value, CalendlyRejected)
    assert caught.value.code == "scheduling_api_unavailable"
    assert caught.value.http_status == status


@responses.activate
def test_401_is_still_an_auth_error(client):
    """A bad token is the desk's connection problem, not a missing feature."""
    responses.post(
        f"{API}/invitees",
        json={"title": "Unauthenticated", "message": "The access token is invalid"},
        status=401,
    )
    with pytest.raises(CalendlyAuthError):
        book(client)


@responses.activate
def test_a_validation_400_is_rejected_with_calendlys_details_and_no_token(client):
    """Other 4xx: CalendlyRejected naming what Calendly disliked; the token never shows."""
    responses.post(
        f"{API}/invitees",
        json={
            "title": "Invalid Argument",
            "message": "The supplied parameters are invalid.",
            "details": [
                {"parameter": "invitee.email", "message": "is invalid"},
                {"parameter": "questions_and_answers", "message": f"bad {TOKEN}"},
            ],
        },
        status=400,
    )
    with pytest.raises(CalendlyRejected) as caught:
        book(client)
    message = str(caught.value)
    assert not isinstance(caught.value, (SlotTaken, SchedulingApiUnavailable))
    assert "invitee.email is invalid" in message and caught.value.http_status == 400
    assert TOKEN not in message and TOKEN not in repr(client)


@responses.activate
def test_a_500_is_unavailable_and_the_booking_is_not_sent_twice(client, sleeps):
    """POST /invitees is not idempotent: a 5xx is not retried."""
    responses.post(f"{API}/invitees", json={"title": "Internal Server Error"}, status=500)
    with pytest.raises(CalendlyUnavailable):
        book(client)
    assert len(posts()) == 1 and sleeps == []


@responses.activate
def test_a_read_timeout_is_not_retried_and_says_the_booking_may_exist(client):
    """After the request may have reached Calendly, no retry: the visitor is told to check."""
    responses.post(f"{API}/invitees", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(CalendlyUnavailable, match="may or may not have been made"):
        book(client)
    assert len(posts()) == 1


@responses.activate
def test_a_connection_never_made_is_retried(client, sleeps):
    """A refused connection cannot have booked anything, so it is tried again."""
    refused = requests.ConnectionError(
        MaxRetryError(None, f"{API}/invitees", NewConnectionError(None, "refused"))
    )
    responses.post(f"{API}/invitees", body=refused)
    responses.post(f"{API}/invitees", json={"resource": INVITEE}, status=201)
    assert book(client)["uri"] == INVITEE["uri"]
    assert len(posts()) == 2 and len(sleeps) == 1


# -- against the sandbox -------------------------------------------------------------------
def first_free(desk, clock):
    sandbox = desk.sandbox
    et = sandbox._event_type("SBXQUICKCALL0001")
    return sandbox.free_slots(et, clock(), clock() + timedelta(days=7))[0]


def sandbox_book(desk, start, event_type=SBX_TYPE, answers=None, **overrides) -> dict:
    """Book on the sandbox with what its event type declares (as the desk sends it)."""
    form = BookingForm.of(desk.calendly.event_type(event_type))
    answers = answers or {}
    args = dict(
        start=start,
        name="Ada Lovelace",
        email="ada@example.com",
        timezone="Europe/London",
        attempt_id="att_sbx1",
        location=form.location(answers),
        questions_and_answers=form.questions_and_answers(answers, "Bond ladders"),
    )
    args.update(overrides)
    return desk.calendly.create_invitee(event_type, **args)


def offered(desk, clock) -> list[datetime]:
    times = desk.calendly.available_times(SBX_TYPE, clock(), clock() + timedelta(days=7))
    return [datetime.fromisoformat(t["start_time"].replace("Z", "+00:00")) for t in times]


def test_sandbox_create_invitee_books_the_slot(sandbox_desk, clock):
    """The sandbox creates the event; its time is no longer offered."""
    slot = first_free(sandbox_desk, clock)
    assert slot.start in offered(sandbox_desk, clock)
    invitee = sandbox_book(sandbox_desk, slot.start)
    assert invitee["status"] == "active" and invitee["email"] == "ada@example.com"
    assert (
        invitee["event"] in invitee["uri"] and invitee["cancel_url"] and invitee["reschedule_url"]
    )
    assert slot.start not in offered(sandbox_desk, clock)
    events = sandbox_desk.calendly.scheduled_events(
        sandbox_desk.sandbox.user_uri, min_start=clock()
    )
    assert [e["uri"] for e in events] == [invitee["event"]]


def test_sandbox_queues_a_signed_invitee_created_with_tracking_and_answer(sandbox_desk, clock):
    """Like a page booking, an API booking queues invitee.created carrying utm_content."""
    invitee = sandbox_book(sandbox_desk, first_free(sandbox_desk, clock).start)
    rows = sandbox_desk.store.db.execute("SELECT event, body FROM sandbox_deliveries").fetchall()
    assert [r[0] for r in rows] == ["invitee.created"]
    payload = json.loads(rows[0][1])["payload"]
    assert payload["uri"] == invitee["uri"]
    assert payload["tracking"]["utm_content"] == "att_sbx1"
    assert payload["tracking"]["utm_source"] == UTM_SOURCE
    assert payload["questions_and_answers"] == [
        {"question": QUESTION, "answer": "Bond ladders", "position": 0}
    ]


def test_sandbox_booking_the_same_time_again_is_slot_taken(sandbox_desk, clock):
    """The second booking of one time gets Calendly's already_filled, i.e. SlotTaken."""
    slot = first_free(sandbox_desk, clock)
    sandbox_book(sandbox_desk, slot.start)
    with pytest.raises(SlotTaken):
        sandbox_book(sandbox_desk, slot.start, email="bob@example.com", attempt_id="att_2")
    assert sandbox_desk.store.db.execute("SELECT count(*) FROM sandbox_invitees").fetchone()[0] == 1


def test_sandbox_missing_name_or_email_is_a_400_with_details(sandbox_desk, clock):
    """Calendly-shaped validation errors reach the caller as a readable CalendlyRejected."""
    with pytest.raises(CalendlyRejected, match=r"invitee\.name is required") as caught:
        sandbox_book(sandbox_desk, first_free(sandbox_desk, clock).start, name="", email="x")
    assert "invitee.email is invalid" in str(caught.value)
    assert caught.value.http_status == 400


def test_sandbox_rate_limit_answers_429_with_reset(sandbox_desk, clock):
    """With a budget of one call, the second POST /invitees is a 429."""
    sandbox_desk.sandbox.limit_invitees(1, reset_seconds=30)
    slots = sandbox_desk.sandbox.free_slots(
        sandbox_desk.sandbox._event_type("SBXQUICKCALL0001"), clock(), clock() + timedelta(days=7)
    )
    sandbox_book(sandbox_desk, slots[0].start)
    with pytest.raises(CalendlyRateLimited) as caught:
        sandbox_book(sandbox_desk, slots[1].start)
    assert caught.value.retry_after == 30.0


def test_sandbox_without_the_scheduling_api_answers_403(sandbox_desk, clock):
    """Switched off, the sandbox refuses like a plan or token without the Scheduling API."""
    sandbox_desk.sandbox.scheduling_api = False
    with pytest.raises(SchedulingApiUnavailable):
        sandbox_book(sandbox_desk, first_free(sandbox_desk, clock).start)


# -- the sandbox refuses what Calendly refuses -----------------------------------------------
CLINIC = f"{API}/event_types/SBXCLINIC0000001"
DESK_CALL = f"{API}/event_types/SBXDESKCALL00001"


def recorded(name: str) -> dict:
    """A body recorded from the live API (tests/calendly_examples)."""
    from pathlib import Path

    return json.loads((Path(__file__).parent / "calendly_examples" / name).read_text())


def refusal(desk, event_type: str, body: dict) -> tuple[int, dict]:
    """POST /invitees straight to the sandbox: its status and body."""
    r = desk.calendly.session.post(
        f"{API}/invitees", json=body, headers={"Authorization": "Bearer sandbox"}
    )
    return r.status_code, r.json()


def invitee_body(start, event_type=SBX_TYPE, **extra) -> dict:
    tracking = dict.fromkeys(
        ("utm_campaign", "utm_source", "utm_medium", "utm_content", "utm_term", "salesforce_uuid")
    )
    return {
        "event_type": event_type,
        "start_time": start.isoformat(),
        "invitee": {"name": "Ada", "email": "ada@example.com", "timezone": "Europe/London"},
        "tracking": tracking,
        **extra,
    }


def clinic_slot(desk, clock):
    et = desk.sandbox._event_type("SBXCLINIC0000001")
    return desk.sandbox.free_slots(et, clock(), clock() + timedelta(days=7))[0].start


def test_sandbox_refuses_a_missing_location_with_the_live_apis_body(sandbox_desk, clock):
    """Without `location` (the client before this fix sent none) the sandbox answers
    exactly what api.calendly.com answered."""
    start = first_free(sandbox_desk, clock).start
    status, body = refusal(sandbox_desk, SBX_TYPE, invitee_body(start))
    assert (status, body) == (400, recorded("invitee_invalid_location.json"))
    wrong = invitee_body(start, location={"kind": "zoom_conference"})
    assert refusal(sandbox_desk, SBX_TYPE, wrong) == (
        400,
        recorded("invitee_invalid_location.json"),
    )


def test_sandbox_refuses_a_location_for_a_round_robin_type(sandbox_desk, clock):
    """Round robin: Calendly assigns the host, so a location is refused; none is fine."""
    start = first_free(sandbox_desk, clock).start
    body = invitee_body(
        start,
        DESK_CALL,
        location={"kind": "zoom_conference"},
        questions_and_answers=[
            {"question": "Phone number", "answer": "+14155552671", "position": 0}
        ],
    )
    assert refusal(sandbox_desk, DESK_CALL, body)[0] == 400
    invitee = sandbox_book(sandbox_desk, start, DESK_CALL, {"q0": "+14155552671"})
    assert invitee["status"] == "active"


def test_sandbox_refuses_blank_required_answers_and_undialable_phones(sandbox_desk, clock):
    """Calendly's words: required answers cannot be blank; a phone must dial."""
    start = clinic_slot(sandbox_desk, clock)
    call = {"kind": "outbound_call", "location": "+442079460958"}
    status, body = refusal(sandbox_desk, CLINIC, invitee_body(start, CLINIC, location=call))
    assert (status, body) == (400, recorded("invitee_required_blank.json"))
    market = [{"question": "Which market do you trade?", "answer": "FX", "position": 0}]
    bad_phone = {"kind": "outbound_call", "location": "call me"}
    status, body = refusal(
        sandbox_desk,
        CLINIC,
        invitee_body(start, CLINIC, location=bad_phone, questions_and_answers=market),
    )
    assert (
        status == 400
        and body["details"][0]["message"] == "Phone Number is not a valid phone number"
    )
    odd = [{"question": "Which market do you trade?", "answer": "Bonds", "position": 0}]
    status, _ = refusal(
        sandbox_desk, CLINIC, invitee_body(start, CLINIC, location=call, questions_and_answers=odd)
    )
    assert status == 400
    moved = [{"question": "Which market do you trade?", "answer": "FX", "position": 3}]
    status, _ = refusal(
        sandbox_desk,
        CLINIC,
        invitee_body(start, CLINIC, location=call, questions_and_answers=moved),
    )
    assert status == 400


def test_sandbox_books_a_phone_call_type_with_every_answer_and_the_number(sandbox_desk, clock):
    """Answered right, the clinic books; the webhook carries each answer at its position
    and the event's location is the call to the invitee's number."""
    start = clinic_slot(sandbox_desk, clock)
    invitee = sandbox_book(sandbox_desk, start, CLINIC, {"q0": "FX", "location": "+442079460958"})
    rows = sandbox_desk.store.db.execute("SELECT body FROM sandbox_deliveries").fetchall()
    payload = json.loads(rows[-1][0])["payload"]
    assert payload["uri"] == invitee["uri"]
    assert payload["questions_and_answers"] == [
        {"question": "Which market do you trade?", "answer": "FX", "position": 0},
        {"question": QUESTION, "answer": "Bond ladders", "position": 1},
    ]
    assert payload["scheduled_event"]["location"] == {
        "type": "outbound_call",
        "location": "+442079460958",
    }


# -- the desk against `responses` fed the recorded bodies -------------------------------------
@pytest.fixture
def live_desk(settings):
    """The desk with a real token (Calendly faked by `responses`), Assassin booking directly."""
    from dataclasses import replace as swap

    from booking.desk import build_desk
    from booking.domain.catalogue import Catalogue

    desk = build_desk(swap(settings, calendly_token=TOKEN), clock=lambda: NOW)
    desk.calendly.sleep = lambda _: None
    desk.catalogue = Catalogue(
        tuple(
            a.model_copy(update={"handoff": "direct", "prices": {}}) if a.slug == "assassin" else a
            for a in desk.catalogue.analysts
        )
    )
    return desk


def calendly_answers(rsps) -> None:
    """Calendly's recorded answers for everything but POST /invitees."""
    rsps.get(f"{API}/users/me", json=recorded("users_me.json"))
    rsps.get(f"{API}/event_types", json=recorded("event_types.json"))
    rsps.get(f"{API}/event_type_available_times", json=recorded("available_times.json"))
    rsps.post(f"{API}/scheduling_links", json=recorded("scheduling_link.json"), status=201)


def begin(desk):
    from booking.domain.request import BookingRequest

    attempt = desk.start_attempt()
    request = BookingRequest(
        analyst="assassin",
        meeting_type=EVENT_TYPE,
        start=datetime(2026, 12, 1, 14, 0, tzinfo=UTC),
        name="John Doe",
        email="john@example.com",
        timezone="Europe/London",
        notes="Looking for help with trading strategies",
        attempt_id=attempt,
    )
    return attempt, desk.handoff.begin(request)


@pytest.mark.parametrize(
    "body",
    ["invitee_invalid_location.json", "invitee_required_blank.json", "invitee_invalid_phone.json"],
)
def test_a_live_refusal_falls_back_to_the_prefilled_link_with_the_reason(live_desk, body):
    """Calendly's recorded 400s (today an uncaught rejection): the visitor gets the link,
    the attempt records why; the POST carried the type's location and its answer."""
    with responses.RequestsMock() as rsps:
        calendly_answers(rsps)
        rsps.post(f"{API}/invitees", json=recorded(body), status=400)
        attempt, outcome = begin(live_desk)
        sent = json.loads(
            next(c for c in rsps.calls if c.request.url.endswith("/invitees")).request.body
        )
    assert outcome.kind == "redirect" and outcome.url.startswith("https://calendly.com/d/")
    assert sent["location"] == {"kind": "zoom_conference"}
    assert sent["questions_and_answers"] == [
        {"question": QUESTION, "answer": "Looking for help with trading strategies", "position": 0}
    ]
    fallback = next(e for e in live_desk.store.events(attempt) if e["step"] == "direct_fallback")
    assert "calendly_rejected" in fallback["detail"]


def test_a_live_500_after_booking_is_found_by_utm_content_and_booked_once(live_desk):
    """Calendly answered 500 but had booked: the invitee is found among that start's events
    carrying our utm_content, so the visitor is booked, not sent to book again."""
    with responses.RequestsMock() as rsps:
        calendly_answers(rsps)
        rsps.post(f"{API}/invitees", json=recorded("internal_server_error.json"), status=500)
        rsps.get(f"{API}/scheduled_events", json=recorded("scheduled_events.json"))
        invitees = recorded("scheduled_event_invitees.json")
        rsps.get(f"{API}/scheduled_events/DDDDDDDDDDDDDDDD/invitees", json=invitees)
        live_desk.start_attempt()
        attempt = "att_9f2c4e7a1b"  # the recorded invitee's utm_content
        live_desk.store.create_attempt(attempt, now=NOW, source="web")
        from booking.domain.request import BookingRequest

        outcome = live_desk.handoff.begin(
            BookingRequest(
                analyst="assassin",
                meeting_type=EVENT_TYPE,
                start=datetime(2026, 12, 1, 14, 0, tzinfo=UTC),
                name="John Doe",
                email="john@example.com",
                timezone="Europe/London",
                attempt_id=attempt,
            )
        )
        assert not any(c.request.url.endswith("/scheduling_links") for c in rsps.calls)
        rsps.assert_all_requests_are_fired = False
    assert outcome.kind == "booked"
    assert live_desk.store.db["bookings"].count == 1
