"""Where the keyboard focus goes after the moments that used to leave it on <body>: a time
taken meanwhile, the cancel confirmation and the success page (releasing a held time is
checked in the held-time journey, test_browser_journeys)."""

from __future__ import annotations

import re
from datetime import datetime
from itertools import count
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from booking.desk import build_desk
from booking.settings import Settings
from tests.conftest import book_maya_intro
from tests.e2e.conftest import OPEN_DAY, pick_first_time, pick_time, settle, wait_focus

pytestmark = pytest.mark.browser
ROOMY_DAY = re.compile(r", (\d\d+|[4-9]) free times$")  # a calendar day with 4 or more
_people = count(1)


def email() -> str:
    return f"focus{next(_people)}@example.com"


def desk_of(server: dict):
    return build_desk(Settings(db_path=server["db"], public_url=server["url"]))


def test_a_time_taken_meanwhile_puts_the_focus_on_the_free_times(page: Page, app_server):
    """'…was just taken by someone else; please pick another time': the focus is on the
    day's free times, where the next choice is made."""
    page.goto(f"{app_server['url']}/?analyst=maya-chen&type=intro")
    settle(page)
    page.get_by_role("button", name=ROOMY_DAY).first.click()  # times stay when one goes
    settle(page)
    pick_time(page)
    chosen = parse_qs(urlsplit(page.url).query)["time"][0]
    book_maya_intro(desk_of(app_server), datetime.fromisoformat(chosen), "Someone Faster", email())
    page.get_by_role("textbox", name="Name").fill("Mary Jackson")
    page.get_by_role("textbox", name="Email").fill(email())
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_text("was just taken by someone else")).to_be_visible(timeout=15_000)
    settle(page)
    wait_focus(page, r"\|radio\|\d")
    assert page.evaluate("() => !!document.activeElement.closest('.st-key-step-time')")


def test_cancel_this_booking_puts_the_focus_in_its_confirmation(page: Page, app_server):
    """'Cancel this booking…' opens the question with the focus on its reason field;
    'Keep my booking' gives the focus back to the button that opened it; once cancelled,
    the focus is on the message saying so."""
    desk = desk_of(app_server)
    days = list(desk.offers.open_days("maya-chen", "intro", ZoneInfo("Europe/London")).values())
    booking = book_maya_intro(desk, days[-3][0].start, "Annie Easley", email())
    page.goto(desk.manage.url(booking.reference, booking.manage_token))
    settle(page)
    page.get_by_role("button", name="Cancel this booking…").click()
    settle(page)
    expect(page.get_by_text("The time is released for someone else")).to_be_visible()
    wait_focus(page, r"TEXTAREA\|.*Reason")
    page.get_by_role("button", name="Keep my booking").click()
    settle(page)
    wait_focus(page, r"(?s)BUTTON\|.*Cancel this booking")
    page.get_by_role("button", name="Cancel this booking…").click()
    settle(page)
    page.get_by_role("button", name="Yes, cancel it").click()
    settle(page)
    wait_focus(page, r"Cancelled\. A confirmation is on its way")  # what was done


def test_the_success_page_puts_the_focus_on_its_heading(page: Page, app_server):
    """Booked: the focus is on 'You're booked', so a screen reader starts there."""
    page.goto(app_server["url"])
    settle(page)
    pick_first_time(page, "Maya", "Intro call — 20 min · Free")
    page.get_by_role("textbox", name="Name").fill("Gladys West")
    page.get_by_role("textbox", name="Email").fill(email())
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_role("heading", name="You're booked")).to_be_visible(timeout=15_000)
    settle(page)
    wait_focus(page, r"^H1\|.*You're booked")


def test_the_last_free_time_of_a_day_taken_meanwhile_is_said_and_focuses_the_calendar(
    page: Page, app_server
):
    """When the time taken was its day's last, the day leaves the calendar: the visitor is
    still told, and the focus is on the calendar, where the next choice is made (the day
    and the time used to vanish without a word)."""
    desk = desk_of(app_server)
    london = ZoneInfo("Europe/London")
    day = list(desk.offers.open_days("maya-chen", "intro", london))[-4]  # no other test's

    def book_first() -> datetime:
        start = desk.offers.open_days("maya-chen", "intro", london)[day][0].start
        book_maya_intro(desk, start, "Someone Earlier", email())
        return start

    while len(desk.offers.open_days("maya-chen", "intro", london)[day]) > 1:
        book_first()
    page.goto(f"{app_server['url']}/?analyst=maya-chen&type=intro&date={day.isoformat()}")
    settle(page)
    pick_time(page)
    book_first()  # the day's last free time, taken while the visitor types
    page.get_by_role("textbox", name="Name").fill("Katherine Coleman")
    page.get_by_role("textbox", name="Email").fill(email())
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_text("was just taken by someone else")).to_be_visible(timeout=15_000)
    settle(page)
    wait_focus(page, OPEN_DAY.pattern)
