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


def sign_in(page: Page, app_server: dict) -> None:
    """The owner signs in with the password and lands on the analytics page."""
    page.goto(f"{app_server['url']}/owner")
    settle(page)
    page.get_by_role("link", name="Sign in with the owner password").click()
    page.get_by_label("Password").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Bookings funnel")).to_be_visible(timeout=15_000)
    settle(page)


def book_for(app_server: dict, email: str, name: str, *, day: int = 0) -> None:
    """A local booking of Maya's intro call by ``email``: the last time of her ``day``-th
    free day (from the end when negative), which no other browser test takes."""
    desk = build_desk(Settings(db_path=app_server["db"], public_url=app_server["url"]))
    days = list(desk.offers.open_days("maya-chen", "intro", ZoneInfo("Europe/London")).values())
    desk.submit(
        BookingRequest(
            analyst="maya-chen",
            meeting_type="intro",
            start=days[day][-1].start,
            name=name,
            email=email,
            timezone="Europe/London",
        )
    )


def test_the_owner_downloads_then_erases_one_persons_data(page: Page, app_server):
    """After the confirmation the person is gone from the file; the metrics are the same."""
    book_for(app_server, EMAIL, "Wren Erasable")
    desk = build_desk(Settings(db_path=app_server["db"], public_url=app_server["url"]))
    sign_in(page, app_server)
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


def test_their_data_downloads_on_every_click_even_after_the_page_reran(page: Page, app_server):
    """Look up one person, then another, tick the confirmation, then anything that reruns
    the whole dashboard (here Prepare … CSV): each click on Download gives the file of the
    person looked up (a file built on the click was at times gone by then: 'Deferred file
    … not found')."""
    people = {"kit.export@example.com": "Kit Export", "lou.export@example.com": "Lou Export"}
    for day, (email, name) in zip((-1, -2), people.items(), strict=True):
        book_for(app_server, email, name, day=day)
    sign_in(page, app_server)

    def download_theirs(email: str) -> None:
        with page.expect_download(timeout=10_000) as download:
            page.get_by_role("button", name="Download their data (JSON)").click()
        data = json.loads(Path(download.value.path()).read_text())
        assert data["email"] == email
        assert [b["name"] for b in data["bookings"]] == [people[email]]

    for email in people:
        page.get_by_role("textbox", name="Email address").fill(email)
        page.get_by_role("button", name="Look up").click()
        settle(page)
        expect(page.get_by_text(re.compile(rf"^Held about {email[:3]}"))).to_be_visible()
        download_theirs(email)
    page.get_by_test_id("stCheckbox").filter(has_text="Erase everything held about").click()
    settle(page)
    download_theirs(email)
    for what in ("attempts", "bookings", "attempts"):
        page.get_by_role("button", name=f"Prepare {what} CSV").click()
        settle(page)
        expect(page.get_by_role("button", name=f"Download {what}.csv")).to_be_visible()
        page.wait_for_timeout(500)  # as a person would: the page has long finished
        download_theirs(email)
