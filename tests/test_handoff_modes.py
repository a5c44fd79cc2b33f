"""Per-analyst hand-off modes: direct booking through the Scheduling API, and the embed."""

from __future__ import annotations

import json
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from booking.domain.catalogue import Catalogue
from booking.domain.request import BookingRequest
from booking.errors import InvalidInput, SlotTaken
from tests.test_calendly_handoff import QUICK, first_slot, handoff
from tests.test_followups import DeskSession
from tests.test_scheduling_api import sandbox_book

LONDON = ZoneInfo("Europe/London")


def in_mode(desk, mode: str):
    desk.catalogue = Catalogue(
        tuple(
            a.model_copy(update={"handoff": mode}) if a.slug == "assassin" else a
            for a in desk.catalogue.analysts
        )
    )
    return desk


def request(desk, **kw) -> dict:
    args = dict(
        analyst="assassin",
        meeting_type=QUICK,
        start=first_slot(desk).start,
        name="Ada Lovelace",
        email="ada@example.com",
        notes="Options & risk",
        timezone="Europe/London",
        attempt_id=desk.start_attempt(),
    )
    return {**args, **kw}


def steps(desk, attempt_id) -> list[str]:
    return [e["step"] for e in desk.store.events(attempt_id)]


def test_direct_mode_books_at_once_and_the_later_webhook_changes_nothing(sandbox_desk):
    """Booked through POST /invitees with Calendly's links; its webhook is a no-op repeat."""
    desk = in_mode(sandbox_desk, "direct")
    req = request(desk)
    outcome = desk.handoff.begin(BookingRequest(**req))
    assert outcome.kind == "booked"
    booking = desk.booking(outcome.reference)
    assert booking.start == req["start"] and booking.status == "confirmed"
    assert booking.cancel_url.startswith("http://testserver/sandbox/calendly/cancellations/")
    assert booking.notes == "Options & risk"
    desk.sandbox.deliver_due(session=DeskSession(desk))
    assert desk.store.db["bookings"].count == 1
    outcomes = [r["outcome"] for r in desk.store.db.query("SELECT outcome FROM webhook_deliveries")]
    assert outcomes == ["duplicate"]
    assert "link_created" not in steps(desk, req["attempt_id"])
    assert first_slot(desk).start != req["start"]


def test_a_link_booking_of_a_type_asking_a_choice_first_keeps_the_visitors_notes(sandbox_desk):
    """Options Clinic (a market choice before its free-text question) booked through the
    pre-filled link: the booking's notes are what the visitor wrote, not the market."""
    desk = in_mode(sandbox_desk, "link")
    clinic = QUICK.replace("SBXQUICKCALL0001", "SBXCLINIC0000001")
    start = next(iter(desk.offers.open_days("assassin", clinic, LONDON).values()))[0].start
    link = handoff(desk, start, meeting_type=clinic, notes="Covered calls")
    assert "a2=Covered%20calls" in link
    desk.sandbox.schedule(
        link.split("/sandbox/calendly/d/")[1].split("/")[0],
        start=start,
        name="Ada Lovelace",
        email="ada@example.com",
        timezone="UTC",
        tracking={},
        answers=[
            {"question": "Which market do you trade?", "answer": "FX", "position": 0},
            {
                "question": "What would you like to discuss?",
                "answer": "Covered calls",
                "position": 1,
            },
        ],
        location={"kind": "outbound_call", "location": "+442079460958"},
    )
    desk.sandbox.deliver_due(session=DeskSession(desk))
    [notes] = [r["notes"] for r in desk.store.db.query("SELECT notes FROM bookings")]
    assert notes == "Covered calls"


def test_direct_mode_refuses_a_time_taken_meanwhile(sandbox_desk, clock):
    """Someone booked the time on Calendly since it was checked: a clear message, no link."""
    desk = in_mode(sandbox_desk, "direct")
    req = request(desk)
    other = handoff(desk, req["start"], email="bob@example.com")
    code = other.split("/sandbox/calendly/d/")[1].split("/")[0]
    desk.sandbox.schedule(
        code,
        start=req["start"],
        name="Bob",
        email="bob@example.com",
        answer="",
        timezone="UTC",
        tracking={},
    )
    desk.availability_cache.invalidate(lambda key: True)
    desk.offers.check_calendly_time = lambda *a: None  # the race: it looked free a moment ago
    with pytest.raises(SlotTaken, match="just taken"):
        desk.handoff.begin(BookingRequest(**req))
    assert steps(desk, req["attempt_id"])[-1] == "booking_failed"


@pytest.mark.parametrize("why", ["calendly_rate_limited", "scheduling_api_unavailable"])
def test_direct_mode_falls_back_to_the_single_use_link_and_says_why(sandbox_desk, why):
    """Rate limited (429) or the API not on the plan (403): the visitor gets the link."""
    desk = in_mode(sandbox_desk, "direct")
    if why == "calendly_rate_limited":
        desk.sandbox.limit_invitees(0)
    else:
        desk.sandbox.scheduling_api = False
    req = request(desk)
    outcome = desk.handoff.begin(BookingRequest(**req))
    assert outcome.kind == "redirect" and "/sandbox/calendly/d/" in outcome.url
    events = desk.store.events(req["attempt_id"])
    fallback = next(e for e in events if e["step"] == "direct_fallback")
    assert why in fallback["detail"]
    assert events[-1]["step"] == "link_created"


def test_embed_mode_hands_over_a_link_for_the_widget_and_records_its_reports(sandbox_desk):
    """Embed: the same pre-filled single-use link, shown inline; only known reports count."""
    desk = in_mode(sandbox_desk, "embed")
    req = request(desk)
    outcome = desk.handoff.begin(BookingRequest(**req))
    assert (
        outcome.kind == "embed"
        and desk.handoff.embed_link(req["attempt_id"])["handoff_url"] == outcome.url
    )
    assert desk.modes.embed_origins == ("http://testserver",)
    desk.handoff.note_embed_event(req["attempt_id"], "calendly.event_type_viewed", None)
    desk.handoff.note_embed_event(req["attempt_id"], "calendly.page_height", None)
    desk.handoff.note_embed_event(
        req["attempt_id"], "calendly.event_scheduled", "https://x/invitees/1"
    )
    assert steps(desk, req["attempt_id"])[-2:] == ["event_type_viewed", "event_scheduled"]


def test_a_calendly_booking_gets_our_branded_confirmation_only_when_switched_on(sandbox_desk):
    """BOOKING_CALENDLY_CONFIRMATIONS=1 adds our email (with Calendly's links) to Calendly's."""
    desk = in_mode(sandbox_desk, "direct")
    desk.handoff.begin(BookingRequest(**request(desk)))
    assert desk.owner.outbox() == []
    desk.settings = replace(desk.settings, calendly_confirmations=1)
    desk.handoff.begin(BookingRequest(**request(desk, email="bo@example.com")))
    (message,) = desk.owner.outbox()
    assert message["kind"] == "calendly_confirmation" and message["to_addr"] == "bo@example.com"
    assert "/sandbox/calendly/cancellations/" in message["text"]


# -- direct booking as strict as Calendly ----------------------------------------------------
CLINIC = "https://api.calendly.com/event_types/SBXCLINIC0000001"


def clinic_request(desk, **kw) -> dict:
    start = next(iter(desk.offers.open_days("assassin", CLINIC, LONDON).values()))[0].start
    answers = kw.pop("answers", (("location", "+44 20 7946 0958"), ("q0", "FX")))
    return request(desk, meeting_type=CLINIC, start=start, answers=answers, **kw)


def test_direct_mode_sends_the_location_and_answers_calendly_requires(sandbox_desk):
    """A phone-call type with a required select books directly: the invitee's number as
    the location, each answer under its question at its position (the sandbox refuses
    anything less, as Calendly does)."""
    desk = in_mode(sandbox_desk, "direct")
    form = desk.handoff.form_for(desk.analyst("assassin"), CLINIC)
    assert [a.key for a in form.asks()] == ["location", "q0"]
    req = clinic_request(desk)
    outcome = desk.handoff.begin(BookingRequest(**req))
    assert outcome.kind == "booked"
    invitee = desk.store.db.execute("SELECT answers FROM sandbox_invitees").fetchone()[0]
    assert json.loads(invitee) == [
        {"question": "Which market do you trade?", "answer": "FX", "position": 0},
        {"question": "What would you like to discuss?", "answer": "Options & risk", "position": 1},
    ]
    event = desk.store.db.execute("SELECT location FROM sandbox_events").fetchone()[0]
    assert json.loads(event) == {"kind": "outbound_call", "location": "+442079460958"}


def test_direct_mode_asks_before_anything_is_booked_or_paid(sandbox_desk):
    """A missing answer is an InvalidInput naming the field; nothing reaches Calendly."""
    desk = in_mode(sandbox_desk, "direct")
    req = clinic_request(desk, answers=(("location", "+44 20 7946 0958"), ("q0", "")))
    with pytest.raises(InvalidInput, match="Which market") as caught:
        desk.handoff.begin(BookingRequest(**req))
    assert caught.value.field == "q0"
    assert desk.store.db["sandbox_invitees"].count == 0


def test_any_refusal_but_a_taken_slot_falls_back_to_the_link_with_the_reason(sandbox_desk):
    """Calendly refuses what our stale copy of the type let through (a question made
    required meanwhile): the visitor gets the pre-filled link, and the attempt says why."""
    desk = in_mode(sandbox_desk, "direct")
    req = request(desk)
    quick = desk.sandbox._event_type("SBXQUICKCALL0001")
    desk.offers.booking_form(QUICK)  # the desk's copy, cached before the change
    quick["questions"][0]["required"] = True
    try:
        outcome = desk.handoff.begin(BookingRequest(**{**req, "notes": ""}))
    finally:
        quick["questions"][0]["required"] = False
    assert outcome.kind == "redirect" and "/sandbox/calendly/d/" in outcome.url
    fallback = next(
        e for e in desk.store.events(req["attempt_id"]) if e["step"] == "direct_fallback"
    )
    assert "calendly_rejected" in fallback["detail"] and "cannot be blank" in fallback["detail"]


def test_a_paid_direct_booking_refused_gets_the_link_and_taken_gets_a_refund(sandbox_desk):
    """Paid visitors are never left empty-handed: a refusal leaves them a link to book,
    a time taken meanwhile a refund marked due."""
    desk = in_mode(sandbox_desk, "direct")
    priced = "https://api.calendly.com/event_types/SBXSTRATEGY00001"
    days = desk.offers.open_days("assassin", priced, LONDON)
    first, second = [s.start for s in next(iter(days.values()))][:2]
    desk.sandbox.scheduling_api = False
    url = desk.submit(BookingRequest(**request(desk, meeting_type=priced, start=first))).url
    checkout = url.rsplit("/", 1)[1].split("?")[0]
    attempt = desk.store.payment(checkout)["attempt_id"]
    desk.checkout_sandbox.settle(checkout, paid=True)
    outcome = desk.checkout.complete(attempt)
    assert outcome.kind == "redirect" and "/sandbox/calendly/d/" in outcome.url
    desk.sandbox.scheduling_api = True
    req = request(desk, meeting_type=priced, start=second)
    url = desk.submit(BookingRequest(**req)).url
    checkout = url.rsplit("/", 1)[1].split("?")[0]
    sandbox_book(desk, second, priced, email="other@example.com", attempt_id="att_other")
    desk.checkout_sandbox.settle(checkout, paid=True)
    with pytest.raises(SlotTaken, match="refunded in full"):
        desk.checkout.complete(req["attempt_id"])
    assert desk.store.payment(checkout)["status"] == "refund_due"


def test_a_booking_made_although_calendly_answered_500_is_found_not_repeated(sandbox_desk):
    """Calendly booked it but its answer was lost: the desk finds the invitee by our
    utm_content and the visitor is booked once (no link, no second booking)."""
    desk = in_mode(sandbox_desk, "direct")
    desk.sandbox.lose_booking_answers()
    req = request(desk)
    outcome = desk.handoff.begin(BookingRequest(**req))
    assert outcome.kind == "booked"
    assert desk.store.db["sandbox_invitees"].count == 1
    assert "link_created" not in steps(desk, req["attempt_id"])


def test_only_active_non_secret_own_event_types_are_offered(sandbox_desk):
    """Calendly lists the secret and the team's round-robin type too; neither is offered,
    and the catalogue's event_types narrows the rest."""
    who = sandbox_desk.analyst("assassin")
    names = [m.name for m in sandbox_desk.offers.meeting_types(who)]
    assert names == ["Strategy Session", "Quick Consult", "Options Clinic"]
    narrowed = who.model_copy(update={"event_types": ("quick-consult",)})
    assert [m.name for m in sandbox_desk.offers.meeting_types(narrowed)] == ["Quick Consult"]
