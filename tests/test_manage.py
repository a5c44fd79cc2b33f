"""A booking's private manage link: the token (hashed, separate from the reference), the
JSON routes, an atomic reschedule (and a race of twenty visitors for one time), cancel
with a reason, paid bookings, and the invitations each change sends."""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
from icalendar import Calendar
from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking.desk import Desk
from booking.domain.catalogue import Catalogue
from booking.domain.request import BookingRequest
from booking.errors import NotBookable, NotFound
from booking.mail.ics import google_calendar_link, outlook_calendar_link
from booking.settings import Settings
from booking.store import Store
from booking.web.routes import create_routes
from tests.conftest import FakeClock, booking_args
from tests.servers import serve
from tests.test_payments import checkout_id, first_slot, pay_request

LONDON = ZoneInfo("Europe/London")
T10, T14 = "2026-12-07T10:00:00+00:00", "2026-12-07T14:00:00+00:00"


@pytest.fixture
def client(desk):
    return TestClient(Starlette(routes=create_routes(desk)))


def book(client, start: str = T10, **changes) -> dict:
    body = {
        "analyst": "maya",
        "meetingType": "intro",
        "startTime": start,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "notes": "Bonds",
        "timezone": "Europe/London",
        **changes,
    }
    r = client.post("/api/bookings", json=body)
    assert r.status_code == 201, r.text
    return r.json()["booking"]


def starts(desk, day=7) -> list[datetime]:
    tz = LONDON
    return [
        s.start
        for s in desk.offers.open_days("maya", "intro", tz).get(datetime(2026, 12, day).date(), [])
    ]


def test_a_booking_comes_with_a_private_manage_link_kept_only_as_a_hash(client, desk):
    """201 carries manageToken and manageUrl; the database keeps only the token's SHA-256."""
    b = book(client)
    token = b["manageToken"]
    assert len(token) >= 32  # at least 128 bits (192 here), URL-safe
    assert b["manageUrl"] == f"http://testserver/manage?ref={b['reference']}&token={token}"
    stored = [r["token_hash"] for r in desk.store.db.query("SELECT * FROM manage_tokens")]
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    dump = "\n".join(desk.store.db.iterdump())
    assert token not in dump


def test_a_wrong_token_and_an_unknown_reference_get_the_same_404(client):
    """Neither reveals whether a booking exists; the reference alone opens nothing."""
    b = book(client)
    wrong = client.get(f"/api/bookings/{b['reference']}", params={"token": "guess"})
    unknown = client.get("/api/bookings/BD-2345-6789-ABCD", params={"token": b["manageToken"]})
    bare = client.get(f"/api/bookings/{b['reference']}")
    assert wrong.status_code == unknown.status_code == bare.status_code == 404
    assert wrong.json() == unknown.json() == bare.json()
    for path in ("reschedule", "cancel"):
        r = client.post(
            f"/api/bookings/{b['reference']}/{path}",
            json={"token": "", "startTime": T14, "timezone": "Europe/London", "reason": "x"},
        )
        assert r.status_code == 404
    assert client.get(f"/api/bookings/{b['reference']}/ics").status_code == 404


def test_the_holder_of_the_token_reads_the_booking(client):
    """GET with the token: the booking in camelCase, with its place and sequence."""
    b = book(client)
    r = client.get(f"/api/bookings/{b['reference']}", params={"token": b["manageToken"]})
    assert r.status_code == 200
    got = r.json()["booking"]
    assert got["reference"] == b["reference"] and got["name"] == "Ada Lovelace"
    assert got["sequence"] == 0 and got["status"] == "confirmed"


def test_a_reschedule_moves_the_time_at_once_and_keeps_the_reference(client, desk):
    """The new time is taken and the old one released together; SEQUENCE goes up; the
    visitor gets an updated invitation; the funnel notes it."""
    b = book(client)
    old = datetime.fromisoformat(T10)
    assert old not in starts(desk)
    r = client.post(
        f"/api/bookings/{b['reference']}/reschedule",
        json={"token": b["manageToken"], "startTime": T14, "timezone": "Europe/London"},
    )
    assert r.status_code == 200, r.text
    moved = r.json()["booking"]
    assert moved["reference"] == b["reference"] and moved["sequence"] == 1
    assert datetime.fromisoformat(moved["startTime"]) == datetime.fromisoformat(T14)
    assert old in starts(desk) and datetime.fromisoformat(T14) not in starts(desk)
    assert desk.store.db["bookings"].count == 1

    [mail] = [m for m in desk.owner.outbox() if m["kind"] == "rescheduled"]
    assert "has moved from Monday 7 December 2026, 10:00" in mail["text"]
    raw = desk.store.db.execute("SELECT message FROM outbox WHERE kind = 'rescheduled'")
    invitation = _ics(raw.fetchone()[0])
    event = invitation.walk("VEVENT")[0]
    assert invitation["METHOD"] == "REQUEST" and event["SEQUENCE"] == 1
    assert event.decoded("DTSTART") == datetime.fromisoformat(T14)
    assert str(event["UID"]).startswith(b["reference"])
    attempt = desk.store.booking(b["reference"])["attempt_id"]
    assert "rescheduled" in [e["step"] for e in desk.store.events(attempt)]


def test_the_link_in_the_email_opens_the_booking(client, desk):
    """The confirmation's manage link works on its own (a token per email)."""
    b = book(client)
    text = next(m["text"] for m in desk.owner.outbox() if m["kind"] == "confirmation")
    url = re.search(r"http://testserver/manage\?\S+", text)[0]
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert q["ref"] == b["reference"] and q["token"] != b["manageToken"]
    assert desk.manage.open(q["ref"], q["token"]).reference == b["reference"]


def test_taken_is_409_not_offered_is_422_and_neither_changes_anything(client, desk):
    """Someone has 14:00: 409. 12:15 is not on the grid (and Sunday no work): 422."""
    mine = book(client)
    book(client, start=T14, email="bob@example.com")
    for start, status, code in (
        (T14, 409, "slot_taken"),
        ("2026-12-07T12:15:00+00:00", 422, "slot_unavailable"),
        ("2026-12-13T10:00:00+00:00", 422, "slot_unavailable"),
    ):
        r = client.post(
            f"/api/bookings/{mine['reference']}/reschedule",
            json={"token": mine["manageToken"], "startTime": start, "timezone": "Europe/London"},
        )
        assert (r.status_code, r.json()["error"]) == (status, code)
    row = desk.store.booking(mine["reference"])
    assert row["start_utc"] == "2026-12-07T10:00:00+00:00" and row["sequence"] == 0


@pytest.mark.parametrize("start", ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+23:59"])
def test_a_move_to_an_absurd_date_is_422_and_changes_nothing(client, start):
    """Year 9999 or year 1 at an offset (whose arithmetic overflows) is a 422 naming the
    start time, not a 500; the booking keeps its time."""
    b = book(client)
    r = client.post(
        f"/api/bookings/{b['reference']}/reschedule",
        json={"token": b["manageToken"], "startTime": start, "timezone": "Europe/London"},
    )
    assert r.status_code == 422 and r.json()["field"] == "startTime"
    got = client.get(f"/api/bookings/{b['reference']}", params={"token": b["manageToken"]})
    assert datetime.fromisoformat(got.json()["booking"]["startTime"]) == datetime.fromisoformat(T10)


@pytest.mark.parametrize(
    ("reason", "status"), [("\u202eevil\u0007 x", 422), ("r" * 501, 422), ("No longer needed", 200)]
)
def test_a_cancel_reason_is_checked_like_any_visitor_text(client, reason, status):
    """A reason with a bidi override or a control character, or over 500 characters, is
    refused naming the reason (the booking stands); a plain one cancels."""
    b = book(client)
    r = client.post(
        f"/api/bookings/{b['reference']}/cancel",
        json={"token": b["manageToken"], "reason": reason},
    )
    assert r.status_code == status, r.text
    if status == 422:
        assert r.json()["field"] == "reason"
    got = client.get(f"/api/bookings/{b['reference']}", params={"token": b["manageToken"]})
    assert got.json()["booking"]["status"] == ("canceled" if status == 200 else "confirmed")


def test_cancel_takes_a_reason_sends_a_cancel_invitation_and_is_idempotent(client, desk):
    """POST cancel: 200 cancelled (twice harmless); the .ics turns to METHOD:CANCEL."""
    b = book(client)
    body = {"token": b["manageToken"], "reason": "  Something   came up "}
    first = client.post(f"/api/bookings/{b['reference']}/cancel", json=body)
    again = client.post(f"/api/bookings/{b['reference']}/cancel", json=body)
    assert first.status_code == again.status_code == 200
    assert first.json()["booking"]["status"] == "canceled"
    row = desk.store.booking(b["reference"])
    assert row["cancel_reason"] == "Something came up" and row["sequence"] == 1
    ics = client.get(f"/api/bookings/{b['reference']}/ics", params={"token": b["manageToken"]})
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(ics.content)
    event = calendar.walk("VEVENT")[0]
    assert calendar["METHOD"] == "CANCEL" and event["STATUS"] == "CANCELLED"
    assert event["SEQUENCE"] == 1
    mail = desk.store.db.execute("SELECT message FROM outbox WHERE kind = 'cancellation'")
    assert _ics(mail.fetchone()[0])["METHOD"] == "CANCEL"
    moved = client.post(
        f"/api/bookings/{b['reference']}/reschedule",
        json={"token": b["manageToken"], "startTime": T14, "timezone": "Europe/London"},
    )
    assert moved.status_code == 409 and "cancelled" in moved.json()["message"]


def test_the_invitation_names_organizer_attendee_and_the_place_to_meet(tmp_path):
    """A proper iTIP REQUEST from the desk to the visitor, with LOCATION and URL."""
    catalogue = _everyday_catalogue(location="https://meet.example.com/room-{reference}")
    settings = Settings(db_path=str(tmp_path / "b.db"), mail_from="desk@acme.example")
    desk = Desk(settings, catalogue, Store(settings.db_path), FakeClock())
    booking = desk.local.book(BookingRequest(**booking_args(start=_utc(2026, 12, 7, 10))))
    event = Calendar.from_ical(desk.manage.ics(booking)).walk("VEVENT")[0]
    assert str(event["ORGANIZER"]) == "mailto:desk@acme.example"
    assert str(event["ATTENDEE"]) == "mailto:ada@example.com"
    assert event["ATTENDEE"].params["CN"] == "Ada Lovelace"
    assert event["LOCATION"] == f"https://meet.example.com/room-{booking.reference}"
    assert event["URL"] == f"https://meet.example.com/room-{booking.reference}"
    text = next(m["text"] for m in desk.owner.outbox() if m["kind"] == "confirmation")
    assert f"Where: Video call: https://meet.example.com/room-{booking.reference}" in text


def test_google_and_outlook_links_carry_the_booking(tmp_path):
    """The 'add to calendar' links fill in title, UTC times and the place to meet."""
    catalogue = _everyday_catalogue(location="Studio 2, 14 Example Street")
    settings = Settings(db_path=str(tmp_path / "b.db"))
    desk = Desk(settings, catalogue, Store(settings.db_path), FakeClock())
    booking = desk.local.book(BookingRequest(**booking_args(start=_utc(2026, 12, 7, 10))))
    google = parse_qs(urlsplit(google_calendar_link(booking)).query)
    assert google["dates"] == ["20261207T100000Z/20261207T103000Z"]
    assert google["text"] == ["Intro call with Maya Chen"]
    assert google["location"] == ["Studio 2, 14 Example Street"]
    outlook = parse_qs(urlsplit(outlook_calendar_link(booking)).query)
    assert outlook["startdt"] == ["2026-12-07T10:00:00Z"]
    assert outlook["enddt"] == ["2026-12-07T10:30:00Z"]
    assert outlook["location"] == ["Studio 2, 14 Example Street"]


def test_a_moved_paid_booking_keeps_its_payment_and_a_cancelled_one_is_refund_due(
    sandbox_desk,
):
    """Moving never touches the payment; cancelling marks it refund due, as before."""
    req = pay_request(sandbox_desk)
    url = sandbox_desk.checkout.start(BookingRequest(**req))
    sandbox_desk.checkout_sandbox.settle(checkout_id(url), paid=True)
    outcome = sandbox_desk.checkout.complete(req["attempt_id"])
    token = sandbox_desk.manage.issue(outcome.reference)
    later = first_slot(sandbox_desk).start
    moved = sandbox_desk.manage.reschedule(outcome.reference, token, later, "Europe/London")
    assert moved.start == later and moved.reference == outcome.reference
    assert sandbox_desk.store.payments_of(req["attempt_id"])[0]["status"] == "paid"
    sandbox_desk.manage.cancel(outcome.reference, token, "")
    assert sandbox_desk.store.payments_of(req["attempt_id"])[0]["status"] == "refund_due"


def test_a_past_session_can_no_longer_be_changed(desk):
    """Once it started, neither a move nor a cancel is accepted (409)."""
    booking = desk.local.book(BookingRequest(**booking_args()))
    desk.clock.advance(hours=3)
    with pytest.raises(NotBookable, match="already started"):
        desk.manage.reschedule(
            booking.reference, booking.manage_token, _utc(2026, 12, 8, 10), "Europe/London"
        )
    with pytest.raises(NotFound):
        desk.manage.open(booking.reference, "wrong")


# -- twenty visitors, one free time ---------------------------------------------------------


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _ics(message: str) -> Calendar:
    msg = email.message_from_string(message, policy=email.policy.default)
    [part] = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_content())


def _everyday_catalogue(**meeting) -> Catalogue:
    return Catalogue.from_dict(
        {
            "analysts": [
                {
                    "slug": "maya",
                    "name": "Maya Chen",
                    "provider": "local",
                    "timezone": "Europe/London",
                    "min_notice_hours": 1,
                    "buffer_minutes": 0,
                    "hours": {
                        d: ["00:00-24:00"]
                        for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                    },
                    "meeting_types": [
                        {"id": "intro", "name": "Intro call", "duration_minutes": 30, **meeting}
                    ],
                }
            ]
        }
    )


def test_twenty_visitors_moving_into_the_same_free_time_exactly_one_wins(tmp_path):
    """Twenty bookings, twenty simultaneous reschedules over real HTTP into one free time:
    one 200, nineteen 409, and the database holds one booking there."""
    settings = Settings(db_path=str(tmp_path / "race.db"), public_url="http://testserver")
    desk = Desk(settings, _everyday_catalogue(), Store(settings.db_path), FakeClock())
    keys = []
    for n in range(20):
        b = desk.local.book(
            BookingRequest(
                **booking_args(
                    start=_utc(2026, 12, 8, 9) + timedelta(minutes=30 * n),
                    email=f"visitor{n}@example.com",
                )
            )
        )
        keys.append((b.reference, b.manage_token))
    target = "2026-12-09T15:00:00+00:00"
    barrier = threading.Barrier(20)
    answers: list[int] = []

    with serve(Starlette(routes=create_routes(desk))) as base:

        def move(reference: str, token: str) -> None:
            barrier.wait()
            r = requests.post(
                f"{base}/api/bookings/{reference}/reschedule",
                json={"token": token, "startTime": target, "timezone": "Europe/London"},
                timeout=30,
            )
            answers.append(r.status_code)

        threads = [threading.Thread(target=move, args=key) for key in keys]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert sorted(answers) == [200] + [409] * 19
    there = desk.store.db.execute(
        "SELECT count(*) FROM bookings WHERE start_utc = ? AND status = 'confirmed'",
        ["2026-12-09T15:00:00+00:00"],
    ).fetchone()[0]
    assert there == 1 and desk.store.db["bookings"].count == 20
