"""The owner's personal-data panel on the analytics page, through AppTest: look a person up,
download their data, erase it only after the confirmation."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from streamlit.testing.v1 import AppTest

from booking.desk import build_desk
from booking.domain.request import BookingRequest
from booking.settings import Settings

UI = str(Path(__file__).parents[1] / "ui.py")
EMAIL = "zoe.quist@example.com"


@pytest.fixture
def desk(tmp_path, monkeypatch):
    """A desk with a little history and one local booking by Zoë."""
    monkeypatch.setenv("BOOKING_DB_PATH", str(tmp_path / "owner.db"))
    monkeypatch.setenv("BOOKING_OWNER_PASSWORD", "correct horse")
    desk = build_desk(Settings.from_env())
    desk.owner.load_demo_data(40, seed=2)
    day = next(iter(desk.offers.open_days("maya-chen", "intro", ZoneInfo("Europe/London"))))
    slot = desk.offers.open_days("maya-chen", "intro", ZoneInfo("Europe/London"))[day][0]
    desk.submit(
        BookingRequest(
            analyst="maya-chen",
            meeting_type="intro",
            start=slot.start,
            name="Zoë Quist",
            email="Zoe.Quist@example.com",
            timezone="Europe/London",
        )
    )
    return desk


def analytics() -> AppTest:
    at = AppTest.from_file(UI, default_timeout=60)
    at.session_state["is_owner"] = True
    at.run().switch_page("app_pages/analytics.py").run()
    assert not at.exception
    return at


def look_up(at: AppTest, address: str) -> AppTest:
    at.text_input(key="privacy_email").input(address)
    next(b for b in at.button if b.label == "Look up").click()
    return at.run()


def test_looking_up_shows_what_is_held_and_offers_their_data(desk):
    """Look up counts the rows per table (a dry run: nothing changes) and offers the JSON."""
    at = look_up(analytics(), "ZOE.QUIST@example.com")
    held = next(m.value for m in at.markdown if m.value.startswith("Held about"))
    assert "attempts 1" in held and "bookings 1" in held and "outbox 1" in held
    (download,) = [d for d in at.get("download_button") if "JSON" in d.proto.label]
    assert download.proto.label == "Download their data (JSON)"
    assert desk.privacy.export(EMAIL)["bookings"][0]["name"] == "Zoë Quist"
    assert at.button(key="privacy_erase").disabled  # not before the confirmation


def test_erase_happens_only_after_the_confirmation(desk):
    """Ticking the confirmation enables Erase; erasing reports the rows and the person is
    gone, while the page's counts stay the same."""
    at = look_up(analytics(), EMAIL)
    metrics = {m.label: m.value for m in at.metric}
    assert at.button(key="privacy_erase").disabled
    at.checkbox(key="privacy_sure").check().run()
    at.button(key="privacy_erase").click().run()
    assert not at.exception
    assert "Erased zoe.quist@example.com" in at.success[0].value.replace("\\", "").replace(
        "\u2060", ""
    )
    assert desk.privacy.export(EMAIL)["bookings"] == []
    assert {m.label: m.value for m in at.metric} == metrics
    at = look_up(at, EMAIL)
    assert "Nothing is held about" in at.info[-1].value


def test_a_bad_address_is_explained_on_the_page(desk):
    """Not an address: a clear error, nothing looked up."""
    at = look_up(analytics(), "zoe at example")
    assert "email address" in at.error[0].value
    assert not [m for m in at.markdown if m.value.startswith("Held about")]


def test_the_json_download_is_the_export(desk):
    """The download holds the same export the CLI writes."""
    data = json.loads(desk.privacy.export_json(EMAIL))
    assert data["email"] == EMAIL and data["attempts"][0]["name"] == "Zoë Quist"
