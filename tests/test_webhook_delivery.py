"""The sandbox's real deliveries over HTTP, and reconciliation against a faked Calendly."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import responses
from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking.calendly.sandbox.pages import sandbox_routes
from booking.desk import build_desk
from booking.settings import Settings
from booking.signatures import sign
from booking.web.routes import create_routes
from tests.servers import free_port, serve

ROOT = Path(__file__).parents[1]
QUICK = "https://api.calendly.com/event_types/SBXQUICKCALL0001"


@pytest.fixture
def served(tmp_path, clock):
    """A sandbox desk whose webhook route is served by a real uvicorn on loopback."""
    port = free_port()
    settings = Settings(
        db_path=str(tmp_path / "d.db"),
        public_url=f"http://127.0.0.1:{port}",
        catalogue_path=str(ROOT / "data/analysts.toml"),
    )
    desk = build_desk(settings, clock=clock)
    app = Starlette(routes=create_routes(desk) + sandbox_routes(desk.sandbox))
    with serve(app, port=port):
        yield desk


def schedule(desk, clock, **tracking):
    et = desk.sandbox._event_type("SBXQUICKCALL0001")
    code = urlsplit(desk.calendly.create_scheduling_link(QUICK)).path.split("/")[4]
    slot = desk.sandbox.free_slots(et, clock(), clock() + timedelta(days=7))[0]
    return desk.sandbox.schedule(
        code,
        start=slot.start,
        name="Ada",
        email="ada@example.com",
        answer="Hi",
        timezone="UTC",
        tracking=tracking,
    )


def test_a_sandbox_booking_is_delivered_signed_over_http_and_applied(served, clock):
    """Schedule on the sandbox → a signed POST to our uvicorn-served route → a booking."""
    attempt = served.start_attempt()
    booked = schedule(served, clock, utm_content=attempt, utm_source="booking-desk")
    assert served.sandbox.deliver_due() == 1
    row = served.calendly_sync.booking_of(booked["invitee"]["uuid"])
    assert row["status"] == "confirmed" and row["attempt_id"] == attempt
    delivery = served.store.db.execute(
        "SELECT verified, outcome FROM webhook_deliveries"
    ).fetchone()
    assert delivery == (1, "applied")
    assert served.sandbox.deliver_due() == 0  # nothing is sent twice


def test_the_sandbox_cancel_and_reschedule_pages_send_their_deliveries(served, clock):
    """Cancel and reschedule on the sandbox pages reach our route and update the bookings."""
    pages = TestClient(Starlette(routes=sandbox_routes(served.sandbox)), follow_redirects=False)
    first = schedule(served, clock)["invitee"]["uuid"]
    second = schedule(served, clock)["invitee"]["uuid"]
    et = served.sandbox._event_type("SBXQUICKCALL0001")
    later = served.sandbox.free_slots(et, clock() + timedelta(days=2), clock() + timedelta(days=9))[
        0
    ]
    assert (
        pages.post(
            f"/sandbox/calendly/cancellations/{first}", data={"reason": "Travel"}
        ).status_code
        == 200
    )
    moved = pages.post(
        f"/sandbox/calendly/reschedulings/{second}", data={"start_time": later.start.isoformat()}
    )
    assert moved.status_code == 303 and "/confirmation?" in moved.headers["location"]
    assert served.sandbox.deliver_due() == 5  # 2 created, 1 canceled, 1 reschedule pair
    assert served.calendly_sync.booking_of(first)["cancel_reason"] == "Travel"
    old = served.calendly_sync.booking_of(second)
    assert old["status"] == "canceled" and old["rescheduled_to"]
    new = next(
        served.store.db.query(
            "SELECT * FROM bookings WHERE invitee_uri = ?", [old["rescheduled_to"]]
        )
    )
    assert new["status"] == "confirmed" and new["start_utc"].startswith(
        later.start.date().isoformat()
    )
    assert pages.get(f"/sandbox/calendly/cancellations/{first}").status_code == 410


def test_failed_deliveries_are_retried_with_back_off(tmp_path, clock):
    """Our route unreachable: the delivery waits 2 s, then 4 s, and lands once it is back."""
    port = free_port()
    settings = Settings(
        db_path=str(tmp_path / "r.db"),
        public_url=f"http://127.0.0.1:{port}",
        catalogue_path=str(ROOT / "data/analysts.toml"),
    )
    desk = build_desk(settings, clock=clock)
    schedule(desk, clock)
    assert desk.sandbox.deliver_due() == 0
    assert desk.sandbox.next_due_in() == 2
    clock.advance(seconds=2)
    assert desk.sandbox.deliver_due() == 0 and desk.sandbox.next_due_in() == 4
    with serve(Starlette(routes=create_routes(desk)), port=port):
        clock.advance(seconds=4)
        assert desk.sandbox.deliver_due() == 1
    assert desk.store.db["bookings"].count == 1


# -- reconciliation against a faked Calendly ---------------------------------------------------
API = "https://api.calendly.com"


def page(items):
    return {
        "collection": items,
        "pagination": {
            "count": len(items),
            "next_page": None,
            "previous_page": None,
            "next_page_token": None,
            "previous_page_token": None,
        },
    }


@responses.activate
def test_reconcile_fills_in_missed_bookings_once_and_agrees_with_webhooks(tmp_path, clock):
    """Missed created/canceled/rescheduled invitees are applied once; a late webhook is a repeat."""
    settings = Settings(
        db_path=str(tmp_path / "c.db"),
        calendly_token="pat-x",
        catalogue_path=str(ROOT / "data/analysts.toml"),
        calendly_signing_key="k",
    )
    desk = build_desk(settings, clock=clock)
    examples = ROOT / "tests/calendly_examples"
    created = json.loads((examples / "webhook_invitee_created.json").read_text())
    canceled = json.loads((examples / "webhook_invitee_canceled.json").read_text())
    event = created["payload"]["scheduled_event"]
    invitee = {k: v for k, v in created["payload"].items() if k != "scheduled_event"}
    gone = {k: v for k, v in canceled["payload"].items() if k != "scheduled_event"}
    gone["uri"] = gone["uri"].replace("EEEE", "FFFF")
    responses.get(f"{API}/users/me", json=json.loads((examples / "users_me.json").read_text()))
    responses.get(f"{API}/scheduled_events", json=page([event]))
    responses.get(f"{event['uri']}/invitees", json=page([invitee, gone]))

    fixed = desk.calendly_sync.reconcile()
    assert dict(fixed) == {"invitee.created": 2, "invitee.canceled": 1}
    statuses = sorted(r["status"] for r in desk.store.db.query("SELECT status FROM bookings"))
    assert statuses == ["canceled", "confirmed"]
    assert desk.calendly_sync.reconcile() == {}  # idempotent
    client = TestClient(Starlette(routes=create_routes(desk)))
    raw = json.dumps(created).encode()
    r = client.post(
        "/api/calendly/webhook",
        content=raw,
        headers={"Calendly-Webhook-Signature": sign(raw, "k", int(clock().timestamp()))},
    )
    assert r.json()["outcome"] == "duplicate"
    q = responses.calls[1].request.url
    assert "min_start_time=2026-11-30T08%3A00%3A00.000000Z" in q


def test_the_webhook_cli_registers_lists_and_deletes(tmp_path, monkeypatch, capsys):
    """`booking webhooks register` prints a fresh key; list shows it; delete removes it."""
    from booking.cli import main

    monkeypatch.setenv("BOOKING_DB_PATH", str(tmp_path / "cli.db"))
    monkeypatch.setenv("BOOKING_CATALOGUE", str(ROOT / "data/analysts.toml"))
    assert main(["webhooks", "register", "--url", "https://example.org/api/calendly/webhook"]) == 0
    out = capsys.readouterr().out
    assert "CALENDLY_WEBHOOK_SIGNING_KEY=" in out
    uri = next(line.split()[1] for line in out.splitlines() if line.startswith("Subscription:"))
    assert main(["webhooks", "list"]) == 0 and "https://example.org" in capsys.readouterr().out
    assert main(["webhooks", "delete", uri]) == 0
    main(["webhooks", "list"])
    assert "https://example.org" not in capsys.readouterr().out


def test_demo_data_cli_writes_a_history(tmp_path, monkeypatch, capsys):
    """`booking demo-data --attempts N --seed S` writes N attempts and says so."""
    from booking.cli import main

    monkeypatch.setenv("BOOKING_DB_PATH", str(tmp_path / "demo.db"))
    monkeypatch.setenv("BOOKING_CATALOGUE", str(ROOT / "data/analysts.toml"))
    assert main(["demo-data", "--attempts", "300", "--seed", "4"]) == 0
    assert "Wrote 300 synthetic attempts (seed 4)" in capsys.readouterr().out
    desk = build_desk(
        Settings(db_path=str(tmp_path / "demo.db"), catalogue_path=str(ROOT / "data/analysts.toml"))
    )
    assert desk.store.db["attempts"].count == 300
