"""A visitor books the Calendly analyst through the sandbox, in a real browser."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from booking.desk import build_desk
from booking.settings import Settings
from tests.e2e.conftest import pick_first_time, settle

pytestmark = pytest.mark.browser


def test_book_page_to_sandbox_calendly_to_confirmation(page: Page, app_server):
    """Book page → pre-filled sandbox page → Schedule Event → signed webhook → confirmed."""
    page.goto(app_server["url"])
    settle(page)
    chosen = pick_first_time(page, "Assassin", "Quick Consult — 30 min · Free")
    page.get_by_role("textbox", name="Name").fill("Zoë O'Brien & Co")
    page.get_by_role("textbox", name="Email").fill("zoe@example.com")
    page.get_by_role("textbox", name="Notes (optional)").fill("Hedging 50% + options?")
    page.get_by_role("button", name="Continue to Calendly").click()

    page.wait_for_url(re.compile(r"/sandbox/calendly/d/"), timeout=20_000)
    expect(page.get_by_role("note")).to_contain_text("Calendly sandbox")
    expect(page.get_by_role("textbox", name="Name")).to_have_value("Zoë O'Brien & Co")
    expect(page.get_by_role("textbox", name="Email")).to_have_value("zoe@example.com")
    expect(page.get_by_label("What would you like to discuss?")).to_have_value(
        "Hedging 50% + options?"
    )
    attempt_id = parse_qs(urlsplit(page.url).query)["utm_content"][0]
    page.get_by_role("radio", name=chosen).check()  # confirm the same time on "Calendly"
    page.get_by_role("button", name="Schedule Event").click()

    page.wait_for_url(re.compile(r"/confirmation\?"), timeout=20_000)
    expect(page.get_by_text("Quick Consult")).to_be_visible()
    # The sandbox sends the signed webhook over HTTP; the page turns to confirmed.
    expect(page.get_by_text("Confirmed by Calendly")).to_be_visible(timeout=20_000)

    desk = build_desk(Settings(db_path=app_server["db"], public_url=app_server["url"]))
    steps = [e["step"] for e in desk.store.events(attempt_id)]
    handoff = ["details_submitted", "link_created", "redirected"]
    assert [s for s in steps if s in handoff] == handoff
    assert {"returned", "booked"} <= set(steps)  # in either order: the webhook may be first
    delivery = desk.store.db.execute(
        "SELECT verified, outcome, event FROM webhook_deliveries"
    ).fetchone()
    assert delivery == (1, "applied", "invitee.created")
    invitee = desk.store.db.execute("SELECT name, tracking FROM sandbox_invitees").fetchone()
    assert invitee[0] == "Zoë O'Brien & Co" and attempt_id in invitee[1]

    page.go_back()  # the single-use link is spent now
    page.reload()
    expect(page.get_by_text("This link is no longer available")).to_be_visible()
