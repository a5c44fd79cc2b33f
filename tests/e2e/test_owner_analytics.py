"""The owner signs in, reads a funnel that matches a hand-made history, filters, downloads."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from booking.desk import build_desk
from booking.settings import Settings
from tests.e2e.conftest import OWNER_PASSWORD, settle

pytestmark = pytest.mark.browser


def test_the_owner_sees_exact_numbers_and_a_visitor_sees_nothing(page: Page, app_server, browser):
    """Three Diego attempts (two chose a slot, one booked) read back exactly, filtered."""
    desk = build_desk(Settings(db_path=app_server["db"], public_url=app_server["url"]))
    ids = []
    for steps in (["slot_chosen", "details_submitted", "booked"], ["slot_chosen"], []):
        attempt = desk.start_attempt()
        desk.record(
            attempt,
            "analyst_selected",
            attempt_fields={"analyst": "diego-alvarez", "provider": "local"},
        )
        for step in steps:
            desk.record(attempt, step)
        ids.append(attempt)

    visitor = browser.new_page()  # not signed in: no analytics anywhere
    visitor.goto(f"{app_server['url']}/analytics")
    settle(visitor)
    expect(visitor.get_by_role("heading", name="Book a session")).to_be_visible()
    expect(visitor.get_by_text("Bookings funnel")).to_have_count(0)
    expect(visitor.get_by_role("link", name="Analytics")).to_have_count(0)
    visitor.close()

    served = page.goto(f"{app_server['url']}/owner")
    assert served.headers["x-frame-options"] == "SAMEORIGIN"  # no other site may frame us
    assert served.headers["content-security-policy"] == "frame-ancestors 'self'"
    settle(page)
    page.get_by_role("link", name="Sign in with the owner password").click()
    page.get_by_label("Password").fill("not it")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("That password is not right.")).to_be_visible()
    page.get_by_label("Password").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Bookings funnel")).to_be_visible(timeout=15_000)
    settle(page)
    page.reload()  # the session is a cookie now: a reload (or a new tab) keeps it
    expect(page.get_by_role("heading", name="Bookings funnel")).to_be_visible(timeout=15_000)
    settle(page)
    cookie = next(c for c in page.context.cookies() if c["name"] == "bd_owner")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    page.get_by_role("combobox", name="Analyst").click()
    page.get_by_role("option", name="Diego Alvarez").click()
    settle(page)
    for label, value in (
        ("Attempts", "3"),
        ("Slot chosen", "2"),
        ("Details submitted", "1"),
        ("Booked", "1"),
    ):
        metric = page.get_by_test_id("stMetric").filter(has_text=label).first
        expect(metric.get_by_test_id("stMetricValue")).to_have_text(value)

    breakdown = page.get_by_test_id("stTable").filter(has_text="Diego Alvarez")
    expect(breakdown).to_contain_text("Analyst")
    page.get_by_role("radio", name="Provider").click()  # one breakdown, redrawn in place
    expect(page.get_by_test_id("stTable").filter(has_text="Local")).to_contain_text("Provider")
    settle(page)

    page.get_by_role("button", name="Prepare attempts CSV").click()
    settle(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download attempts.csv").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert sorted(r["id"] for r in rows) == sorted(ids)
