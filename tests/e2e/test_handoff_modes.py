"""Assassin switched to the inline embed or to direct booking, end to end in a browser."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from booking.desk import build_desk
from booking.settings import Settings
from tests.e2e.conftest import pick_first_time, settle

pytestmark = pytest.mark.browser


def book_quick_consult(page: Page, url: str, button: str) -> str:
    """Assassin's free Quick Consult up to its form's ``button``; returns the chosen time."""
    page.goto(url)
    settle(page)
    chosen = pick_first_time(page, "Assassin", "Quick Consult — 30 min · Free")
    page.get_by_role("textbox", name="Name").fill("Ada <b>Lovelace</b>")
    page.get_by_role("textbox", name="Email").fill("ada@example.com")
    page.get_by_role("button", name=button).click()
    return chosen


def steps(server: dict) -> list[str]:
    desk = build_desk(Settings(db_path=server["db"], public_url=server["url"]))
    return [r["step"] for r in desk.store.db.query("SELECT step FROM funnel_events ORDER BY id")]


def test_embed_mode_books_inside_our_page_and_records_what_the_widget_reports(
    page: Page, mode_server
):
    """The sandbox page inside our page: pick, schedule, webhook, then the success page."""
    server = mode_server("embed")
    chosen = book_quick_consult(page, server["url"], "Continue to Calendly")
    page.wait_for_url(re.compile(r"/schedule\?attempt=att_"), timeout=20_000)
    widget = page.frame_locator("iframe[title='Calendly scheduling']")
    expect(widget.get_by_role("textbox", name="Name")).to_have_value("Ada <b>Lovelace</b>")
    # Sized from the page's calendly.page_height: the whole form shows, no nested scrolling.
    frame = page.locator("iframe[title='Calendly scheduling']")
    expect(frame).not_to_have_attribute("style", re.compile(r"height: 700px"))
    inner = widget.locator("body").evaluate("b => b.getBoundingClientRect().height")
    assert inner <= frame.evaluate("f => f.getBoundingClientRect().height")
    widget.get_by_role("radio", name=chosen).check()
    widget.get_by_role("button", name="Schedule Event").click()

    expect(page.get_by_role("heading", name="You're booked")).to_be_visible(timeout=30_000)
    recorded = steps(server)
    for step in ("event_type_viewed", "date_and_time_selected", "event_scheduled", "booked"):
        assert step in recorded


def test_direct_mode_books_through_the_scheduling_api_without_leaving(page: Page, mode_server):
    """Book → booked on Calendly (sandbox) at once, with Calendly's own links offered."""
    server = mode_server("direct")
    book_quick_consult(page, server["url"], "Book")
    expect(page.get_by_role("heading", name="You're booked")).to_be_visible(timeout=20_000)
    expect(page).to_have_url(re.compile(r"/success\?ref=BD-"))
    expect(page.get_by_role("link", name="Cancel on Calendly")).to_be_visible()
    assert "link_created" not in steps(server) and "booked" in steps(server)


def test_direct_mode_books_a_phone_call_type_with_its_required_question(page: Page, mode_server):
    """Options Clinic, booked directly: our form asks the number Calendly's host will call
    (refusing one without a country code, losing nothing) and the required market; the
    sandbox, as strict as Calendly, gets both with the notes and books it."""
    server = mode_server("direct")
    page.goto(server["url"])
    settle(page)
    pick_first_time(page, "Assassin", "Options Clinic — 45 min · Free")
    page.get_by_role("textbox", name="Name").fill("Grace Hopper")
    page.get_by_role("textbox", name="Email").fill("grace@example.com")
    phone = page.get_by_role("textbox", name="Phone number to call you on")
    phone.fill("020 7946 0958")
    page.get_by_role("textbox", name="Notes (optional)").fill("Covered calls")
    page.get_by_role("combobox", name="Which market do you trade?").click()
    page.get_by_role("option", name="FX").click()
    page.get_by_role("button", name="Book").click()
    settle(page)
    expect(page.get_by_text("please include the country code")).to_be_visible()
    expect(page.get_by_role("textbox", name="Notes (optional)")).to_have_value("Covered calls")
    phone.fill("+44 20 7946 0958")
    page.get_by_role("button", name="Book").click()

    expect(page.get_by_role("heading", name="You're booked")).to_be_visible(timeout=20_000)
    desk = build_desk(Settings(db_path=server["db"], public_url=server["url"]))
    answers, location = desk.store.db.execute(
        "SELECT i.answers, e.location FROM sandbox_invitees i "
        "JOIN sandbox_events e ON e.uuid = i.event_uuid WHERE i.email = 'grace@example.com'"
    ).fetchone()
    assert json.loads(answers) == [
        {"question": "Which market do you trade?", "answer": "FX", "position": 0},
        {"question": "What would you like to discuss?", "answer": "Covered calls", "position": 1},
    ]
    assert json.loads(location) == {"kind": "outbound_call", "location": "+442079460958"}
    assert "direct_fallback" not in steps(server)
