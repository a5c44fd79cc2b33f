"""What an event type asks of an invitee (booking.calendly.questions), from recorded bodies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from booking.calendly.links import prefill_url
from booking.calendly.questions import BookingForm
from booking.errors import InvalidInput

EXAMPLES = Path(__file__).parent / "calendly_examples"


def recorded(name: str) -> dict:
    data = json.loads((EXAMPLES / name).read_text())
    return data.get("resource") or data["collection"][0]


def test_a_conference_type_sends_its_kind_and_needs_no_input():
    """Zoom (as in Calendly's example event type): `{"kind": "zoom_conference"}`, nothing asked."""
    form = BookingForm.of(recorded("event_types.json"))
    assert form.location({}) == {"kind": "zoom_conference"} and form.asks() == ()
    assert form.notes_prefill_key == "a1" and form.blocked is None


def test_a_phone_call_type_asks_the_number_and_its_required_select():
    """Outbound call: the invitee's number is asked; the required select is asked with its
    choices; disabled questions are ignored; the notes go to the text question at a2."""
    form = BookingForm.of(recorded("event_type_phone_call.json"))
    asks = form.asks()
    assert [(a.key, a.kind, a.required) for a in asks] == [
        ("location", "phone", True),
        ("q0", "single_select", True),
    ]
    assert asks[1].choices == ("Equities", "FX", "Futures", "Crypto")
    answers = form.check({"location": "+44 20 7946 0958", "q0": "FX"}, "Spreads")
    assert form.location(answers) == {"kind": "outbound_call", "location": "+442079460958"}
    assert form.questions_and_answers(answers, "Spreads") == [
        {"question": "Which market do you trade?", "answer": "FX", "position": 0},
        {"question": "What would you like to discuss?", "answer": "Spreads", "position": 1},
    ]
    assert form.notes_prefill_key == "a2"
    url = prefill_url(
        "https://calendly.com/d/x/y",
        name="A",
        email="a@example.com",
        notes="Spreads",
        attempt_id="att_1",
        day=__import__("datetime").date(2026, 12, 1),
        notes_key=form.notes_prefill_key,
    )
    assert "a2=Spreads" in url and "a1=" not in url


@pytest.mark.parametrize(
    ("given", "field", "words"),
    [
        ({"q0": "FX"}, "location", "Please answer"),
        ({"location": "020 7946 0958", "q0": "FX"}, "location", "country code"),
        ({"location": "+442079460958"}, "q0", "Please answer"),
        ({"location": "+442079460958", "q0": "Bonds"}, "q0", "choose from Equities"),
    ],
)
def test_answers_are_checked_before_anything_is_sent(given, field, words):
    """A blank required answer, an undialable number or a choice not offered is an
    InvalidInput naming the field, in words a visitor can act on."""
    form = BookingForm.of(recorded("event_type_phone_call.json"))
    with pytest.raises(InvalidInput, match=words) as caught:
        form.check(given)
    assert caught.value.field == field


def test_a_round_robin_type_sends_no_location_and_asks_a_typed_phone_question():
    """Round robin: no location (Calendly assigns the host); the required phone question
    is asked as a phone and sent in E.164 under its exact text."""
    form = BookingForm.of(recorded("event_type_round_robin.json"))
    assert form.round_robin and form.location({}) is None
    assert [(a.key, a.kind) for a in form.asks()] == [("q0", "phone")]
    answers = form.check({"q0": "+1 415 555 2671"})
    assert form.questions_and_answers(answers) == [
        {"question": "Phone Number", "answer": "+14155552671", "position": 0}
    ]
    assert form.notes_prefill_key is None


def test_a_type_we_cannot_ask_for_is_blocked_so_it_goes_through_the_link():
    """An unknown required question type, or a location kind we cannot book: blocked."""
    base = recorded("event_types.json")
    odd_question = {
        **base,
        "custom_questions": [
            {"name": "Sign", "type": "signature", "position": 0, "required": True}
        ],
    }
    assert "cannot ask" in BookingForm.of(odd_question).blocked
    odd_place = {**base, "locations": [{"kind": "carrier_pigeon"}]}
    assert "carrier_pigeon" in BookingForm.of(odd_place).blocked
    several = {
        **base,
        "locations": [{"kind": "outbound_call"}, {"kind": "physical", "location": "1 Main St"}],
    }
    assert BookingForm.of(several).location({}) == {"kind": "physical", "location": "1 Main St"}


def test_a_required_notes_question_makes_the_notes_required():
    """When the first free-text question is required, the notes must be given."""
    base = recorded("event_types.json")
    required = {**base, "custom_questions": [{**base["custom_questions"][0], "required": True}]}
    form = BookingForm.of(required)
    with pytest.raises(InvalidInput) as caught:
        form.check({}, "")
    assert caught.value.field == "notes"
    assert form.check({}, "Hedging") == {}
