"""Per-analyst hand-off modes: direct booking through the Scheduling API, and the embed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from booking.domain.catalogue import Catalogue
from booking.domain.request import BookingRequest
from booking.errors import SlotTaken
from tests.test_calendly_handoff import QUICK, first_slot, handoff
from tests.test_followups import DeskSession


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
