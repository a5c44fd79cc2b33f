"""The visitor's way through as people really use a browser, at desktop (1280×800) and
phone (390×844) sizes: Back and Reload, a booking made with the keyboard alone, the time
held while paying offered back, a cancelled checkout. axe runs on every page visited
(``settle`` in conftest, and ``assert_accessible`` on the sandbox's own pages)."""

from __future__ import annotations

import re
from itertools import count

import pytest
from playwright.sync_api import Page, expect

from booking.desk import build_desk
from booking.settings import Settings
from tests.e2e.conftest import (
    OPEN_DAY,
    SIZES,
    assert_accessible,
    focused,
    pick_date,
    pick_time,
    settle,
    wait_focus,
)

pytestmark = pytest.mark.browser
_people = count(1)


@pytest.fixture(params=list(SIZES))
def sized(request, page: Page) -> Page:
    """The page at one of the two sizes."""
    page.set_viewport_size(SIZES[request.param])
    return page


def email() -> str:
    """A fresh address per booking (the desk limits standing bookings per address)."""
    return f"visitor{next(_people)}@example.com"


def steps_of(server: dict, attempt_id: str) -> list[str]:
    desk = build_desk(Settings(db_path=server["db"], public_url=server["url"]))
    return [e["step"] for e in desk.store.events(attempt_id)]


def test_a_booking_made_with_the_keyboard_alone_with_errors_announced_at_the_field(
    sized: Page, app_server
):
    """Tab/Enter/Space only: each choice moves the focus to the next step; an empty submit
    puts each error under its field with aria-invalid; then it books."""
    page = sized
    page.goto(app_server["url"])
    settle(page)
    page.get_by_role("button", name="Choose Maya").wait_for()
    for _ in range(40):  # Tab from the top of the page to Maya's card
        page.keyboard.press("Tab")
        if focused(page).endswith("|Choose Maya"):
            break
    else:
        raise AssertionError("Tab never reached Maya's card")
    page.keyboard.press("Enter")
    settle(page)
    wait_focus(page, r"INPUT\|radio")  # the meeting types
    page.keyboard.press("Space")  # the first: Intro call
    settle(page)
    wait_focus(page, OPEN_DAY.pattern)  # a day of the month calendar
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    wait_focus(page, OPEN_DAY.pattern)
    page.keyboard.press("Enter")
    settle(page)
    wait_focus(page, r"\|radio\|")  # the first free time
    chosen = focused(page).rsplit("|", 1)[-1]
    page.keyboard.press("Space")
    settle(page)
    wait_focus(page, r"\|text\|.*Name|Name")
    expect(page).to_have_url(re.compile(r"analyst=maya-chen&type=intro&date=.+&time="))

    order = []
    for _ in range(3):  # no help icon between the fields
        page.keyboard.press("Tab")
        order.append(focused(page))
    assert "Email" in order[0] and "Notes" in order[1] and "Book" in order[2], order
    page.keyboard.press("Enter")  # Book, with nothing filled in
    settle(page)
    name = page.get_by_role("textbox", name="Name")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("textbox", name="Email")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert").filter(has_text="Please tell us your name")).to_be_visible()
    described = name.get_attribute("aria-describedby")
    assert "tell us your name" in page.locator(f"[id='{described}']").inner_text()
    wait_focus(page, "Name")
    assert_accessible(page, "book page with errors")

    page.keyboard.type("Grace Hopper")
    page.keyboard.press("Tab")
    page.keyboard.type(email())
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="You're booked")).to_be_visible(timeout=20_000)
    expect(page.get_by_text(chosen).first).to_be_visible()
    settle(page)
    assert page.title() == "Your booking · Booking Desk"


def test_reload_restores_the_choices_and_back_steps_back_one_choice(sized: Page, app_server):
    """The choices live in the URL: Reload keeps them (typed details stay out of the URL),
    Back undoes one choice at a time, Forward brings it back, and the link can be shared."""
    page = sized
    page.goto(f"{app_server['url']}/?analyst=maya-chen&type=intro")  # a shared link
    settle(page)
    expect(page.get_by_role("radio", name=re.compile("Intro call"))).to_be_checked()
    pick_date(page)
    pick_time(page)
    page.get_by_role("textbox", name="Name").fill("Grace Hopper")
    page.get_by_role("textbox", name="Email").press("Tab")
    assert "Grace" not in page.url and "time=" in page.url

    page.reload()
    settle(page)
    expect(page.get_by_role("radiogroup", name="Time").get_by_role("radio").first).to_be_checked()
    expect(page.locator(".cal-day[aria-pressed=true]")).to_have_count(1)
    expect(page.get_by_role("heading", name="4. Your details")).to_be_visible()

    page.go_back()  # the time
    settle(page)
    expect(page).not_to_have_url(re.compile("time="))
    expect(page.get_by_role("heading", name="4. Your details")).to_have_count(0)
    expect(page.locator(".cal-day[aria-pressed=true]")).to_have_count(1)
    page.go_back()  # the date
    settle(page)
    expect(page.locator(".cal-day[aria-pressed=true]")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"\?analyst=maya-chen&type=intro$"))
    page.go_forward()
    settle(page)
    expect(page.locator(".cal-day[aria-pressed=true]")).to_have_count(1)
    boxes = page.get_by_role("radiogroup", name="Time").get_by_role("radio")
    assert all(box["height"] >= 44 for box in (b.bounding_box() for b in boxes.all()))


def test_back_from_the_checkout_offers_the_held_time_and_paying_twice_is_impossible(
    sized: Page, app_server
):
    """Proceed to Pay → Back: 'You are holding … until …' with Release it (which says so,
    with the focus) / Continue to payment; paid and booked, Back says so instead of an
    error."""
    page = sized
    page.goto(f"{app_server['url']}/?analyst=maya-chen&type=portfolio-review")
    settle(page)
    pick_date(page)
    pick_time(page)
    expect(page.get_by_text("Cancellation and refunds:")).to_be_visible()
    page.get_by_role("textbox", name="Name").fill("Katherine Johnson")
    page.get_by_role("textbox", name="Email").fill(email())
    page.get_by_role("button", name="Proceed to Pay").click()
    page.wait_for_url(re.compile(r"/sandbox/checkout/cs_sandbox_"), timeout=20_000)
    assert_accessible(page, "sandbox checkout")
    expect(page.get_by_role("note")).to_contain_text("no card is charged")

    page.go_back()
    settle(page)
    held = page.get_by_text(re.compile(r"You are holding \d\d:\d\d on .+ until \d\d:\d\d"))
    expect(held).to_be_visible(timeout=15_000)
    assert_accessible(page, "book page, holding a time")
    page.get_by_role("button", name="Release it").click()
    settle(page)
    expect(held).to_have_count(0)
    # a short confirmation takes the place (and the focus) of the held-time banner
    expect(page.get_by_text(re.compile(r"^Released "))).to_be_visible()
    wait_focus(page, r"Released .+ Nothing was charged")

    pick_time(page)
    page.get_by_role("textbox", name="Name").fill("Katherine Johnson")  # a new session
    page.get_by_role("textbox", name="Email").fill(email())
    page.get_by_role("button", name="Proceed to Pay").click()
    page.wait_for_url(re.compile(r"/sandbox/checkout/"), timeout=20_000)
    page.go_back()
    settle(page)
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(re.compile(r"/sandbox/checkout/"), timeout=20_000)
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(page.get_by_role("heading", name="You're booked")).to_be_visible(timeout=20_000)
    settle(page)

    for _ in range(2):  # back through the payment return: where they stand, no error
        page.go_back()
        settle(page)
        expect(page.get_by_role("heading", name="Payment complete")).to_be_visible()
        expect(page.get_by_text("could not find that payment")).to_have_count(0)
    page.go_back()  # the sandbox checkout itself: already paid, nothing to pay again
    expect(page.get_by_role("heading", name="Already paid")).to_be_visible(timeout=15_000)
    assert_accessible(page, "sandbox checkout, paid")


def test_a_cancelled_checkout_is_closed_and_the_way_back_keeps_the_choice(page: Page, app_server):
    """Cancel at the checkout: nothing charged, the checkout can no longer be paid, and
    'Choose a time again' opens the same analyst's dates."""
    page.goto(f"{app_server['url']}/?analyst=maya-chen")  # (Diego is the owner test's)
    settle(page)
    page.get_by_text(re.compile(r"— \d+ min · [£$]\d")).first.click()
    settle(page)
    pick_date(page)
    pick_time(page)
    page.get_by_role("textbox", name="Name").fill("Dorothy Vaughan")
    page.get_by_role("textbox", name="Email").fill(email())
    page.get_by_role("button", name="Proceed to Pay").click()
    page.wait_for_url(re.compile(r"/sandbox/checkout/"), timeout=20_000)
    checkout = page.url
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("heading", name="Payment cancelled")).to_be_visible(timeout=15_000)
    settle(page)
    page.goto(checkout)
    expect(page.get_by_role("heading", name="This checkout is closed")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Pay"))).to_have_count(0)
    assert_accessible(page, "closed checkout")
    page.go_back()
    settle(page)
    page.get_by_role("link", name="Choose a time again").click()
    settle(page)
    expect(page).to_have_url(re.compile(r"analyst=maya-chen&type="))
    expect(page.get_by_role("button", name=OPEN_DAY).first).to_be_visible()


def test_pages_open_cleanly_by_their_own_address(page: Page, app_server):
    """Deep links: no console 404s, a tab title per page, no developer menu, and a visitor
    at /analytics gets the book page rather than Streamlit's 'Page not found'."""
    problems: list[str] = []
    page.on("response", lambda r: problems.append(r.url) if r.status >= 400 else None)
    for path, title in (
        ("/success?ref=BD-NOPE&token=x", "Your booking · Booking Desk"),
        ("/paid?attempt=att_nothing_here", "Payment · Booking Desk"),
        ("/confirmation?event_type_name=Intro", "Your Calendly booking · Booking Desk"),
        ("/analytics", "Book a session · Booking Desk"),
        ("/manage?ref=BD-NOPE&token=x", "Your booking · Booking Desk"),
        ("/owner", "Owner sign-in · Booking Desk"),
    ):
        page.goto(app_server["url"] + path)
        settle(page)
        expect(page).to_have_title(title)
        expect(page.get_by_text("Page not found")).to_have_count(0)
    assert problems == []
    menu = page.get_by_test_id("stMainMenu")
    if menu.count():  # only the About item we set: no developer options, no recording
        menu.click()
        for item in ("Record", "Rerun", "Clear cache", "Deploy"):
            expect(page.get_by_text(item)).to_have_count(0)


def test_times_follow_the_visitors_clock_and_the_zone_picker_finds_places(browser, app_server):
    """An en-US browser reads 12-hour times (a toggle switches); the zone picker finds
    'New York' and 'EST' with the UTC offset, and lists no legacy alias."""
    context = browser.new_context(locale="en-US", timezone_id="America/New_York")
    page = context.new_page()
    page.goto(f"{app_server['url']}/?analyst=maya-chen&type=intro")
    settle(page)
    pick_date(page)
    times = page.get_by_role("radiogroup", name="Time").get_by_role("radio")
    expect(times.first).to_have_text(re.compile(r"^\d{1,2}:\d\d [AP]M$"))
    page.get_by_text("24-hour clock").click()
    settle(page)
    expect(times.first).to_have_text(re.compile(r"^\d\d:\d\d$"))
    picker = page.get_by_role("combobox", name="Your time zone")
    expect(picker).to_have_value(re.compile(r"New York \(America\) · UTC−0[45]:00"))
    for typed, found in (("EST", "New York"), ("london", "London (Europe)"), ("Pacific", "")):
        picker.click()
        picker.fill(typed)
        options = page.get_by_role("option")
        if found:
            expect(options.filter(has_text=found).first).to_be_visible()
        else:
            expect(options.filter(has_text="US/Pacific")).to_have_count(0)
        picker.press("Escape")
    context.close()
