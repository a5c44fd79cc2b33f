"""Proceed to Pay: holds, the sandbox checkout, idempotent settling, refunds due, emails."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import responses
from icalendar import Calendar
from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking import mail
from booking.desk import build_desk
from booking.domain.request import BookingRequest
from booking.errors import NotBookable, PaymentError, SlotTaken
from booking.web.routes import create_routes

LONDON = ZoneInfo("Europe/London")
STRATEGY = "https://api.calendly.com/event_types/SBXSTRATEGY00001"


def first_slot(desk, analyst="maya-chen", meeting="portfolio-review"):
    return next(iter(desk.offers.open_days(analyst, meeting, LONDON).values()))[0]


def pay_request(desk, **overrides) -> dict:
    args = dict(
        analyst="maya-chen",
        meeting_type="portfolio-review",
        start=first_slot(desk).start,
        name="Ada Lovelace",
        email="ada@example.com",
        notes="Rates & FX",
        timezone="Europe/London",
        attempt_id=desk.start_attempt(),
    )
    return {**args, **overrides}


@pytest.fixture
def web(sandbox_desk):
    return TestClient(Starlette(routes=create_routes(sandbox_desk)), follow_redirects=False)


def checkout_id(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1]


def steps(desk, attempt_id) -> list[str]:
    return [e["step"] for e in desk.store.events(attempt_id)]


def test_paying_holds_the_time_and_a_double_click_opens_one_checkout(sandbox_desk):
    """While the visitor pays the time is held for them; asking twice reuses the checkout."""
    req = pay_request(sandbox_desk)
    url = sandbox_desk.checkout.start(BookingRequest(**req))
    assert url.startswith("http://testserver/sandbox/checkout/cs_sandbox_")
    assert sandbox_desk.modes.may_redirect_to(url)
    assert sandbox_desk.checkout.start(BookingRequest(**req)) == url
    assert sandbox_desk.store.db["payments"].count == 1
    held = list(sandbox_desk.store.db.query("SELECT * FROM bookings"))
    assert [b["status"] for b in held] == ["held"]
    assert first_slot(sandbox_desk).start != req["start"]  # nobody else is offered it
    assert steps(sandbox_desk, req["attempt_id"]).count("payment_started") == 1


def test_paying_on_the_sandbox_page_books_once_however_often_it_is_settled(sandbox_desk, web):
    """Pay → the return page; webhook-like settle, reloads and sweeps never book twice."""
    req = pay_request(sandbox_desk)
    url = sandbox_desk.checkout.start(BookingRequest(**req))
    page = web.get(urlsplit(url).path)
    assert page.status_code == 200 and "Sandbox checkout" in page.text and "£120" in page.text
    r = web.post(urlsplit(url).path, data={"action": "pay"})
    assert r.status_code == 303
    back = urlsplit(r.headers["location"])
    q = {k: v[0] for k, v in parse_qs(back.query).items()}
    assert back.path == "/paid" and q == {"attempt": req["attempt_id"], "session": checkout_id(url)}

    first = sandbox_desk.checkout.complete(q["attempt"], q["session"])
    again = sandbox_desk.checkout.complete(q["attempt"], q["session"])
    sandbox_desk.checkout.sweep()
    assert first.kind == "booked" and again == first
    booking = sandbox_desk.booking(first.reference)
    assert booking.status == "confirmed" and booking.start == req["start"]
    assert sandbox_desk.store.db["bookings"].count == 1
    assert steps(sandbox_desk, req["attempt_id"]).count("paid") == 1
    assert steps(sandbox_desk, req["attempt_id"]).count("booked") == 1
    outbox = sandbox_desk.owner.outbox()
    assert [m["kind"] for m in outbox] == ["confirmation"]
    with pytest.raises(NotBookable, match="already paid"):
        sandbox_desk.checkout.start(BookingRequest(**req))


def test_cancelling_at_the_checkout_releases_the_time(sandbox_desk, web):
    """Cancel → nothing charged, the held time is offered again, the step is recorded."""
    req = pay_request(sandbox_desk)
    url = sandbox_desk.checkout.start(BookingRequest(**req))
    r = web.post(urlsplit(url).path, data={"action": "cancel"})
    assert "canceled=1" in r.headers["location"]
    sandbox_desk.checkout.abandon(req["attempt_id"])
    assert first_slot(sandbox_desk).start == req["start"]
    assert sandbox_desk.store.payments_of(req["attempt_id"])[0]["status"] == "abandoned"
    assert steps(sandbox_desk, req["attempt_id"])[-1] == "payment_abandoned"


def test_an_abandoned_checkout_is_swept_after_the_hold(sandbox_desk, clock):
    """A visitor who just leaves the checkout frees the time once the hold has passed."""
    req = pay_request(sandbox_desk)
    sandbox_desk.checkout.start(BookingRequest(**req))
    assert sandbox_desk.checkout.sweep() == {}
    clock.advance(minutes=sandbox_desk.settings.hold_minutes + 1)
    assert sandbox_desk.checkout.sweep() == {"abandoned": 1}
    assert first_slot(sandbox_desk).start == req["start"]


def cannot_expire(desk, monkeypatch) -> None:
    """The payment provider does not answer the calls that close a checkout."""

    def down(checkout_id):
        raise PaymentError("The payment provider is not answering.")

    monkeypatch.setattr(desk.payments, "expire", down)


def test_a_time_taken_after_its_hold_lapsed_closes_the_old_checkout_first(
    sandbox_desk, clock, monkeypatch
):
    """Someone books a time whose hold lapsed a moment ago (before the sweeper came by):
    the lapsed checkout is closed first, so its visitor can no longer pay for a time that
    is gone; nothing is owed back."""
    req = pay_request(sandbox_desk)
    url = sandbox_desk.checkout.start(BookingRequest(**req))
    clock.advance(minutes=sandbox_desk.settings.hold_minutes, seconds=5)
    provider, in_transaction = sandbox_desk.payments, []

    def expire(checkout):  # the provider is asked with no database lock held
        in_transaction.append(sandbox_desk.store.db.conn.in_transaction)
        return type(provider).expire(provider, checkout)

    monkeypatch.setattr(provider, "expire", expire)
    other = pay_request(sandbox_desk, start=req["start"], email="bob@example.com")
    sandbox_desk.checkout.start(BookingRequest(**other))
    assert in_transaction == [False]
    assert sandbox_desk.checkout_sandbox.settle(checkout_id(url), paid=True)["status"] == "expired"
    assert sandbox_desk.store.payments_of(req["attempt_id"])[0]["status"] == "abandoned"
    assert sandbox_desk.owner.refunds_due() == []


def test_a_payment_made_just_after_the_hold_keeps_the_time_from_a_later_booker(sandbox_desk, clock):
    """Paid after the hold lapsed but before anyone else asked: the payer keeps the time
    and the later booker is told it was just taken."""
    req = pay_request(sandbox_desk)
    url = sandbox_desk.checkout.start(BookingRequest(**req))
    clock.advance(minutes=sandbox_desk.settings.hold_minutes, seconds=5)
    sandbox_desk.checkout_sandbox.settle(checkout_id(url), paid=True)
    other = pay_request(sandbox_desk, start=req["start"], email="bob@example.com")
    with pytest.raises(SlotTaken, match="just taken"):
        sandbox_desk.checkout.start(BookingRequest(**other))
    booked = sandbox_desk.store.attempt(req["attempt_id"])["booking_ref"]
    assert sandbox_desk.booking(booked).status == "confirmed"


def test_a_payment_made_while_its_lapsed_checkout_is_being_closed_keeps_the_time(
    sandbox_desk, clock, monkeypatch
):
    """The payer presses Pay just as a later booker's request closes the lapsed checkout
    (the provider answers the expiry with 'paid', its webhook not yet in): the payer keeps
    the time, the later booker is told it was just taken, and nothing is owed back."""
    req = pay_request(sandbox_desk)
    url = sandbox_desk.checkout.start(BookingRequest(**req))
    clock.advance(minutes=sandbox_desk.settings.hold_minutes, seconds=5)
    sandbox, provider = sandbox_desk.checkout_sandbox, sandbox_desk.payments
    monkeypatch.setattr(sandbox, "on_paid", None)  # the provider's webhook comes later

    def paid_first(checkout):
        sandbox.settle(checkout, paid=True)
        return type(provider).expire(provider, checkout)

    monkeypatch.setattr(provider, "expire", paid_first)
    other = pay_request(sandbox_desk, start=req["start"], email="bob@example.com")
    with pytest.raises(SlotTaken, match="just taken"):
        sandbox_desk.checkout.start(BookingRequest(**other))
    assert sandbox.settle(checkout_id(url), paid=True)["status"] == "paid"
    booked = sandbox_desk.store.attempt(req["attempt_id"])["booking_ref"]
    assert sandbox_desk.booking(booked).status == "confirmed"
    assert sandbox_desk.owner.refunds_due() == []


def test_a_late_payment_for_a_time_taken_meanwhile_is_marked_refund_due(
    sandbox_desk, clock, monkeypatch
):
    """The hold lapsed, its checkout could not be closed (the provider did not answer) and
    someone else booked; the late payer is told, the owner owes a refund."""
    req = pay_request(sandbox_desk)
    url = sandbox_desk.checkout.start(BookingRequest(**req))
    clock.advance(minutes=sandbox_desk.settings.hold_minutes + 1)
    cannot_expire(sandbox_desk, monkeypatch)
    other = pay_request(sandbox_desk, start=req["start"], email="bob@example.com")
    other_url = sandbox_desk.checkout.start(BookingRequest(**other))
    sandbox_desk.checkout_sandbox.settle(checkout_id(other_url), paid=True)

    sandbox_desk.checkout_sandbox.settle(checkout_id(url), paid=True)
    with pytest.raises(SlotTaken, match="refunded in full"):
        sandbox_desk.checkout.complete(req["attempt_id"])
    assert sandbox_desk.store.payments_of(req["attempt_id"])[0]["status"] == "refund_due"
    assert [r["email"] for r in sandbox_desk.owner.refunds_due()] == ["ada@example.com"]
    assert "refund_due" in steps(sandbox_desk, req["attempt_id"])


def test_a_late_payment_still_books_when_nobody_took_the_time(sandbox_desk, clock):
    """A lapsed hold is confirmed all the same if the time is still free."""
    req = pay_request(sandbox_desk)
    url = sandbox_desk.checkout.start(BookingRequest(**req))
    clock.advance(minutes=sandbox_desk.settings.hold_minutes + 5)
    sandbox_desk.checkout_sandbox.settle(checkout_id(url), paid=True)
    outcome = sandbox_desk.checkout.complete(req["attempt_id"])
    assert sandbox_desk.booking(outcome.reference).status == "confirmed"


def test_cancelling_a_paid_booking_marks_it_refund_due_and_emails_the_visitor(sandbox_desk):
    """The visitor cancels from their confirmation: time released, refund due, notice sent."""
    req = pay_request(sandbox_desk)
    url = sandbox_desk.checkout.start(BookingRequest(**req))
    sandbox_desk.checkout_sandbox.settle(checkout_id(url), paid=True)
    reference = sandbox_desk.checkout.complete(req["attempt_id"]).reference
    assert sandbox_desk.local.cancel(reference).status == "canceled"
    assert sandbox_desk.local.cancel(reference).status == "canceled"  # twice is harmless
    assert sandbox_desk.store.payments_of(req["attempt_id"])[0]["status"] == "refund_due"
    kinds = [m["kind"] for m in sandbox_desk.owner.outbox()]
    assert sorted(kinds) == ["cancellation", "confirmation"]
    assert (
        "refunded"
        in next(m for m in sandbox_desk.owner.outbox() if m["kind"] == "cancellation")["text"]
    )
    assert first_slot(sandbox_desk).start == req["start"]


def test_a_priced_calendly_session_is_paid_before_its_single_use_link(sandbox_desk):
    """Calendly analysts: pay first, then one fresh pre-filled link, reused on reload."""
    slot = first_slot(sandbox_desk, "assassin", STRATEGY)
    req = pay_request(sandbox_desk, analyst="assassin", meeting_type=STRATEGY, start=slot.start)
    with pytest.raises(NotBookable, match="Proceed to Pay"):
        sandbox_desk.handoff.link_for(BookingRequest(**req))
    url = sandbox_desk.checkout.start(BookingRequest(**req))
    links = sandbox_desk.store.db["sandbox_links"].count
    sandbox_desk.checkout_sandbox.settle(checkout_id(url), paid=True)
    outcome = sandbox_desk.checkout.complete(req["attempt_id"])
    assert outcome.kind == "redirect" and "/sandbox/calendly/d/" in outcome.url
    assert f"utm_content={req['attempt_id']}" in outcome.url
    assert sandbox_desk.checkout.complete(req["attempt_id"]) == outcome
    assert sandbox_desk.store.db["sandbox_links"].count == links + 1
    assert steps(sandbox_desk, req["attempt_id"])[-3:] == [
        "payment_started",
        "paid",
        "link_created",
    ]


def test_free_and_priced_types_each_take_their_own_path(sandbox_desk):
    """Nothing to pay for a free type; a priced one cannot skip payment, also not by API."""
    free = first_slot(sandbox_desk, meeting="intro")
    with pytest.raises(NotBookable, match="nothing to pay"):
        sandbox_desk.checkout.start(
            BookingRequest(**pay_request(sandbox_desk, meeting_type="intro", start=free.start))
        )
    with pytest.raises(NotBookable, match="Proceed to Pay"):
        sandbox_desk.local.book(BookingRequest(**pay_request(sandbox_desk)))
    api = TestClient(Starlette(routes=create_routes(sandbox_desk)))
    r = api.post(
        "/api/bookings",
        json={
            "analyst": "maya-chen",
            "meetingType": "portfolio-review",
            "startTime": first_slot(sandbox_desk).start.isoformat(),
            "name": "Ada",
            "email": "ada@example.com",
            "timezone": "Europe/London",
        },
    )
    assert r.status_code == 409 and r.json()["error"] == "not_bookable"
    assert sandbox_desk.store.db["bookings"].count == 0


def test_the_confirmation_reaches_a_real_smtp_server_with_the_right_instant(
    settings, clock, smtp_server
):
    """A free local booking's email goes out over SMTP; its .ics holds the booked instant."""
    controller, received = smtp_server
    desk = build_desk(settings, clock=clock)
    desk.mail_transport = mail.SmtpTransport("127.0.0.1", controller.port, security="none")
    slot = first_slot(desk, meeting="intro")
    booking = desk.local.book(
        BookingRequest(**pay_request(desk, meeting_type="intro", start=slot.start))
    )
    assert desk.deliver_mail() == {"sent": 1}
    assert desk.deliver_mail() == {}
    (envelope,) = received.envelopes
    assert envelope.rcpt_tos == ["ada@example.com"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    ics = next(p for p in message.iter_attachments() if p.get_content_type() == "text/calendar")
    event = Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]
    assert event.decoded("dtstart") == booking.start
    assert event.decoded("dtend") == booking.end


def test_a_mail_server_that_is_down_never_undoes_a_booking(settings, clock):
    """SMTP unreachable: the booking stands, the mail waits in the outbox for a retry."""
    desk = build_desk(settings, clock=clock)
    desk.mail_transport = mail.SmtpTransport("127.0.0.1", 9, security="none", timeout=1)
    slot = first_slot(desk, meeting="intro")
    booking = desk.local.book(
        BookingRequest(**pay_request(desk, meeting_type="intro", start=slot.start))
    )
    assert desk.deliver_mail() == {"retry": 1}
    assert desk.booking(booking.reference).status == "confirmed"
    (queued,) = desk.owner.outbox()
    assert queued["status"] == "queued" and queued["last_error"]


def stripe_session(session_id: str, attempt_id: str, *, paid: bool) -> dict:
    return {
        "id": session_id,
        "object": "checkout.session",
        "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        "status": "complete" if paid else "open",
        "payment_status": "paid" if paid else "unpaid",
        "client_reference_id": attempt_id,
        "amount_total": 12000,
        "currency": "gbp",
    }


def stripe_signed(body: bytes, secret: str, at: int) -> str:
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


@responses.activate
def test_stripe_checkout_is_settled_once_by_its_signed_webhook(tmp_path, settings, clock):
    """Stripe mode: a Checkout Session per attempt; the signed webhook books, a replay and a
    forgery change nothing."""
    settings = replace(settings, stripe_secret_key="sk_test_x", stripe_webhook_secret="whsec_k")
    desk = build_desk(settings, clock=clock)
    req = pay_request(desk)
    session = stripe_session("cs_test_a1", req["attempt_id"], paid=False)
    create = responses.post("https://api.stripe.com/v1/checkout/sessions", json=session)
    url = desk.checkout.start(BookingRequest(**req))
    assert url == session["url"] and desk.modes.may_redirect_to(url)
    sent = parse_qs(create.calls[0].request.body)
    assert sent["client_reference_id"] == [req["attempt_id"]]
    assert sent["line_items[0][price_data][unit_amount]"] == ["12000"]
    assert "session={CHECKOUT_SESSION_ID}" in sent["success_url"][0]

    responses.get(
        "https://api.stripe.com/v1/checkout/sessions/cs_test_a1",
        json=stripe_session("cs_test_a1", req["attempt_id"], paid=True),
    )
    event = {
        "id": "evt_1",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": stripe_session("cs_test_a1", req["attempt_id"], paid=True)},
    }
    body = json.dumps(event).encode()
    web = TestClient(Starlette(routes=create_routes(desk)))
    headers = {"Stripe-Signature": stripe_signed(body, "whsec_k", int(clock().timestamp()))}
    first = web.post("/api/stripe/webhook", content=body, headers=headers)
    replay = web.post("/api/stripe/webhook", content=body, headers=headers)
    forged = web.post(
        "/api/stripe/webhook",
        content=body,
        headers={"Stripe-Signature": stripe_signed(body, "whsec_wrong", int(clock().timestamp()))},
    )
    assert first.json()["outcome"] == "booked" and replay.json()["outcome"] == "booked"
    assert forged.status_code >= 400
    assert desk.store.db["bookings"].count == 1
    assert steps(desk, req["attempt_id"]).count("paid") == 1
    kept = list(
        desk.store.db.query("SELECT verified FROM webhook_deliveries WHERE source='stripe'")
    )
    assert [k["verified"] for k in kept] == [1, 1, 0]


def test_a_signed_stripe_delivery_that_is_not_json_is_stored_and_answered_400(settings, clock):
    """A correctly signed Stripe body that is not JSON is kept for the owner and refused
    with the usual envelope (it used to be a 500, and was not stored)."""
    settings = replace(settings, stripe_secret_key="sk_test_x", stripe_webhook_secret="whsec_k")
    desk = build_desk(settings, clock=clock)
    web = TestClient(Starlette(routes=create_routes(desk)))
    for body in (b"not json", b'{"type": "checkout.session.completed", "x": "\xff"}'):
        headers = {"Stripe-Signature": stripe_signed(body, "whsec_k", int(clock().timestamp()))}
        r = web.post("/api/stripe/webhook", content=body, headers=headers)
        assert r.status_code == 400 and r.json()["error"] == "not_json"
    odd = json.dumps({"type": "checkout.session.completed", "data": {"object": []}}).encode()
    headers = {"Stripe-Signature": stripe_signed(odd, "whsec_k", int(clock().timestamp()))}
    r = web.post("/api/stripe/webhook", content=odd, headers=headers)
    assert r.status_code == 200 and r.json()["outcome"] == "unusable"
    kept = desk.store.db.query(
        "SELECT verified, outcome FROM webhook_deliveries WHERE source = 'stripe' ORDER BY id"
    )
    assert [(k["verified"], k["outcome"]) for k in kept] == [
        (1, "not_json"),
        (1, "not_json"),
        (1, "unusable"),
    ]


def test_a_cancelled_checkout_cannot_be_paid_afterwards(sandbox_desk, web):
    """Cancel → the checkout is closed at the provider: a later Pay is refused, nothing is
    booked, and the desk reads the checkout as expired."""
    req = pay_request(sandbox_desk)
    url = sandbox_desk.checkout.start(BookingRequest(**req))
    web.post(urlsplit(url).path, data={"action": "cancel"})
    assert sandbox_desk.checkout.abandon(req["attempt_id"]) is None
    page = web.get(urlsplit(url).path)
    assert "This checkout is closed" in page.text and "Pay £120" not in page.text
    late = web.post(urlsplit(url).path, data={"action": "pay"})
    assert late.status_code == 409 and "cannot be paid" in late.text
    assert sandbox_desk.checkout_sandbox.retrieve(checkout_id(url)).status == "expired"
    assert sandbox_desk.checkout.complete(req["attempt_id"]).kind == "expired"
    assert sandbox_desk.store.payments_of(req["attempt_id"])[0]["status"] == "abandoned"
    assert list(sandbox_desk.store.db.query("SELECT status FROM bookings")) == [
        {"status": "released"}
    ]


def test_choosing_another_time_closes_the_first_checkout(sandbox_desk):
    """Back from the checkout and a different time: the first checkout can no longer be paid."""
    req = pay_request(sandbox_desk)
    first = sandbox_desk.checkout.start(BookingRequest(**req))
    later = [
        s
        for ss in sandbox_desk.offers.open_days("maya-chen", "portfolio-review", LONDON).values()
        for s in ss
    ][3]
    second = sandbox_desk.checkout.start(BookingRequest(**{**req, "start": later.start}))
    assert second != first
    assert sandbox_desk.checkout_sandbox.retrieve(checkout_id(first)).status == "expired"
    assert sandbox_desk.checkout_sandbox.retrieve(checkout_id(second)).status == "open"


def test_the_held_time_is_offered_back_until_it_lapses_and_can_be_released(sandbox_desk, clock):
    """The book page can say 'you are holding 11:00 until 11:10'; Release frees it at once."""
    req = pay_request(sandbox_desk)
    url = sandbox_desk.checkout.start(BookingRequest(**req))
    held = sandbox_desk.checkout.open_checkout(req["attempt_id"])
    assert held["url"] == url and held["start"] == req["start"]
    assert held["until"] == clock() + timedelta(minutes=sandbox_desk.settings.hold_minutes)
    assert held["analyst"] == "maya-chen" and held["meeting_type"] == "portfolio-review"
    sandbox_desk.checkout.release(req["attempt_id"])
    assert sandbox_desk.checkout.open_checkout(req["attempt_id"]) is None
    assert first_slot(sandbox_desk).start == req["start"]
    assert sandbox_desk.checkout_sandbox.retrieve(checkout_id(url)).status == "expired"

    again = pay_request(sandbox_desk)
    sandbox_desk.checkout.start(BookingRequest(**again))
    clock.advance(minutes=sandbox_desk.settings.hold_minutes, seconds=1)
    assert sandbox_desk.checkout.open_checkout(again["attempt_id"]) is None  # lapsed


def test_cancel_after_paying_in_another_tab_carries_on_as_paid(sandbox_desk):
    """The provider says the checkout was paid after all: the cancel page books instead."""
    req = pay_request(sandbox_desk)
    url = sandbox_desk.checkout.start(BookingRequest(**req))
    sandbox_desk.checkout_sandbox.settle(checkout_id(url), paid=True)
    sandbox_desk.store.db.execute(  # the desk has not heard of it yet
        "UPDATE payments SET status = 'open' WHERE id = ?", [checkout_id(url)]
    )
    outcome = sandbox_desk.checkout.abandon(req["attempt_id"])
    assert outcome.kind == "booked"
    assert sandbox_desk.booking(outcome.reference).status == "confirmed"


def test_a_late_payment_for_a_taken_time_emails_the_visitor_that_a_refund_is_due(
    sandbox_desk, clock, monkeypatch
):
    """The payer is told by email, once, with the amount and a way to choose another time."""
    req = pay_request(sandbox_desk)
    url = sandbox_desk.checkout.start(BookingRequest(**req))
    clock.advance(minutes=sandbox_desk.settings.hold_minutes + 1)
    cannot_expire(sandbox_desk, monkeypatch)
    other = pay_request(sandbox_desk, start=req["start"], email="bob@example.com")
    sandbox_desk.checkout_sandbox.settle(
        checkout_id(sandbox_desk.checkout.start(BookingRequest(**other))), paid=True
    )
    sandbox_desk.checkout_sandbox.settle(checkout_id(url), paid=True)
    for _ in range(2):
        with pytest.raises(SlotTaken):
            sandbox_desk.checkout.complete(req["attempt_id"])
    refunds = [m for m in sandbox_desk.owner.outbox() if m["kind"] == "refund_due"]
    assert [m["to_addr"] for m in refunds] == ["ada@example.com"]
    text = refunds[0]["text"]
    assert "£120 will be refunded in full" in text and "nothing was booked" in text
    assert "/?analyst=maya-chen&type=portfolio-review" in text
