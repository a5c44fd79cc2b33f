"""Proceed to Pay in a real browser: the sandbox checkout, for both kinds of analyst."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from icalendar import Calendar
from playwright.sync_api import Page, expect

from booking.desk import build_desk
from booking.settings import Settings
from tests.e2e.conftest import pick_first_time, settle

pytestmark = pytest.mark.browser


def choose(page: Page, analyst: str, meeting: str) -> None:
    """Analyst, meeting type, the first date and time, and the visitor's details."""
    pick_first_time(page, analyst, meeting)
    page.get_by_role("textbox", name="Name").fill("Katherine Johnson")
    page.get_by_role("textbox", name="Email").fill("katherine@example.com")
    page.get_by_role("button", name="Proceed to Pay").click()


def test_a_priced_local_session_is_paid_then_booked_with_its_ics(page: Page, app_server):
    """Maya's review: Proceed to Pay → sandbox checkout → Pay → success page and .ics."""
    page.goto(app_server["url"])
    settle(page)
    choose(page, "Maya", "Portfolio review — 60 min · £120")
    page.wait_for_url(re.compile(r"/sandbox/checkout/cs_sandbox_"), timeout=20_000)
    expect(page.get_by_role("note")).to_contain_text("no card is charged")
    page.get_by_role("button", name="Pay £120").click()

    expect(page.get_by_role("heading", name="You're booked")).to_be_visible(timeout=20_000)
    expect(page).to_have_url(re.compile(r"/success\?ref=BD-"))
    with page.expect_download() as download:
        page.get_by_role("button", name="Add to calendar (.ics)").click()
    event = Calendar.from_ical(Path(download.value.path()).read_bytes()).walk("VEVENT")[0]
    desk = build_desk(Settings(db_path=app_server["db"], public_url=app_server["url"]))
    booking = desk.booking(parse_qs(urlsplit(page.url).query)["ref"][0])
    assert event.decoded("DTSTART") == booking.start and booking.status == "confirmed"
    kinds = [m["kind"] for m in desk.owner.outbox() if m["to_addr"] == "katherine@example.com"]
    assert kinds == ["confirmation"]


def test_a_priced_calendly_session_is_paid_before_the_calendly_page(page: Page, app_server):
    """Assassin's strategy session: pay in the sandbox, then the pre-filled Calendly page."""
    page.goto(app_server["url"])
    settle(page)
    choose(page, "Assassin", "Strategy Session — 60 min · $150")
    page.wait_for_url(re.compile(r"/sandbox/checkout/cs_sandbox_"), timeout=20_000)
    page.get_by_role("button", name="Pay $150").click()

    page.wait_for_url(re.compile(r"/sandbox/calendly/d/"), timeout=20_000)
    expect(page.get_by_role("textbox", name="Name")).to_have_value("Katherine Johnson")
