"""The owner erases one person from the analytics page in a real browser: look up, download
their data, confirm, erase; the funnel's numbers do not move."""

from __future__ import annotations

import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from booking.desk import build_desk
from booking.domain.request import BookingRequest
from booking.settings import Settings
from tests.e2e.conftest import OWNER_PASSWORD, settle

pytestmark = pytest.mark.browser
EMAIL = "wren.erase@example.com"


def test_the_owner_downloads_then_erases_one_persons_data(page: Page, app_server):
    """After the confirmation the person is gone from the file; the metrics are the same."""
    desk = build_desk(Settings(db_path=app_server["db"], public_url=app_server["url"]))
    days = desk.offers.open_days("maya-chen", "intro", ZoneInfo("Europe/London"))
    slot = next(iter(days.values()))[-1]
    desk.submit(
        BookingRequest(
            analyst="maya-chen",
            meeting_type="intro",
            start=slot.start,
            name="Wren Erasable",
            email=EMAIL,
            timezone="Europe/London",
        )
    )

    page.goto(f"{app_server['url']}/owner")
    settle(page)
    page.get_by_role("link", name="Sign in with the owner password").click()
    page.get_by_label("Password").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Bookings funnel")).to_be_visible(timeout=15_000)
    settle(page)
    attempts = page.get_by_test_id("stMetric").filter(has_text="Attempts").first
    before = attempts.get_by_test_id("stMetricValue").inner_text()

    page.get_by_role("textbox", name="Email address").fill(EMAIL.upper())
    page.get_by_role("button", name="Look up").click()
    settle(page)
    expect(page.get_by_text(re.compile(r"^Held about wren\.erase"))).to_be_visible()
    erase = page.get_by_role("button", name="Erase", exact=True)
    expect(erase).to_be_disabled()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download their data (JSON)").click()
    data = json.loads(Path(download.value.path()).read_text())
    assert [b["name"] for b in data["bookings"]] == ["Wren Erasable"]

    page.get_by_test_id("stCheckbox").filter(has_text="Erase everything held about").click()
    settle(page)
    expect(erase).to_be_enabled()
    erase.click()
    settle(page)
    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text("bookings 1")
    assert desk.privacy.export(EMAIL)["bookings"] == []
    expect(attempts.get_by_test_id("stMetricValue")).to_have_text(before)
