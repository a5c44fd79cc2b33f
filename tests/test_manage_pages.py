"""The manage page (Streamlit AppTest, real SQLite): open from the private link, move to
another time, cancel after a confirmation step; the success page shows where to meet."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from streamlit.testing.v1 import AppTest

from booking.desk import build_desk
from booking.settings import Settings
from tests.conftest import book_maya_intro

UI = str(Path(__file__).parents[1] / "ui.py")
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOKING_DB_PATH", str(tmp_path / "pages.db"))
    return build_desk(Settings.from_env())


def booked(desk):
    """Maya's intro call at her first free time; the booking comes with its token."""
    days = desk.offers.open_days("maya-chen", "intro", LONDON)
    first = next(iter(days.values()))[0]
    return book_maya_intro(desk, first.start, "Grace Hopper", "grace@example.com")


def open_page(page: str, **params) -> AppTest:
    at = AppTest.from_file(UI, default_timeout=30)
    at.context = {"timezone": "Europe/London"}
    at.query_params.update(params)
    return at.run().switch_page(page).run()


def test_the_manage_page_moves_the_booking_to_another_time(env):
    """Pick a new date and time, press Move: same reference, new time, a new invitation."""
    booking = booked(env)
    at = open_page("app_pages/manage.py", ref=booking.reference, token=booking.manage_token)
    assert at.title[0].value == "Your booking" and not at.exception
    day, slots = list(env.manage.times(booking, LONDON).items())[1]
    at.pills(key="manage_day").set_value(day.isoformat()).run()
    slot = slots[0].start.isoformat()
    at.pills(key="manage_slot").set_value(slot).run()
    move = next(b for b in at.button if b.label.startswith("Move to"))
    move.click().run()
    assert not at.exception and "Moved:" in at.success[0].value
    moved = env.booking(booking.reference)
    assert moved.start.isoformat() == slot and moved.sequence == 1
    assert "rescheduled" in [m["kind"] for m in env.owner.outbox()]


def test_a_new_time_taken_meanwhile_is_said_not_dropped_in_silence(env):
    """Someone else books the new time the visitor had picked: on the next run the page
    says it was just taken (no Move button for it), and a change of day alone says nothing."""
    booking = booked(env)
    at = open_page("app_pages/manage.py", ref=booking.reference, token=booking.manage_token)
    (day, slots), (other_day, _) = list(env.manage.times(booking, LONDON).items())[1:3]
    slot = slots[0].start
    at.pills(key="manage_day").set_value(day.isoformat()).run()
    at.pills(key="manage_slot").set_value(slot.isoformat()).run()
    at.pills(key="manage_day").set_value(other_day.isoformat()).run()  # only looking
    assert not at.error
    at.pills(key="manage_day").set_value(day.isoformat()).run()
    at.pills(key="manage_slot").set_value(slot.isoformat()).run()
    book_maya_intro(env, slot)
    at.run()
    assert "was just taken by someone else" in at.error[0].value
    assert not [b for b in at.button if b.label.startswith("Move to")]


def test_the_manage_page_cancels_only_after_a_confirmation_step(env):
    """'Cancel this booking…' asks first (with an optional reason); 'Yes' cancels."""
    booking = booked(env)
    at = open_page("app_pages/manage.py", ref=booking.reference, token=booking.manage_token)
    next(b for b in at.button if b.label == "Cancel this booking…").click().run()
    assert env.booking(booking.reference).status == "confirmed"  # nothing yet
    assert "The time is released" in at.warning[0].value
    at.text_area(key="manage_reason").input("Travelling that week")
    next(b for b in at.button if b.label == "Yes, cancel it").click().run()
    assert at.title[0].value == "Booking cancelled" and not at.exception
    row = env.store.booking(booking.reference)
    assert row["status"] == "canceled" and row["cancel_reason"] == "Travelling that week"


def test_a_wrong_link_shows_nothing_of_the_booking(env):
    """A reference with someone else's (or no) token is 'not found', and nothing leaks."""
    booking = booked(env)
    at = open_page("app_pages/manage.py", ref=booking.reference, token="nope")
    assert at.title[0].value == "Booking not found" and not at.exception
    shown = " ".join(str(e.value) for e in [*at.markdown, *at.error])
    assert "Grace" not in shown and not at.button


def test_the_success_page_shows_the_place_to_meet_and_calendar_links(env):
    """Maya's intro call is a video call with a room per booking; Google and Outlook too."""
    booking = booked(env)
    at = open_page("app_pages/success.py", ref=booking.reference, token=booking.manage_token)
    shown = "".join(m.value for m in at.markdown)
    assert f"https://meet.example.com/maya-chen/{booking.reference}" in shown
    labels = [b.label for b in at.get("link_button")]
    assert labels == ["Google Calendar", "Outlook"]
