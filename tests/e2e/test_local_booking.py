"""A visitor books a local analyst in a real browser, from the Book page to the .ics."""

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


def test_a_visitor_books_a_local_session_and_downloads_the_ics(page: Page, app_server):
    """Choose Maya, a free intro call, the first date and time, fill details, book, download."""
    page.set_viewport_size({"width": 390, "height": 900})  # a phone
    page.goto(app_server["url"])
    settle(page)
    first_time = pick_first_time(page, "Maya", "Intro call — 20 min · Free")
    page.get_by_role("textbox", name="Name").fill("Grace Hopper")
    page.get_by_role("textbox", name="Email").fill("grace@example.com")
    page.get_by_role("textbox", name="Notes (optional)").fill("Rates outlook & “quotes”")
    page.get_by_role("button", name="Book").click()

    expect(page.get_by_role("heading", name="You're booked")).to_be_visible(timeout=15_000)
    expect(page).to_have_url(re.compile(r"/success\?ref=BD-"))
    expect(page.get_by_text(first_time, exact=False).first).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Add to calendar (.ics)").click()
    ics = Calendar.from_ical(Path(download.value.path()).read_bytes())
    event = ics.walk("VEVENT")[0]

    reference = parse_qs(urlsplit(page.url).query)["ref"][0]
    desk = build_desk(Settings(db_path=app_server["db"]))
    booking = desk.booking(reference)
    assert booking.name == "Grace Hopper" and booking.notes == "Rates outlook & “quotes”"
    assert event.decoded("DTSTART") == booking.start
    assert str(event["UID"]).startswith(reference)

    page.reload()  # the success page survives a reload
    expect(page.get_by_role("heading", name="You're booked")).to_be_visible(timeout=15_000)
