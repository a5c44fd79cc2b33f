"""Follow-ups of stalled attempts: timing, fresh links, suppression, opt-out, two runners."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking.domain.request import BookingRequest
from booking.web.routes import create_routes
from tests.test_calendly_handoff import first_slot, handoff
from tests.test_payments import pay_request


def followups(desk) -> list[dict]:
    return [m for m in desk.owner.outbox(200) if m["kind"] == "followup"]


def stalled_calendly_attempt(desk, **details) -> str:
    attempt = desk.start_attempt()
    handoff(desk, first_slot(desk).start, attempt_id=attempt, **details)
    return attempt


def test_a_stalled_attempt_gets_the_configured_follow_ups_each_with_a_fresh_link(
    sandbox_desk, clock
):
    """None before N hours; then at most K, spaced apart, each with a new single-use link."""
    s = sandbox_desk.settings
    attempt = stalled_calendly_attempt(sandbox_desk)
    original = sandbox_desk.store.attempt(attempt)["handoff_url"]
    clock.advance(hours=s.incomplete_after_hours - 1)
    assert sandbox_desk.followups.run() == {}

    links = set()
    for _ in range(s.followup_max):
        clock.advance(hours=max(s.followup_spacing_hours, s.incomplete_after_hours) + 1)
        assert sandbox_desk.followups.run() == {"sent": 1}
        assert sandbox_desk.followups.run() == {}  # not again within the spacing
        links.add(sandbox_desk.store.attempt(attempt)["handoff_url"])
    clock.advance(days=30)
    assert sandbox_desk.followups.run() == {}

    sent = followups(sandbox_desk)
    assert len(sent) == s.followup_max == len(links)
    assert original not in links
    for message in sent:
        link = next(u for u in links if u in message["text"])
        assert f"utm_content={attempt}" in link
        assert f"/followups/stop?attempt={attempt}" in message["text"]
    steps = [e["step"] for e in sandbox_desk.store.events(attempt)]
    assert steps.count("followup_sent") == s.followup_max
    assert steps.count("link_created") == 1  # fresh links are not new hand-offs


def test_booking_stops_the_follow_ups_and_counts_as_recovered(sandbox_desk, clock):
    """After the first follow-up the visitor books through its link: no second one."""
    attempt = stalled_calendly_attempt(sandbox_desk)
    clock.advance(hours=25)
    assert sandbox_desk.followups.run() == {"sent": 1}
    link = sandbox_desk.store.attempt(attempt)["handoff_url"]
    sandbox = sandbox_desk.sandbox
    code = urlsplit(link).path.split("/")[4]
    clock.advance(minutes=10)
    sandbox.schedule(
        code,
        start=first_slot(sandbox_desk).start,
        name="Ada Lovelace",
        email="ada@example.com",
        answer="",
        timezone="Europe/London",
        tracking={"utm_content": attempt},
    )
    sandbox.deliver_due(session=DeskSession(sandbox_desk))
    assert sandbox_desk.store.attempt(attempt)["booking_ref"]
    clock.advance(days=5)
    assert sandbox_desk.followups.run() == {}
    assert len(followups(sandbox_desk)) == 1
    booked = sandbox_desk.store.db.execute(
        "SELECT count(*) FROM attempts WHERE at_booked > at_followup_sent"
    ).fetchone()[0]
    assert booked == 1


def test_the_opt_out_link_asks_first_and_then_stops_every_follow_up(sandbox_desk, clock):
    """GET only asks (mail scanners follow links); POST opts out for good."""
    attempt = stalled_calendly_attempt(sandbox_desk)
    web = TestClient(Starlette(routes=create_routes(sandbox_desk)))
    page = web.get("/followups/stop", params={"attempt": attempt})
    assert page.status_code == 200 and "<form method=post" in page.text
    assert not sandbox_desk.store.attempt(attempt)["followups_stopped"]
    done = web.post("/followups/stop", params={"attempt": attempt})
    assert done.status_code == 200 and "Reminders stopped" in done.text
    assert web.post("/followups/stop", params={"attempt": "att_nope"}).status_code == 404
    clock.advance(days=3)
    assert sandbox_desk.followups.run() == {}
    assert followups(sandbox_desk) == []


def test_two_runners_at_once_send_each_follow_up_exactly_once(sandbox_desk, clock):
    """Two schedulers firing together: every stalled attempt is mailed once, not twice."""
    attempts = [stalled_calendly_attempt(sandbox_desk, email=f"v{i}@example.com") for i in range(8)]
    clock.advance(hours=25)
    start = threading.Barrier(2)

    def run(_):
        start.wait()
        return sandbox_desk.followups.run()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, range(2)))
    assert sum(r["sent"] for r in results) == len(attempts)
    sent = followups(sandbox_desk)
    assert sorted(m["to_addr"] for m in sent) == sorted(f"v{i}@example.com" for i in range(8))


def test_an_abandoned_payment_is_followed_up_with_the_booking_page(sandbox_desk, clock):
    """A local visitor who left the checkout is invited back to the analyst's booking page."""
    req = pay_request(sandbox_desk)
    sandbox_desk.checkout.start(BookingRequest(**req))
    sandbox_desk.checkout.abandon(req["attempt_id"])
    clock.advance(hours=25)
    assert sandbox_desk.followups.run() == {"sent": 1}
    (message,) = followups(sandbox_desk)
    assert "http://testserver/?analyst=maya-chen" in message["text"]


def test_a_paid_attempt_is_not_chased(sandbox_desk, clock):
    """Paying ends the chase even before the booking itself is made."""
    req = pay_request(sandbox_desk)
    url = sandbox_desk.checkout.start(BookingRequest(**req))
    sandbox_desk.checkout_sandbox.settle(urlsplit(url).path.rsplit("/", 1)[-1], paid=True)
    clock.advance(days=3)
    assert sandbox_desk.followups.run() == {}


class DeskSession:
    """Stands in for requests.Session in the sandbox's webhook sender: hands each signed
    delivery straight to the desk's webhook handler (the HTTP hop is tested elsewhere)."""

    def __init__(self, desk) -> None:
        self.desk = desk

    def post(self, url, *, data, headers, timeout, allow_redirects=True):
        receipt = self.desk.inbox.calendly(data, headers["Calendly-Webhook-Signature"])
        return SimpleNamespace(status_code=receipt.status)
