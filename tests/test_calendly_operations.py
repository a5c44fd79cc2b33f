"""Running the desk against a real Calendly account: token scopes (`booking check --live`),
the webhook subscription (`register --replace`, signature alarms, health), reconciliation
within Calendly's rate limit, and the seed contract for priced sessions."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking.calendly.scopes import ALL_SCOPES
from booking.desk.wiring import desk_for
from booking.errors import CalendlyRateLimited
from booking.settings import Settings
from booking.signatures import sign
from booking.web.routes import create_routes
from tests.servers import free_port, serve

ROOT = Path(__file__).parents[1]
QUICK = "https://api.calendly.com/event_types/SBXQUICKCALL0001"
STRATEGY = "https://api.calendly.com/event_types/SBXSTRATEGY00001"


def book_quietly(desk, n: int, *, after=None) -> list[dict]:
    """``n`` bookings made on Calendly (the sandbox) whose webhooks never reach us."""
    sandbox = desk.sandbox
    et = sandbox._event_type("SBXQUICKCALL0001")
    now = desk.clock()
    slots = sandbox.free_slots(et, after or now, now + timedelta(days=40))[:n]
    assert len(slots) == n
    return [
        sandbox.state.book(
            et, s.start, name=f"V{i}", email=f"v{i}@example.com", timezone="UTC", tracking={}
        )
        for i, s in enumerate(slots)
    ]


# -- reconciliation within the rate limit ------------------------------------------------------
def test_reconciliation_spends_a_share_of_the_rate_limit_and_resumes(sandbox_desk, clock):
    """Free plan (50 requests a minute), 60 missed bookings: each run stays within its share
    and leaves visitors their reserve, the next run resumes, and once all is known a run
    costs one request. (Reading every event's invitees at once hit 429 and aborted.)"""
    desk = sandbox_desk
    book_quietly(desk, 60)
    desk.sandbox.limit_requests(50)
    runs = []
    for _ in range(10):
        fixed = desk.calendly_sync.reconcile()
        run = desk.store.db.execute(
            "SELECT requests, resume_from FROM reconcile_runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
        runs.append((fixed["invitee.created"], *run))
        if run[1] is None:
            break
        later = clock() + timedelta(days=21)  # a visitor looks up times in the same minute:
        assert desk.calendly.available_times(QUICK, later, later + timedelta(days=1))  # no 429
        clock.advance(minutes=1)
    assert all(requests <= 15 for _, requests, _ in runs)
    assert sum(fixed for fixed, _, _ in runs) == 60 and len(runs) > 1
    assert desk.store.db.execute("SELECT count(*) FROM bookings").fetchone()[0] == 60
    clock.advance(minutes=1)
    assert desk.calendly_sync.reconcile() == {}
    last = desk.store.db.execute(
        "SELECT requests FROM reconcile_runs ORDER BY id DESC LIMIT 1"
    ).fetchone()[0]
    assert last == 1  # one page of events, all consistent: no invitee reads


def test_a_rate_limited_reconciliation_stops_cleanly_and_resumes(sandbox_desk, clock):
    """A 429 Calendly would make us wait a minute for ends the run, not the process: what
    it fixed is kept and the next run goes on from there."""
    desk = sandbox_desk
    book_quietly(desk, 8)
    desk.sandbox.limit_requests(4)
    desk.calendly_sync.reconcile()  # may stop on its budget or on Calendly's 429
    clock.advance(minutes=1)
    desk.sandbox.limit_requests(None)
    desk.calendly_sync.reconcile()
    assert desk.store.db.execute("SELECT count(*) FROM bookings").fetchone()[0] == 8


def test_nothing_is_sent_for_bookings_learned_of_when_over_or_canceled(sandbox_desk, clock):
    """Branded confirmations on: reconciliation confirms a booking still to come, but says
    nothing of one canceled, or over, before we heard of it."""
    desk = sandbox_desk
    desk.settings = replace(desk.settings, calendly_confirmations=1)
    book_quietly(desk, 1)  # over by the time we hear of it
    upcoming, canceled = book_quietly(desk, 2, after=clock() + timedelta(days=3))
    desk.sandbox.cancel(canceled["invitee"]["uuid"], reason="changed my mind")
    clock.advance(days=1)  # the first is over now
    desk.calendly_sync.reconcile()
    assert desk.store.db.execute("SELECT count(*) FROM bookings").fetchone()[0] == 3
    assert {m["to_addr"] for m in desk.owner.outbox()} == {upcoming["invitee"]["email"]}


# -- the webhook subscription ------------------------------------------------------------------
@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOKING_DB_PATH", str(tmp_path / "cli.db"))
    monkeypatch.setenv("BOOKING_CATALOGUE", str(ROOT / "data/analysts.toml"))
    from booking.cli import main

    return main


def test_registering_an_existing_url_shows_it_and_replaces_only_when_asked(cli_env, capsys):
    """Calendly allows one subscription per URL (409): register shows the existing one and
    stops; with --replace it deletes it and subscribes anew with a new key."""
    url = "https://example.org/api/calendly/webhook"
    assert cli_env(["webhooks", "register", "--url", url]) == 0
    first_key = capsys.readouterr().out.split("CALENDLY_WEBHOOK_SIGNING_KEY=")[1].strip()
    assert cli_env(["webhooks", "register", "--url", url]) == 1
    out = capsys.readouterr().out
    assert "Already subscribed" in out and "--replace" in out and "(active)" in out
    assert cli_env(["webhooks", "register", "--url", url, "--replace"]) == 0
    out = capsys.readouterr().out
    assert "Deleted" in out and first_key not in out and "CALENDLY_WEBHOOK_SIGNING_KEY=" in out
    cli_env(["webhooks", "list"])
    assert capsys.readouterr().out.count(url) == 1


def test_the_sandbox_requires_organization_and_scope_for_subscriptions(sandbox_desk):
    """As Calendly: POST/GET /webhook_subscriptions without organization or scope is a 400."""
    session, auth = sandbox_desk.calendly.session, {"Authorization": "Bearer sandbox"}
    api = "https://api.calendly.com/webhook_subscriptions"
    r = session.post(
        api, json={"url": "https://x.example/h", "events": ["invitee.created"]}, headers=auth
    )
    assert r.status_code == 400 and {d["parameter"] for d in r.json()["details"]} >= {
        "organization",
        "scope",
    }
    assert session.get(api, headers=auth).status_code == 400


def test_the_sandbox_sender_treats_a_redirect_as_a_failure(sandbox_desk, clock):
    """Calendly does not follow a 3xx: the delivery is retried and the subscription shows
    it is failing (retry_started_at)."""
    from starlette.responses import RedirectResponse
    from starlette.routing import Route

    async def moved(_):
        return RedirectResponse("/elsewhere", status_code=308)

    async def elsewhere(_):
        from starlette.responses import JSONResponse

        return JSONResponse({"ok": True})

    app = Starlette(
        routes=[
            Route("/hook", moved, methods=["POST"]),
            Route("/elsewhere", elsewhere, methods=["POST"]),
        ]
    )
    port = free_port()
    with serve(app, port):
        sandbox = sandbox_desk.sandbox
        sandbox.state.outbox.subscribe(
            f"http://127.0.0.1:{port}/hook", ["invitee.created"], "user", "k"
        )
        book_quietly(sandbox_desk, 1)
        assert sandbox.deliver_due(requests.Session()) == 0
    rows = sandbox_desk.store.db.execute(
        "SELECT last_status FROM sandbox_deliveries WHERE last_status IS NOT NULL"
    ).fetchall()
    assert ("308",) in rows
    hooks = sandbox_desk.calendly.webhooks(organization=sandbox.host.org_uri, user=sandbox.user_uri)
    assert any(h["retry_started_at"] for h in hooks)


def test_refused_deliveries_after_the_last_verified_one_raise_the_owner_alarm(sandbox_desk, clock):
    """A wrong signing key: Calendly's deliveries are refused, the owner page says since
    when, and /healthz gives the age of the last verified delivery."""
    desk = sandbox_desk
    client = TestClient(Starlette(routes=create_routes(desk)))
    body = json.dumps({"event": "ping", "created_at": "2026-12-07T08:00:00.000000Z"}).encode()
    good = sign(body, next(desk.inbox.signing_keys()), int(clock().timestamp()))
    assert (
        client.post(
            "/api/calendly/webhook", content=body, headers={"Calendly-Webhook-Signature": good}
        ).status_code
        == 200
    )
    assert desk.owner.signature_alarm() is None
    clock.advance(minutes=30)
    for _ in range(3):
        bad = sign(body, "the-wrong-key", int(clock().timestamp()))
        r = client.post(
            "/api/calendly/webhook", content=body, headers={"Calendly-Webhook-Signature": bad}
        )
        assert r.status_code == 401
        clock.advance(minutes=5)
    alarm = desk.owner.signature_alarm()
    assert alarm and "failing signature checks since 2026-12-07T08:30" in alarm
    health = client.get("/healthz").json()
    assert health["lastVerifiedWebhookAgeSeconds"] == 45 * 60


# -- token scopes --------------------------------------------------------------------------------
def test_check_live_says_per_capability_what_the_token_can_do(cli_env, capsys):
    """A token without scheduled_events:write or webhooks:write: `booking check --live`
    names what fails and the scope to add; the full set passes."""
    settings = Settings.load()
    desk = desk_for(settings)
    desk.sandbox.scopes = set(ALL_SCOPES) - {"scheduled_events:write", "webhooks:write"}
    assert cli_env(["check", "--live"]) == 1
    out = capsys.readouterr().out
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith("  ")}
    assert lines["availability"].lstrip().startswith("ok")
    assert lines["links"].lstrip().startswith("ok")
    assert "FIX" in lines["direct"] and "scheduled_events:write" in lines["direct"]
    assert "FIX" in lines["webhooks"] and "webhooks:write" in lines["webhooks"]
    assert lines["reconciliation"].lstrip().startswith("ok")
    assert desk.store.db.execute("SELECT count(*) FROM sandbox_invitees").fetchone()[0] == 0
    desk.sandbox.scopes = set(ALL_SCOPES)
    assert cli_env(["check", "--live"]) == 0
    desk.sandbox.scopes = set(ALL_SCOPES) - {"availability:read"}
    with pytest.raises(CalendlyRateLimited.__mro__[1]):  # CalendlyError: the times are refused
        desk.calendly.available_times(QUICK, desk.clock(), desk.clock() + timedelta(days=1))


# -- the seed's contract ---------------------------------------------------------------------------
def test_create_booking_for_a_priced_type_returns_the_checkout_as_booking_url(sandbox_desk, clock):
    """The seed's response shape; for a priced type bookingUrl is the checkout (422 before),
    which continues to Calendly once paid."""
    client = TestClient(Starlette(routes=create_routes(sandbox_desk)))
    start = next(
        iter(
            sandbox_desk.offers.open_days(
                "assassin", STRATEGY, __import__("zoneinfo").ZoneInfo("UTC")
            ).values()
        )
    )[0].start
    r = client.post(
        "/api/calendly/create-booking",
        json={
            "eventTypeUri": STRATEGY,
            "name": "Ada",
            "email": "ada@example.com",
            "startTime": start.isoformat(),
        },
    )
    body = r.json()
    assert r.status_code == 200 and body["success"] is True
    assert body["bookingUrl"].startswith("http://testserver/sandbox/checkout/")
    checkout = body["bookingUrl"].rsplit("/", 1)[1].split("?")[0]
    attempt = sandbox_desk.store.payment(checkout)["attempt_id"]
    sandbox_desk.checkout_sandbox.settle(checkout, paid=True)
    assert sandbox_desk.checkout.complete(attempt).url.startswith(
        "http://testserver/sandbox/calendly/d/"
    )
    schema = client.get("/api/openapi.json").json()["components"]["schemas"]["CalendlyBookingOut"]
    assert "checkout" in schema["properties"]["bookingUrl"]["description"]
