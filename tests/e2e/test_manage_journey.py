"""A visitor changes a local booking in a real browser: book Maya, open the manage link
from the confirmation email, move it, and download the updated invitation."""

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


def test_book_maya_then_move_it_from_the_emailed_manage_link(page: Page, app_server):
    """Book → the outbox email's manage link → pick a new time → Move → .ics SEQUENCE:1."""
    page.goto(app_server["url"])
    settle(page)
    pick_first_time(page, "Maya", "Intro call — 20 min · Free")
    page.get_by_role("textbox", name="Name").fill("Dorothy Vaughan")
    page.get_by_role("textbox", name="Email").fill("dorothy@example.com")
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_role("heading", name="You're booked")).to_be_visible(timeout=15_000)
    reference = parse_qs(urlsplit(page.url).query)["ref"][0]
    expect(page.get_by_role("link", name="Google Calendar")).to_be_visible()

    desk = build_desk(Settings(db_path=app_server["db"], public_url=app_server["url"]))
    [mail] = [m for m in desk.owner.outbox() if m["to_addr"] == "dorothy@example.com"]
    link = re.search(r"http://127\.0\.0\.1:\d+/manage\?\S+", mail["text"])[0]
    old = desk.booking(reference)

    page.goto(link)
    settle(page)
    expect(page.get_by_role("heading", name="Your booking")).to_be_visible(timeout=15_000)
    expect(page.get_by_text(f"https://meet.example.com/maya-chen/{reference}")).to_be_visible()
    page.get_by_role("radiogroup", name="New date").get_by_role("radio").nth(1).click()
    settle(page)
    new_time = page.get_by_role("radiogroup", name="New time").get_by_role("radio").first
    new_time.click()
    settle(page)
    page.get_by_role("button", name=re.compile(r"^Move to ")).click()
    expect(page.get_by_text("Moved: your Intro call is now")).to_be_visible(timeout=15_000)
    settle(page)  # the flash draws before the rerun reaches the download button below it

    moved = desk.booking(reference)
    assert moved.start != old.start and moved.sequence == 1
    with page.expect_download() as download:
        page.get_by_role("button", name="Add to calendar (.ics)").click()
    text = Path(download.value.path()).read_bytes()
    assert b"SEQUENCE:1" in text and b"METHOD:REQUEST" in text
    event = Calendar.from_ical(text).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == moved.start
    assert str(event["UID"]).startswith(reference)
    kinds = sorted(m["kind"] for m in desk.owner.outbox() if m["to_addr"] == "dorothy@example.com")
    assert kinds == ["confirmation", "rescheduled"]
