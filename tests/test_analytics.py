"""Owner analytics over a small hand-made history, with exact expected numbers."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from booking.analytics import (
    Filters,
    booked_heatmap,
    booking_rates,
    breakdown,
    export_csv,
    funnel_table,
    incomplete,
    kpis,
    kpis_with_change,
    time_to_book,
    webhook_health,
)
from booking.desk import build_desk
from booking.domain import funnel
from booking.settings import Settings
from booking.signatures import sign

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "tests/calendly_examples"
STRATEGY = "https://api.calendly.com/event_types/CCCCCCCCCCCCCCCC"
WEEK = Filters(date(2026, 12, 1), date(2026, 12, 7))


def at(clock, when: str) -> None:
    clock.now = datetime.fromisoformat(when).replace(tzinfo=UTC)


@pytest.fixture
def history(tmp_path, clock):
    """Five attempts; four in the week of 1-7 Dec 2026, one the week before."""
    desk = build_desk(
        Settings(
            db_path=str(tmp_path / "a.db"),
            calendly_signing_key="k",
            catalogue_path=str(ROOT / "data/analysts.toml"),
        ),
        clock=clock,
    )
    s = desk.store

    def attempt(when: str, analyst: str, provider: str, meeting: str, steps: list) -> str:
        at(clock, when)
        a = desk.start_attempt()
        s.update_attempt(
            a,
            now=clock(),
            analyst=analyst,
            provider=provider,
            meeting_type=meeting,
            email=f"{a}@example.com",
        )
        for minutes, step in steps:
            at(clock, when)
            clock.advance(minutes=minutes)
            s.add_event(a, step, now=clock())
        return a

    ids = {
        # booked locally two minutes after starting
        "a1": attempt(
            "2026-12-01T09:00:00",
            "maya-chen",
            "local",
            "intro",
            [(1, "slot_chosen"), (2, "details_submitted")],
        ),
        # handed to Calendly, never booked
        "a2": attempt(
            "2026-12-02T10:00:00",
            "assassin",
            "calendly",
            STRATEGY,
            [(1, "slot_chosen"), (2, "details_submitted"), (3, "link_created"), (3, "redirected")],
        ),
        # left after the first page
        "a3": attempt("2026-12-03T11:00:00", "diego-alvarez", "local", None, []),
        # handed to Calendly, booked there three hours later, then canceled
        "a4": attempt(
            "2026-12-03T12:00:00",
            "assassin",
            "calendly",
            STRATEGY,
            [(1, "slot_chosen"), (2, "details_submitted"), (3, "link_created"), (3, "redirected")],
        ),
        # the week before
        "a5": attempt(
            "2026-11-25T09:00:00",
            "maya-chen",
            "local",
            "intro",
            [(1, "slot_chosen"), (2, "details_submitted")],
        ),
    }
    for key, start in (("a1", "2026-12-08T10:00:00+00:00"), ("a5", "2026-11-26T10:00:00+00:00")):
        row = s.attempt(ids[key])
        at(clock, row["created_at"][:19])
        clock.advance(minutes=2)
        s.insert_booking_if_free(
            {
                "reference": f"BD-{key}",
                "attempt_id": ids[key],
                "provider": "local",
                "analyst": "maya-chen",
                "meeting_type": "intro",
                "start_utc": start,
                "end_utc": start.replace("10:00", "10:20"),
                "status": "confirmed",
            },
            clear_from=datetime.fromisoformat(start),
            now=clock(),
            attempt_id=ids[key],
            clear_to=datetime.fromisoformat(start) + timedelta(minutes=20),
        )
    created = json.loads((EXAMPLES / "webhook_invitee_created.json").read_text())
    created["payload"]["tracking"]["utm_content"] = ids["a4"]
    created["created_at"] = "2026-12-03T15:00:00.000000Z"
    canceled = json.loads((EXAMPLES / "webhook_invitee_canceled.json").read_text())
    canceled["created_at"] = "2026-12-05T08:30:01.000000Z"
    at(clock, "2026-12-03T15:00:00")
    for body in (created, created, canceled):  # the second is a repeat
        raw = json.dumps(body).encode()
        assert desk.inbox.calendly(raw, sign(raw, "k", int(clock().timestamp()))).status == 200
    assert desk.inbox.calendly(b"{}", "t=1,v1=00").status == 401  # a forged one
    at(clock, "2026-12-07T08:00:00")
    return desk, ids


def test_kpis_count_each_step_once_per_attempt(history):
    """The week: 4 attempts, 3 chose a slot, 2 got a link, 2 booked, 1 canceled."""
    desk, _ = history
    assert kpis(desk.store, WEEK) == {
        "attempts": 4,
        "slot_chosen": 3,
        "details_submitted": 3,
        "paid": 0,
        "link_created": 2,
        "redirected": 2,
        "booked": 2,
        "canceled": 1,
        "rescheduled": 0,
        "no_show": 0,
    }


def test_change_is_against_the_period_before(history):
    """The week before had one attempt, booked: +300 % attempts, +100 % bookings."""
    desk, _ = history
    table = kpis_with_change(desk.store, WEEK).set_index("step")
    assert table.loc["attempts", "previous"] == 1 and table.loc["attempts", "change"] == 3.0
    assert table.loc["booked", "change"] == 1.0
    assert pd.isna(table.loc["canceled", "change"])  # no cancellations before: no change


def test_funnel_shows_share_of_start_and_step_drop_off(history):
    """4 → 3 → 3 → 2: 75 %, 75 %, 50 % of start; drop-offs 25 %, 0 %, 33 %."""
    desk, _ = history
    table = funnel_table(kpis(desk.store, WEEK))
    assert list(table["count"]) == [4, 3, 3, 2]
    assert list(table["pct_of_start"]) == [1.0, 0.75, 0.75, 0.5]
    assert [round(d, 4) for d in table["dropoff"]] == [0.0, 0.25, 0.0, 0.3333]


def test_bookings_made_through_the_api_choose_their_time_in_the_funnel(sandbox_desk, clock):
    """An API caller picks the time with its request: its attempts count as 'slot chosen'
    too, so the funnel never has more details submitted than times chosen (it went
    backwards, '−-46%', when the API was used)."""
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from booking.web.routes import create_routes

    desk = sandbox_desk
    api = TestClient(Starlette(routes=create_routes(desk)))
    london = ZoneInfo("Europe/London")
    [first, second, *_] = next(iter(desk.offers.open_days("maya-chen", "intro", london).values()))
    for n, slot in enumerate((first, second)):
        r = api.post(
            "/api/bookings",
            json={
                "analyst": "maya-chen",
                "meetingType": "intro",
                "startTime": slot.start.isoformat(),
                "name": "Ada Lovelace",
                "email": f"ada{n}@example.com",
                "timezone": "Europe/London",
            },
        )
        assert r.status_code == 201, r.text
    today = clock().date()
    counts = kpis(desk.store, Filters(today, today))
    assert counts["slot_chosen"] == counts["details_submitted"] == counts["booked"] == 2
    assert all(d >= 0 for d in funnel_table(counts)["dropoff"])


def test_breakdowns_and_filters_split_the_same_numbers(history):
    """By provider 2 + 2; filtering to one analyst or provider narrows every count."""
    desk, _ = history
    store = desk.store
    by = breakdown(store, WEEK, "provider").set_index("provider")
    assert by.loc["local", "attempts"] == 2 and by.loc["local", "booked"] == 1
    assert by.loc["calendly", "attempts"] == 2 and by.loc["calendly", "conversion"] == 0.5
    only_maya = Filters(WEEK.first, WEEK.last, analyst="maya-chen")
    assert kpis(store, only_maya)["attempts"] == 1 and kpis(store, only_maya)["booked"] == 1
    calendly = Filters(WEEK.first, WEEK.last, provider="calendly")
    assert kpis(store, calendly)["link_created"] == 2 and kpis(store, calendly)["slot_chosen"] == 2
    one_day = Filters(date(2026, 12, 3), date(2026, 12, 3))
    assert kpis(store, one_day)["attempts"] == 2


def test_time_to_book_rates_incomplete_and_heatmap(history):
    """a1 booked in 2 min, a4 in 3 h; half the week's bookings canceled; a2 is incomplete."""
    desk, ids = history
    store = desk.store
    assert dict(zip(*time_to_book(store, WEEK).T.values, strict=True)) == {
        "< 5 min": 1,
        "5–60 min": 0,
        "1–24 h": 1,
        "1–7 days": 0,
        "> 7 days": 0,
    }
    rates = booking_rates(kpis(store, WEEK))
    assert (rates["bookings"], rates["canceled"], rates["cancel_rate"]) == (2, 1, 0.5)
    stuck = incomplete(store, WEEK, now=desk.clock(), hours=24)
    assert list(stuck["attempt"]) == [ids["a2"]]
    heat = booked_heatmap(store, WEEK, ZoneInfo("Europe/London")).set_index(["weekday", "hour"])
    assert heat["bookings"].sum() == 1  # a4's booking was canceled; a1's is at Tue 10:00
    assert heat.loc[(1, 10), "bookings"] == 1


def test_webhook_health_counts_deliveries_rejections_and_repeats(history):
    """Three signed deliveries (one a repeat) and one forged."""
    desk, _ = history
    health = webhook_health(desk.store, WEEK)
    assert (health["deliveries"], health["rejected"], health["duplicates"]) == (4, 1, 1)


def test_csv_holds_the_filtered_rows(history):
    """Attempts CSV: a header and the week's four attempts; filtered to Calendly, two."""
    desk, ids = history
    rows = list(csv.DictReader(io.StringIO(export_csv(desk.store, WEEK, "attempts"))))
    assert sorted(r["id"] for r in rows) == sorted(ids[k] for k in ("a1", "a2", "a3", "a4"))
    assert {"analyst", "provider", "at_booked"} <= set(rows[0])
    calendly = Filters(WEEK.first, WEEK.last, provider="calendly")
    bookings = list(csv.DictReader(io.StringIO(export_csv(desk.store, calendly, "bookings"))))
    assert [b["status"] for b in bookings] == ["canceled"]


def test_demo_data_is_realistic_and_repeatable(tmp_path, clock):
    """Same seed, same history; every step shows up and the funnel narrows."""
    desk = build_desk(
        Settings(db_path=str(tmp_path / "d.db"), catalogue_path=str(ROOT / "data/analysts.toml")),
        clock=clock,
    )
    assert desk.owner.load_demo_data(3000, seed=5) == 3000
    f = Filters(date(2026, 9, 1), date(2026, 12, 7))
    counts = kpis(desk.store, f)
    assert counts["attempts"] == 3000
    assert (
        counts["attempts"] > counts["slot_chosen"] > counts["details_submitted"] > counts["booked"]
    )
    assert min(counts[k] for k in ("link_created", "canceled", "rescheduled", "no_show")) > 0
    again = build_desk(
        Settings(db_path=str(tmp_path / "e.db"), catalogue_path=str(ROOT / "data/analysts.toml")),
        clock=clock,
    )
    again.owner.load_demo_data(3000, seed=5)
    assert kpis(again.store, f) == counts


def recount(db) -> set[tuple]:
    steps = ", ".join(f"count(at_{s})" for s in funnel.TRACKED)
    return set(
        db.execute(
            f"SELECT substr(created_at, 1, 10), coalesce(analyst, ''), coalesce(meeting_type, ''), "  # noqa: S608
            f"coalesce(provider, ''), count(*), {steps} FROM attempts GROUP BY 1, 2, 3, 4"
        )
    )


def rolled_up(db) -> set[tuple]:
    steps = ", ".join(f"s_{s}" for s in funnel.TRACKED)
    return set(
        db.execute(
            f"SELECT day, analyst, meeting_type, provider, attempts, {steps} "  # noqa: S608
            "FROM funnel_daily WHERE attempts != 0"
        )
    )


def test_the_daily_rollup_always_equals_a_recount_of_the_attempts(history, tmp_path, clock):
    """Whatever was written (steps, changed analysts, webhooks, demo data), the roll-up the
    dashboard reads matches a full recount from the attempts themselves."""
    desk, ids = history
    desk.store.update_attempt(
        ids["a3"], now=desk.clock(), analyst="maya-chen", meeting_type="intro"
    )  # a visitor changing their mind
    db = desk.store.db.conn
    assert rolled_up(db) == recount(db) and len(recount(db)) >= 4
    desk.owner.load_demo_data(500, seed=9)
    assert rolled_up(db) == recount(db)


def test_every_count_on_the_page_has_one_definition(tmp_path, clock):
    """A hand-made history: booked, moved twice, cancelled, no-show. The KPIs and the
    outcome figures are the same numbers (one definition, per attempt and step)."""
    desk = build_desk(
        Settings(db_path=str(tmp_path / "d.db"), catalogue_path=str(ROOT / "data/analysts.toml")),
        clock=clock,
    )
    at(clock, "2026-12-02T09:00:00")
    histories = {
        "moved twice": ["slot_chosen", "booked", "rescheduled", "rescheduled"],
        "moved, then cancelled": ["slot_chosen", "booked", "rescheduled", "canceled"],
        "no-show": ["slot_chosen", "booked", "no_show"],
        "booked": ["slot_chosen", "booked"],
        "left": ["slot_chosen"],
    }
    for steps in histories.values():
        attempt = desk.start_attempt()
        desk.record(attempt, "analyst_selected", attempt_fields={"analyst": "maya-chen"})
        for step in steps:
            clock.advance(minutes=5)
            desk.record(attempt, step)
    counts = kpis(desk.store, WEEK)
    assert (counts["attempts"], counts["booked"], counts["rescheduled"]) == (5, 4, 2)
    assert (counts["canceled"], counts["no_show"]) == (1, 1)
    dashboard = desk.owner.dashboard(WEEK, ZoneInfo("Europe/London"))
    rates = dashboard["rates"]
    shown = dict(zip(dashboard["kpis"]["step"], dashboard["kpis"]["count"], strict=True))
    assert (rates["bookings"], rates["rescheduled"]) == (shown["booked"], shown["rescheduled"])
    assert (rates["canceled"], rates["no_show"]) == (shown["canceled"], shown["no_show"])
    assert rates["cancel_rate"] == 0.25 and rates["no_show_rate"] == 0.25


def test_revenue_is_paid_less_refunds_due_per_currency_analyst_and_type(sandbox_desk, clock):
    """Two paid sessions (one later cancelled: refund due), one abandoned checkout: paid
    £240, refunds due £120, net £120; the previous period took nothing."""
    from booking.domain.request import BookingRequest

    desk = sandbox_desk
    london = ZoneInfo("Europe/London")
    slots = [
        s
        for ss in desk.offers.open_days("maya-chen", "portfolio-review", london).values()
        for s in ss
    ]
    references = []
    for n, slot in enumerate((slots[0], slots[4], slots[8])):
        attempt = desk.start_attempt()
        url = desk.checkout.start(
            BookingRequest(
                analyst="maya-chen",
                meeting_type="portfolio-review",
                start=slot.start,
                name="Ada Lovelace",
                email=f"ada{n}@example.com",
                timezone="Europe/London",
                attempt_id=attempt,
            )
        )
        if n < 2:
            desk.checkout_sandbox.settle(url.rsplit("/", 1)[-1], paid=True)
            references.append(desk.checkout.complete(attempt).reference)
    desk.local.cancel(references[0])
    today = clock().date()
    data = desk.owner.dashboard(Filters(today, today), london)
    money = {k: data[f"revenue_{k}"] for k in ("totals", "by_analyst", "by_meeting_type")}
    totals = money["totals"].set_index("period")
    assert totals.loc["This period", ["currency", "paid", "refunds_due", "net"]].tolist() == [
        "GBP",
        240.0,
        120.0,
        120.0,
    ]
    assert "Previous period" not in totals.index
    assert money["by_analyst"].to_dict("records") == [
        {
            "analyst": "maya-chen",
            "currency": "GBP",
            "paid": 240.0,
            "refunds_due": 120.0,
            "net": 120.0,
        }
    ]
    assert list(money["by_meeting_type"]["meeting_type"]) == ["portfolio-review"]
