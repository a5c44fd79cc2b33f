"""The booking pages driven through Streamlit's AppTest against a real SQLite file."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from streamlit.testing.v1 import AppTest

from booking.desk import build_desk
from booking.settings import Settings
from booking.signatures import sign
from tests.conftest import book_maya_intro
from ui_kit import md


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOKING_DB_PATH", str(tmp_path / "pages.db"))
    return build_desk(Settings.from_env())


UI = str(Path(__file__).parents[1] / "ui.py")


def open_app(tz: str = "Europe/London") -> AppTest:
    at = AppTest.from_file(UI, default_timeout=30)
    at.context = {"timezone": tz}
    return at.run()


def pick(at: AppTest, desk, analyst="maya-chen", meeting="intro", tz="Europe/London") -> AppTest:
    """Choose analyst and meeting type, then the first date with four free times (so one
    taken with its buffer leaves others), and its first time."""
    at.button(key=f"choose_{analyst}").click().run()
    at.radio(key="meeting").set_value(meeting).run()
    days = desk.offers.open_days(analyst, meeting, ZoneInfo(tz)).items()
    day, slots = next((d, s) for d, s in days if len(s) >= 4)
    at.query_params["date"] = day.isoformat()  # the month calendar's choice (a component)
    at.run()
    at.pills(key="slot").set_value(slots[0].start.isoformat()).run()
    return at


def reference(at: AppTest) -> str:
    ref = at.query_params["ref"]
    return ref[0] if isinstance(ref, list) else ref


def fill(at: AppTest, name="Ada Lovelace", email="ada@example.com", notes="") -> AppTest:
    at.text_input(key="name").input(name)
    at.text_input(key="email").input(email)
    at.text_area(key="notes").input(notes)
    return at


def steps(desk, attempt_id):
    return [e["step"] for e in desk.store.events(attempt_id)]


def test_a_visitor_books_a_free_session_from_first_page_to_success(env):
    """Analyst → type → date → time → details → 'Book' lands on the success page."""
    at = pick(open_app(), env)
    assert at.form_submit_button[0].label == "Book"
    attempt = at.session_state["attempt"]
    fill(at, notes="Please look at my tech holdings").form_submit_button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "You're booked"
    booking = env.booking(reference(at))
    assert booking.name == "Ada Lovelace" and booking.notes == "Please look at my tech holdings"
    assert booking.analyst.slug == "maya-chen" and booking.meeting.id == "intro"
    assert steps(env, attempt) == [
        "started",
        "analyst_selected",
        "meeting_type_selected",
        "slot_chosen",
        "details_submitted",
        "booked",
    ]
    assert at.get("download_button")


def test_a_priced_session_asks_to_proceed_to_pay(env):
    """Priced meeting types are submitted with 'Proceed to Pay'."""
    at = pick(open_app(), env, meeting="portfolio-review")
    assert at.form_submit_button[0].label == "Proceed to Pay"


def test_a_12_hour_visitor_reads_the_taken_time_in_their_own_clock(env):
    """A visitor on a 12-hour clock whose time is taken meanwhile reads it as the pills
    show it ('9:00 AM'), not in the desk's 24-hour wording."""
    at = AppTest.from_file(UI, default_timeout=30)
    at.context = {"timezone": "Europe/London", "locale": "en-US"}
    at = pick(at.run(), env)
    chosen = datetime.fromisoformat(at.session_state["slot"])
    book_maya_intro(env, chosen)
    fill(at).form_submit_button[0].click().run()
    local = chosen.astimezone(LONDON)
    assert f"{local:%-I:%M %p} on {local:%a} {local.day}" in at.error[0].value
    assert f"{local:%H:%M} on" not in at.error[0].value


@pytest.mark.parametrize("webhook_in", [False, True], ids=["paid-only", "paid-and-booked"])
def test_release_it_after_paying_in_another_tab_shows_the_booking_not_released(env, webhook_in):
    """Paid in another tab (the provider's webhook in, so already booked, or not yet), then
    'Release it' here: the page carries on as paid and shows the booking, never 'Nothing
    was charged'."""
    if not webhook_in:
        env.checkout_sandbox.on_paid = None
    at = pick(open_app(), env, meeting="portfolio-review")
    fill(at).form_submit_button[0].click().run()
    at.run()  # back from the checkout without paying here
    [release] = [b for b in at.button if b.label == "Release it"]
    [checkout] = env.store.payments_of(at.session_state["attempt"])
    env.checkout_sandbox.settle(checkout["id"], paid=True)  # the other tab
    release.click().run()
    assert not at.exception
    shown = " ".join(str(e.value) for e in [*at.success, *at.title, *at.markdown])
    assert "Nothing was charged" not in shown
    booked = env.store.attempt(at.session_state["attempt"])["booking_ref"]
    assert booked and env.booking(booked).status == "confirmed"
    assert "You're booked" in [t.value for t in at.title]


def test_a_slot_taken_meanwhile_shows_a_message_and_fresh_times(env):
    """Someone else books the chosen time first: a clear error, the time is gone, no booking."""
    at = pick(open_app(), env)
    chosen = at.session_state["slot"]

    book_maya_intro(env, datetime.fromisoformat(chosen))
    fill(at).form_submit_button[0].click().run()
    assert not at.exception
    assert "was just taken by someone else" in at.error[0].value
    assert at.session_state["slot"] is None
    day = datetime.fromisoformat(chosen).astimezone(ZoneInfo("Europe/London")).date()
    fresh = env.offers.open_days("maya-chen", "intro", ZoneInfo("Europe/London")).get(day, [])
    assert datetime.fromisoformat(chosen) not in [s.start for s in fresh]
    assert at.pills(key="slot").options == [
        f"{s.start.astimezone(ZoneInfo('Europe/London')):%H:%M}" for s in fresh
    ]
    assert env.store.db["bookings"].count == 1
    at.pills(key="slot").set_value(fresh[0].start.isoformat()).run()
    assert at.text_input(key="name").value == "Ada Lovelace"
    fill(at).form_submit_button[0].click().run()
    assert at.title[0].value == "You're booked"


def test_an_invalid_email_is_explained_and_nothing_is_lost(env):
    """A bad email shows what is wrong; the typed details and the chosen time stay."""
    at = pick(open_app(), env)
    slot = at.session_state["slot"]
    fill(at, email="ada@example", notes="keep me").form_submit_button[0].click().run()
    assert "email address is not valid" in at.error[0].value
    assert at.text_area(key="notes").value == "keep me"
    assert at.session_state["slot"] == slot
    assert env.store.db["bookings"].count == 0


def test_times_are_shown_in_the_visitors_time_zone(env):
    """A visitor in Tokyo sees the Tokyo wall-clock times of the analyst's free slots."""
    at = pick(open_app("Asia/Tokyo"), env, tz="Asia/Tokyo")
    tz = ZoneInfo("Asia/Tokyo")
    day = env.offers.open_days("maya-chen", "intro", tz)[
        date.fromisoformat(at.session_state["day"])
    ]
    assert at.selectbox(key="visitor_tz").value == "Asia/Tokyo"
    assert at.pills(key="slot").options == [f"{s.start.astimezone(tz):%H:%M}" for s in day]


def test_the_success_page_reloads_from_its_reference_and_token(env):
    """The success URL (reference + manage token) shows the booking in a new session; a
    wrong token says it is not found, and the reference alone shows nothing personal."""
    at = pick(open_app(), env)
    fill(at, name="Ada Lovelace", notes="my secret plans").form_submit_button[0].click().run()
    ref, token = reference(at), at.query_params["token"]
    token = token[0] if isinstance(token, list) else token

    fresh = AppTest.from_file(UI, default_timeout=30)
    fresh.query_params.update(ref=ref, token=token)
    fresh.run().switch_page("app_pages/success.py").run()
    assert fresh.title[0].value == "You're booked"
    shown = "".join(m.value for m in fresh.markdown)
    assert ref in shown and "Ada Lovelace" in shown

    wrong = AppTest.from_file(UI, default_timeout=30)
    wrong.query_params.update(ref=ref, token="not-the-token")
    wrong.run().switch_page("app_pages/success.py").run()
    assert wrong.title[0].value == "Booking not found"
    assert not wrong.exception

    bare = AppTest.from_file(UI, default_timeout=30)
    bare.query_params["ref"] = ref
    bare.run().switch_page("app_pages/success.py").run()
    everything = " ".join(str(e.value) for e in [*bare.markdown, *bare.info, *bare.text])
    assert "Ada" not in everything and "secret plans" not in everything
    assert "private link" in bare.info[0].value
    assert not bare.button and not bare.get("download_button")


QUICK = "https://api.calendly.com/event_types/SBXQUICKCALL0001"


def test_a_calendly_booking_hands_off_to_the_prefilled_sandbox_link(env):
    """Assassin (sandbox Calendly): the page records the link and redirects in the same tab."""
    at = pick(open_app(), env, analyst="assassin", meeting=QUICK)
    assert at.form_submit_button[0].label == "Continue to Calendly"  # booked only there
    attempt = at.session_state["attempt"]
    fill(at, name="Zoë O'Brien", notes="Q&A").form_submit_button[0].click().run()
    assert not at.exception and not at.error
    assert "Taking you to Calendly" in at.info[0].value
    script = at.get("html")[0].proto.body
    link = re.search(r'assign\("([^"]+)"\)', script).group(1)
    assert env.modes.may_redirect_to(link) and f"utm_content={attempt}" in link
    assert "name=Zo%C3%AB%20O%27Brien" in link
    assert steps(env, attempt)[-3:] == ["details_submitted", "link_created", "redirected"]


def test_a_priced_calendly_type_asks_to_proceed_to_pay(env):
    """Strategy Session carries the catalogue's price, so the button says Proceed to Pay."""
    at = pick(
        open_app(),
        env,
        analyst="assassin",
        meeting="https://api.calendly.com/event_types/SBXSTRATEGY00001",
    )
    assert at.form_submit_button[0].label == "Proceed to Pay"


def test_calendly_being_down_is_explained_on_the_page(env, monkeypatch):
    """No traceback: with Calendly unreachable the page says to try again shortly."""
    monkeypatch.setenv("CALENDLY_TOKEN", "pat-test")
    monkeypatch.setenv("CALENDLY_API_URL", "http://127.0.0.1:9")
    at = open_app()
    at.button(key="choose_assassin").click().run()
    assert not at.exception
    assert "Calendly is not answering right now" in at.error[0].value
    assert "pat-test" not in at.error[0].value


def test_the_confirmation_page_shows_calendlys_details_as_unconfirmed(env):
    """Coming back from Calendly: the details are shown, marked as waiting for Calendly."""
    attempt = env.start_attempt()
    at = AppTest.from_file(UI, default_timeout=30)
    at.context = {"timezone": "Europe/London"}
    for key, value in {
        "event_type_name": "Quick Consult",
        "assigned_to": "Assassin",
        "event_start_time": "2026-12-01T09:00:00-05:00",
        "invitee_full_name": "**Bold** [x](y)",
        "invitee_email": "zoe@example.com",
        "utm_content": attempt,
    }.items():
        at.query_params[key] = value
    at.run().switch_page("app_pages/confirmation.py").run()
    assert not at.exception
    assert "Waiting for Calendly's confirmation" in at.info[0].value
    text = "\n".join(m.value for m in at.markdown)
    assert "Tuesday 1 December 2026, 14:00 (Europe/London)" in text
    assert r"\*\*Bold\*\* \[x\]\(y\)" in text
    assert steps(env, attempt)[-1] == "returned"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("9999-12-31T23:59:59+00:00", "9999-12-31T23:59:59-14:00"),
        ("0001-01-01T00:00:00+00:00", ""),
        ("2026-12-01T09:00:00", "2026-12-01T08:00:00"),
    ],
    ids=["year-9999", "year-1", "no-offset"],
)
def test_a_crafted_confirmation_link_shows_the_raw_time_without_failing(env, start, end):
    """Times in a crafted link that overflow, or carry no offset, are shown as given (as
    typed), never read as a time: no page failure (logged on every poll before)."""
    at = AppTest.from_file(UI, default_timeout=30)
    at.context = {"timezone": "Europe/London"}
    at.query_params.update(event_start_time=start, event_end_time=end)
    at.run().switch_page("app_pages/confirmation.py").run()
    assert not at.exception and not at.error
    assert "Waiting for Calendly's confirmation" in at.info[0].value
    assert any(f"**When** · {md(start)}" == m.value for m in at.markdown)


def test_the_confirmation_page_turns_confirmed_when_the_webhook_has_landed(env):
    """Once the signed delivery is stored, the same page says confirmed and offers Calendly's
    reschedule and cancel links; before it, it keeps waiting; cancelled later on Calendly,
    it says so and no longer offers to change it."""
    et = env.sandbox._event_type("SBXQUICKCALL0001")
    code = env.calendly.create_scheduling_link(QUICK).split("/d/")[1].split("/")[0]
    slot = env.sandbox.free_slots(et, env.clock(), env.clock() + timedelta(days=7))[0]
    booked = env.sandbox.schedule(
        code,
        start=slot.start,
        name="Ada",
        email="a@example.com",
        answer="",
        timezone="UTC",
        tracking={},
    )
    at = AppTest.from_file(UI, default_timeout=30)
    at.query_params["invitee_uuid"] = booked["invitee"]["uuid"]
    at.query_params["event_start_time"] = slot.start.isoformat()
    at.run().switch_page("app_pages/confirmation.py").run()
    assert "Waiting for Calendly's confirmation" in at.info[0].value

    def deliver(event: str) -> None:  # the sandbox's signed delivery, received by the desk
        body = env.store.db.execute(
            "SELECT body FROM sandbox_deliveries WHERE event = ?", [event]
        ).fetchone()[0]
        at_now = int(env.clock().timestamp())
        signed = sign(body.encode(), next(env.inbox.signing_keys()), at_now)
        assert env.inbox.calendly(body.encode(), signed).status == 200

    deliver("invitee.created")
    at.run()
    assert "Confirmed by Calendly" in at.success[0].value
    assert at.title[0].value == "You're booked"
    assert [b.label for b in at.get("link_button")][-2:] == ["Reschedule", "Cancel"]
    assert at.get("download_button")[0].label == "Add to calendar (.ics)"
    booking = env.booking(env.calendly_sync.booking_of(booked["invitee"]["uuid"])["reference"])
    assert f"{booking.end.astimezone(ZoneInfo('Europe/London')):%H:%M} (Europe/London)" in (
        "\n".join(m.value for m in at.markdown)
    )
    assert any("Need to change it?" in c.value for c in at.caption)

    env.sandbox.state.cancel(booked["invitee"]["uuid"], reason="Clash")  # on Calendly's page
    deliver("invitee.canceled")
    at.run()
    assert at.title[0].value == "Booking cancelled"
    assert not any("Need to change it?" in c.value for c in at.caption)  # nothing to change


def test_an_old_confirmation_link_after_a_reschedule_says_where_the_booking_moved(
    tmp_path, monkeypatch, clock
):
    """Calendly moved the booking (cancel + create): the old link's page says 'moved' with
    the new time and a link to it, instead of 'cancelled'."""
    from dataclasses import replace

    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from booking.web.routes import create_routes
    from tests.test_webhooks import KEY, post, reschedule_pair

    monkeypatch.setenv("BOOKING_DB_PATH", str(tmp_path / "moved.db"))
    settings = replace(Settings.from_env(), calendly_signing_key=KEY)
    desk = build_desk(settings, clock=clock)
    client = TestClient(Starlette(routes=create_routes(desk)))
    canceled, created, _, _ = reschedule_pair()
    for body in (canceled, created):
        assert post(client, clock, body).json()["outcome"] == "applied"

    at = AppTest.from_file(UI, default_timeout=30)
    at.context = {"timezone": "Europe/London"}
    at.query_params["invitee_uuid"] = "OLDINV"
    at.query_params["event_start_time"] = "2026-12-01T15:00:00Z"
    at.run().switch_page("app_pages/confirmation.py").run()
    assert not at.exception
    assert at.title[0].value == "Your booking was moved"
    assert "Wednesday 2 December 2026, 15:00–16:00 (Europe/London)" in at.info[0].value
    assert not at.warning  # not worded as a cancellation


def test_a_paste_longer_than_a_field_allows_keeps_the_allowed_part_and_says_so(env):
    """2,500 characters of notes: the first 2,000 are kept, the visitor is told at the field,
    and nothing is booked until they look and submit again."""
    at = pick(open_app(), env)
    pasted = "Long notes. " * 209  # 2,508 characters
    fill(at, notes=pasted).form_submit_button[0].click().run()
    assert not at.exception
    assert at.text_area(key="notes").value == pasted[:2000]
    assert "we kept the first 2,000" in at.error[0].value
    assert env.store.db["bookings"].count == 0
    at.form_submit_button[0].click().run()
    assert at.title[0].value == "You're booked"
    assert env.booking(reference(at)).notes == pasted[:2000].strip()


LONDON = ZoneInfo("Europe/London")
MARKED_UP_EMAIL = "*star*_under_@example.com"  # valid, and full of Markdown's characters


def as_rendered(markdown: str) -> tuple[str, str]:
    """(the HTML CommonMark makes of ``markdown``, the text a reader sees in it)."""
    from html import unescape

    from markdown_it import MarkdownIt

    rendered = MarkdownIt("commonmark").render(markdown)
    return rendered, unescape(re.sub(r"<[^>]+>", "", rendered)).replace("\u2060", "")


def open_manage(desk, email: str, locale: str = "en-GB") -> tuple[AppTest, object]:
    """The manage page of a new booking of Maya's intro call (first free time) by ``email``."""
    first = next(iter(desk.offers.open_days("maya-chen", "intro", LONDON).values()))[0]
    booking = book_maya_intro(desk, first.start, "Grace Hopper", email)
    at = AppTest.from_file(UI, default_timeout=30)
    at.context = {"timezone": "Europe/London", "locale": locale}
    at.query_params.update(ref=booking.reference, token=booking.manage_token)
    return at.run().switch_page("app_pages/manage.py").run(), booking


def choose_new_time(at: AppTest, desk, booking):
    """On the manage page: the second offered date and its first time; returns that slot."""
    day, slots = list(desk.manage.times(booking, LONDON).items())[1]
    at.pills(key="manage_day").set_value(day.isoformat()).run()
    at.pills(key="manage_slot").set_value(slots[0].start.isoformat()).run()
    return slots[0]


def move_button(at: AppTest):
    return next(b for b in at.button if b.label.startswith("Move to"))


def test_after_a_move_the_visitors_email_is_shown_as_typed_not_as_formatting(env):
    """'…on its way to *star*_under_@example.com' keeps its stars and underscores: a
    visitor's text never becomes emphasis or a link."""
    at, booking = open_manage(env, MARKED_UP_EMAIL)
    choose_new_time(at, env, booking)
    move_button(at).click().run()
    assert not at.exception and "Moved:" in at.success[0].value
    rendered, text = as_rendered(at.success[0].value)
    assert "<em>" not in rendered and "<a " not in rendered
    assert f"on its way to {MARKED_UP_EMAIL}." in text


TWELVE = re.compile(r"\b\d{1,2}:\d\d [AP]M\b")
TWENTY_FOUR = re.compile(r"\b\d\d:\d\d\b(?! [AP]M)")


def test_the_manage_page_reads_every_time_in_the_visitors_12_hour_clock(env):
    """An en-US visitor reads 12-hour times on the card, the new times, the Move button, the
    'Moved' message and the cancel question; none in 24-hour."""
    at, booking = open_manage(env, "ada@example.com", locale="en-US")
    card = next(m.value for m in at.markdown if m.value.startswith("**When**"))
    assert TWELVE.search(card) and not TWENTY_FOUR.search(card)
    slot = choose_new_time(at, env, booking)
    times = at.pills(key="manage_slot").options
    assert times and all(TWELVE.fullmatch(t) for t in times)
    start = slot.start.astimezone(LONDON)
    assert move_button(at).label == f"Move to {start:%a %-d %b}, {start:%-I:%M %p}"
    move_button(at).click().run()
    assert TWELVE.search(at.success[0].value) and not TWENTY_FOUR.search(at.success[0].value)
    next(b for b in at.button if b.label == "Cancel this booking…").click().run()
    assert TWELVE.search(at.warning[0].value) and not TWENTY_FOUR.search(at.warning[0].value)


def test_the_success_page_reads_the_time_in_the_clock_the_visitor_chose(env):
    """Booked with the 12-hour clock on, the success page's card says '10:00 AM', not 10:00."""
    at = pick(open_app(), env)
    at.toggle(key="clock_24h").set_value(False).run()
    fill(at).form_submit_button[0].click().run()
    assert at.title[0].value == "You're booked"
    card = next(m.value for m in at.markdown if m.value.startswith("**When**"))
    assert TWELVE.search(card) and not TWENTY_FOUR.search(card)


def test_canadian_visitors_read_the_clock_of_their_language(env):
    """English Canada reads 12-hour times, French Canada 24-hour (the region alone would
    give both 12-hour)."""
    for locale, pattern in (("en-CA", TWELVE), ("fr-CA", TWENTY_FOUR)):
        at = AppTest.from_file(UI, default_timeout=30)
        at.context = {"timezone": "America/Toronto", "locale": locale}
        at = pick(at.run(), env, tz="America/Toronto")
        times = at.pills(key="slot").options
        assert times and all(pattern.fullmatch(t) for t in times), (locale, times)


def heading_levels(node) -> list[int]:
    """The levels of the headings under ``node``, in page order (h1 → 1)."""
    from streamlit.testing.v1.element_tree import HeadingBase

    if isinstance(node, HeadingBase):
        return [int(node.tag[1])]
    return [n for child in getattr(node, "children", {}).values() for n in heading_levels(child)]


def test_the_manage_page_headings_never_skip_a_level(env):
    """One h1, then h2 sections (no jump from h1 to h3), as screen-reader users navigate."""
    at, _ = open_manage(env, "ada@example.com")
    next(b for b in at.button if b.label == "Cancel this booking…").click().run()
    levels = heading_levels(at.main)
    assert levels[0] == 1 and len(levels) >= 3
    assert all(b - a <= 1 for a, b in pairwise(levels)), levels
