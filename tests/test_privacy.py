"""Erase, export and retention of a person's data: every table and every text column of the
SQLite file is searched afterwards (the sandboxes' included), and the owner's figures are
compared before and after."""

from __future__ import annotations

import email
import email.policy
import json
import os
import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, quote, quote_plus, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
import responses
from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking import cli
from booking.analytics import Filters
from booking.calendly.sandbox.pages import sandbox_routes
from booking.desk import build_desk
from booking.desk.privacy import address_of
from booking.domain.request import BookingRequest
from booking.errors import InvalidInput
from booking.settings import Settings
from booking.web import lifecycle
from booking.web.routes import create_routes
from tests.conftest import T0
from tests.servers import free_port, run_async, serve
from tests.test_payments import stripe_session, stripe_signed

LONDON = ZoneInfo("Europe/London")
QUICK = "https://api.calendly.com/event_types/SBXQUICKCALL0001"
CLINIC = "https://api.calendly.com/event_types/SBXCLINIC0000001"
ZOE = {"name": "Zoë Quist", "email": "Zoe.Quist@Example.com"}  # é: JSON escapes it
ZOE_PHONE = "+44 7700 900461"
BOB = {"name": "Bob Keeper", "email": "bob.keeper@example.com"}


# -- how a person's data gets everywhere ------------------------------------------------------
def first_slot(desk, analyst, meeting):
    return next(iter(desk.offers.open_days(analyst, meeting, LONDON).values()))[0]


def request(desk, person, analyst, meeting, **kw) -> BookingRequest:
    start = first_slot(desk, analyst, meeting).start
    return BookingRequest(
        analyst=analyst,
        meeting_type=meeting,
        start=start,
        timezone="Europe/London",
        notes=f"{person['name']} would like to talk",
        **person,
        **kw,
    )


def book_local(desk, person) -> str:
    """A free local session: booking, confirmation mail, manage tokens."""
    return desk.submit(request(desk, person, "maya-chen", "intro")).reference


def pay_local(desk, person) -> str:
    """A priced local session paid on the sandbox checkout."""
    outcome = desk.submit(request(desk, person, "maya-chen", "portfolio-review"))
    checkout = urlsplit(outcome.url).path.rsplit("/", 1)[-1]
    desk.checkout_sandbox.settle(checkout, paid=True)
    return desk.checkout.complete(outcome.attempt_id, checkout).reference


def book_calendly(desk, person, *, cancel: bool = False, meeting=QUICK, **invitee) -> str:
    """A Calendly hand-off booked on the sandbox's page; its deliveries reach our webhook
    route over HTTP. Returns the invitee uuid."""
    outcome = desk.submit(request(desk, person, "assassin", meeting))
    link = urlsplit(outcome.url)
    code = link.path.split("/")[4]
    start = first_slot(desk, "assassin", meeting).start
    tracking = {k: v[0] for k, v in parse_qs(link.query).items() if k.startswith("utm_")}
    booked = desk.sandbox.schedule(
        code,
        start=start,
        name=person["name"],
        email=person["email"],
        timezone="Europe/London",
        tracking=tracking,
        **({"answer": f"Notes from {person['name']}"} | invitee),
    )
    uuid = booked["invitee"]["uuid"]
    if cancel:
        desk.sandbox.cancel(uuid, reason=f"{person['name']} is travelling")
    assert desk.sandbox.deliver_due() >= 1
    return uuid


def stall(desk, person) -> str:
    """A Calendly hand-off that never books (a follow-up will chase it)."""
    return desk.submit(request(desk, person, "assassin", QUICK)).attempt_id


def forge(url, person) -> None:
    """A refused (unsigned) delivery that names the person, as any stranger may send."""
    body = json.dumps({"event": "invitee.created", "payload": {"email": person["email"].upper()}})
    r = requests.post(f"{url}/api/calendly/webhook", data=body, timeout=10)
    assert r.status_code in (400, 401)


@pytest.fixture
def served(tmp_path, clock):
    """A sandbox desk whose routes run on a real uvicorn on loopback."""
    port = free_port()
    settings = Settings(
        db_path=str(tmp_path / "privacy.db"),
        public_url=f"http://127.0.0.1:{port}",
        catalogue_path=str(Path(__file__).parents[1] / "data/analysts.toml"),
    )
    desk = build_desk(settings, clock=clock)
    app = Starlette(routes=create_routes(desk) + sandbox_routes(desk.sandbox))
    with serve(app, port=port) as url:
        desk.url = url
        yield desk


@pytest.fixture
def history(served, clock):
    """Zoë and Bob each booked locally, paid, booked on Calendly (Zoë also cancelled one,
    booked a phone clinic and stalled one hand-off that was followed up); a stranger sent
    a forged delivery naming Zoë."""
    desk = served
    for person in (ZOE, BOB):
        book_local(desk, person)
        pay_local(desk, person)
        book_calendly(desk, person)
    book_calendly(desk, ZOE, cancel=True)
    book_calendly(
        desk,
        ZOE,
        meeting=CLINIC,
        answers=[
            {"question": "Market", "answer": "FX", "position": 0},
            {"question": "Anything we should know?", "answer": "Call Zoë", "position": 1},
        ],
        location={"kind": "outbound_call", "location": ZOE_PHONE},
        answer="",
    )
    stall(desk, ZOE)
    clock.advance(hours=30)
    assert desk.followups.run()["sent"] >= 1
    forge(desk.url, ZOE)
    desk.deliver_mail()
    return desk


# -- what the file holds ------------------------------------------------------------------------
def found_in_file(path: str, *needles: str) -> list[str]:
    """Every table.column of the SQLite file (sandbox tables too) holding any needle, in any
    case, as text or as JSON's \\u escapes, in text or blob columns."""
    wanted = {
        form.casefold()
        for n in needles
        for form in (n, json.dumps(n).strip('"'), quote(n), quote_plus(n))  # é: \\u00e9, %C3%A9
    }
    found = set()
    db = sqlite3.connect(path)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert {"attempts", "bookings", "outbox", "webhook_deliveries"} <= set(tables)
    for table in tables:
        columns = [r[1] for r in db.execute(f"PRAGMA table_info('{table}')")]
        for row in db.execute(f"SELECT * FROM '{table}'"):  # noqa: S608 - names from the file
            for column, value in zip(columns, row, strict=True):
                if isinstance(value, bytes):
                    value = value.decode("utf-8", errors="ignore")
                if isinstance(value, str) and "MIME-Version:" in value:  # base64 bodies too
                    message = email.message_from_string(value, policy=email.policy.default)
                    parts = [p.get_content() for p in message.walk() if not p.is_multipart()]
                    value += "".join(p if isinstance(p, str) else "" for p in parts)
                    value += "".join(str(v) for v in message.values())
                if isinstance(value, str) and any(n in value.casefold() for n in wanted):
                    found.add(f"{table}.{column}")
    db.close()
    return sorted(found)


def owner_figures(desk, clock) -> dict:
    """Every aggregate the owner reads (not the listings of people), and the roll-up."""
    today = clock().date()
    f = Filters(today - timedelta(days=400), today + timedelta(days=1))
    data = desk.owner.dashboard(f, LONDON)
    figures = {
        key: (value.to_dict("records") if hasattr(value, "to_dict") else value)
        for key, value in data.items()
        if key not in ("incomplete",)
    }
    db = desk.store.db
    figures["funnel_daily"] = list(db.query("SELECT * FROM funnel_daily ORDER BY 1, 2, 3, 4"))
    at = ", ".join(c for c in db["attempts"].columns_dict if c.startswith("at_"))
    figures["first_times"] = db.execute(f"SELECT id, {at} FROM attempts ORDER BY id").fetchall()  # noqa: S608
    figures["rows"] = {  # the desk's own rows (the sandboxes stand in for other companies)
        t: db[t].count
        for t in db.table_names()
        if not t.startswith(("_", "sandbox_")) and t != "manage_tokens"
    }
    figures["statuses"] = db.execute("SELECT reference, status FROM bookings ORDER BY 1").fetchall()
    return figures


# -- erase ------------------------------------------------------------------------------------
def test_the_history_really_holds_the_person_everywhere(history):
    """The fixture is honest: before erasure, Zoë is in every place erasure must reach."""
    found = found_in_file(history.store.path, ZOE["email"], ZOE["name"])
    for place in (
        "attempts.email",
        "attempts.name",
        "attempts.handoff_url",
        "bookings.email",
        "bookings.canceled_by",
        "outbox.to_addr",
        "outbox.message",
        "webhook_deliveries.body",
        "sandbox_invitees.email",
        "sandbox_invitees.cancellation",
        "sandbox_events.cancellation",
        "sandbox_deliveries.body",
        "sandbox_checkouts.email",
    ):
        assert place in found, place
    assert found_in_file(history.store.path, ZOE_PHONE)
    kinds = {r["kind"] for r in history.store.db.query("SELECT kind FROM outbox")}
    assert {"confirmation", "followup"} <= kinds


def test_erase_leaves_no_trace_of_the_person_and_every_count_as_it_was(history, clock):
    """After `erase`, no table or column holds the address, the name or the phone number
    they gave; every owner's figure, the roll-up and the first times are unchanged."""
    before = owner_figures(history, clock)
    bob_before = found_in_file(history.store.path, BOB["email"])
    done = history.privacy.erase("  zoe.QUIST@example.COM ")
    assert done["attempts"] >= 5 and done["bookings"] >= 5
    for table in ("outbox", "webhook_deliveries", "sandbox_invitees", "sandbox_checkouts"):
        assert done[table] >= 1, table
    assert found_in_file(history.store.path, ZOE["email"], ZOE["name"], ZOE_PHONE) == []
    assert owner_figures(history, clock) == before
    assert found_in_file(history.store.path, BOB["email"]) == bob_before  # nobody else
    assert history.privacy.erase(ZOE["email"]) == {}  # nothing is left to erase


def test_erased_rows_say_so_and_nothing_more_is_sent_to_the_person(history, clock):
    """Rows stay with name 'erased' and no email; queued mail to them is never sent, no
    follow-up chases them and their manage links stop working."""
    history.privacy.erase(ZOE["email"])
    db = history.store.db
    zoe = list(db.query("SELECT * FROM attempts WHERE erased_at IS NOT NULL"))
    assert zoe and all(a["email"] is None and a["followups_stopped"] == 1 for a in zoe)
    assert {a["name"] for a in zoe} <= {"erased", None}
    bookings = list(db.query("SELECT * FROM bookings WHERE erased_at IS NOT NULL"))
    assert bookings and {b["name"] for b in bookings} == {"erased"}
    refs = [b["reference"] for b in bookings]
    tokens = db.execute(
        f"SELECT count(*) FROM manage_tokens WHERE reference IN ({', '.join('?' * len(refs))})",  # noqa: S608
        refs,
    ).fetchone()[0]
    assert tokens == 0
    clock.advance(days=5)
    history.followups.run()
    assert not list(db.query("SELECT 1 FROM outbox WHERE status = 'queued' AND to_addr = 'erased'"))
    assert found_in_file(history.store.path, ZOE["email"]) == []


def test_a_dry_run_counts_what_erase_would_change_and_changes_nothing(history):
    """--dry-run gives erase's exact counts and leaves the file as it was."""
    preview = history.privacy.erase(ZOE["email"], dry_run=True)
    assert found_in_file(history.store.path, ZOE["email"])
    assert history.privacy.erase(ZOE["email"]) == preview


def test_funnel_events_stay_append_only_but_their_detail_can_be_erased(history):
    """The trigger still refuses any change but to ``detail``, and any delete; erasure
    keeps our own codes in the detail and drops the Calendly invitee it named."""
    db = history.store.db
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE funnel_events SET at = 'x' WHERE id = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM funnel_events WHERE id = 1")
    history.privacy.erase(ZOE["email"])
    details = [
        json.loads(r[0])
        for r in db.execute(
            "SELECT e.detail FROM funnel_events e JOIN attempts a ON a.id = e.attempt_id "
            "WHERE a.erased_at IS NOT NULL AND e.detail IS NOT NULL"
        )
    ]
    assert details and not any("invitee" in d for d in details)
    assert any("reference" in d for d in details)


@pytest.mark.parametrize("bad", ["", "   ", "zoe", "zoe@", "@example.com", "a b@example.com"])
def test_an_address_that_is_not_one_is_refused_with_a_clear_message(bad):
    """Erase and export refuse what cannot be an email address, naming the field."""
    with pytest.raises(InvalidInput, match="email address") as caught:
        address_of(bad)
    assert caught.value.field == "email"


def test_an_address_nobody_has_erases_nothing(history):
    """A near miss (another person's address inside it) matches nobody."""
    assert history.privacy.erase("quist@example.com") == {}
    assert history.privacy.erase("zoe.quist@example.co") == {}
    assert found_in_file(history.store.path, ZOE["email"])


# -- a Stripe delivery ----------------------------------------------------------------------------
def post_stripe(web, clock, event_type: str, session: dict) -> None:
    body = json.dumps(
        {"id": f"evt_{session['id']}", "type": event_type, "data": {"object": session}}
    )
    stamp = stripe_signed(body.encode(), "whsec_k", int(clock().timestamp()))
    r = web.post("/api/stripe/webhook", content=body, headers={"Stripe-Signature": stamp})
    assert r.status_code == 200, r.text


@responses.activate
def test_stripe_deliveries_about_the_person_are_emptied_by_checkout_and_by_email(settings, clock):
    """Stripe mode: the delivery about the person's checkout (its body does not name them)
    and one about a checkout we never opened that names them inside its JSON are emptied;
    another visitor's two deliveries are kept whole."""
    settings = replace(settings, stripe_secret_key="sk_test_x", stripe_webhook_secret="whsec_k")
    desk = build_desk(settings, clock=clock)
    web = TestClient(Starlette(routes=create_routes(desk)))
    for n, person in enumerate((ZOE, BOB)):
        attempt = desk.start_attempt()
        session = stripe_session(f"cs_test_{n}", attempt, paid=False)
        responses.post("https://api.stripe.com/v1/checkout/sessions", json=session)
        responses.get(
            f"https://api.stripe.com/v1/checkout/sessions/cs_test_{n}",
            json=stripe_session(f"cs_test_{n}", attempt, paid=True),
        )
        paying = request(desk, person, "maya-chen", "portfolio-review", attempt_id=attempt)
        desk.checkout.start(paying)
        post_stripe(web, clock, "checkout.session.completed", {**session, "status": "complete"})
        stranger = stripe_session(f"cs_test_elsewhere_{n}", "att_x", paid=True)
        stranger["customer_details"] = {"email": person["email"], "name": person["name"]}
        post_stripe(web, clock, "checkout.session.completed", stranger)
    assert desk.store.db.execute(
        "SELECT count(*) FROM webhook_deliveries WHERE body IS NOT NULL"
    ).fetchone() == (4,)
    done = desk.privacy.erase(ZOE["email"])
    emptied = desk.store.db.execute(
        "SELECT payload_uri FROM webhook_deliveries WHERE body IS NULL ORDER BY 1"
    ).fetchall()
    assert done["webhook_deliveries"] == 2
    assert emptied == [("cs_test_0",), ("cs_test_elsewhere_0",)]
    assert found_in_file(desk.store.path, ZOE["email"], ZOE["name"]) == []
    assert "webhook_deliveries.body" in found_in_file(desk.store.path, BOB["email"])


# -- export -------------------------------------------------------------------------------------
def test_export_holds_the_persons_attempts_bookings_mails_and_deliveries_and_nobody_elses(
    history,
):
    """A subject access request: Zoë's attempts (with their steps), bookings, checkouts,
    mails and deliveries, the sandboxes' side too; Bob appears nowhere in it."""
    data = history.privacy.export(ZOE["email"].upper())
    db = history.store.db
    mine = lambda sql: sorted(r[0] for r in db.execute(sql, [ZOE["email"]]))  # noqa: E731
    assert sorted(a["id"] for a in data["attempts"]) == mine(
        "SELECT id FROM attempts WHERE lower(email) = lower(?)"
    )
    assert all(a["funnel_events"] for a in data["attempts"])
    assert sorted(b["reference"] for b in data["bookings"]) == mine(
        "SELECT reference FROM bookings WHERE lower(email) = lower(?)"
    )
    assert len(data["bookings"]) >= 5 and len(data["payments"]) == 1
    assert {m["kind"] for m in data["mails"]} >= {"confirmation", "followup"}
    assert all(m["message"] for m in data["mails"])
    bodies = [d["body"] for d in data["webhook_deliveries"]]
    assert len(bodies) >= 5 and any(d["verified"] == 0 for d in data["webhook_deliveries"])
    assert {i["email"] for i in data["calendly_sandbox"]["invitees"]} == {ZOE["email"]}
    assert data["calendly_sandbox"]["deliveries"]
    assert [c["email"].lower() for c in data["sandbox_checkouts"]] == [ZOE["email"].lower()]
    text = json.dumps(data, ensure_ascii=False)
    assert BOB["email"] not in text and BOB["name"] not in text
    assert ZOE_PHONE in text


def test_the_cli_exports_to_a_file_only_its_owner_can_read(history, tmp_path, monkeypatch, capsys):
    """`booking export --email --out` writes the JSON with mode 0600; without --out, the
    JSON alone goes to stdout."""
    monkeypatch.setenv("BOOKING_DB_PATH", history.store.path)
    monkeypatch.setenv("BOOKING_PUBLIC_URL", history.settings.public_url)
    out = tmp_path / "zoe.json"
    assert cli.main(["export", "--email", ZOE["email"], "--out", str(out)]) == 0
    assert os.stat(out).st_mode & 0o777 == 0o600
    assert json.loads(out.read_text())["email"] == "zoe.quist@example.com"
    assert "Wrote everything held about" in capsys.readouterr().out
    assert cli.main(["export", "--email", BOB["email"]]) == 0
    assert json.loads(capsys.readouterr().out)["bookings"]


def test_the_cli_erases_and_prints_the_rows_changed_per_table(history, monkeypatch, capsys):
    """`booking erase --email` prints counts per table; --dry-run first changes nothing;
    a second erase finds nothing; a bad address is an error, exit 2."""
    monkeypatch.setenv("BOOKING_DB_PATH", history.store.path)
    monkeypatch.setenv("BOOKING_PUBLIC_URL", history.settings.public_url)
    assert cli.main(["erase", "--email", ZOE["email"], "--dry-run"]) == 0
    assert "nothing was changed yet" in capsys.readouterr().out
    assert found_in_file(history.store.path, ZOE["email"])
    assert cli.main(["erase", "--email", ZOE["email"]]) == 0
    printed = capsys.readouterr().out
    assert "Erased the personal data of" in printed
    for table in ("attempts", "bookings", "outbox", "webhook_deliveries", "sandbox_invitees"):
        assert f"  {table} " in printed, table
    assert found_in_file(history.store.path, ZOE["email"]) == []
    assert cli.main(["erase", "--email", ZOE["email"]]) == 0
    assert "Nothing is held about" in capsys.readouterr().out
    assert cli.main(["erase", "--email", "nobody"]) == 2
    assert "email address" in capsys.readouterr().err


# -- retention ----------------------------------------------------------------------------------
def holding(desk, table: str, column: str, person) -> list[dict]:
    return list(
        desk.store.db.query(
            f"SELECT * FROM {table} WHERE lower({column}) = lower(?)",  # noqa: S608
            [person["email"]],
        )
    )


def test_retention_erases_what_is_past_it_and_leaves_recent_people_untouched(served, clock):
    """Zoë booked 400 days ago (locally, and on Calendly, then cancelled) and stalled once;
    now Bob books and Zoë books again: the retention run erases Zoë's old attempts,
    bookings, mails, deliveries and sandbox rows, keeps both recent bookings whole, and
    changes no count."""
    desk = served
    old_local = book_local(desk, ZOE)
    book_calendly(desk, ZOE, cancel=True)
    stall(desk, ZOE)
    desk.deliver_mail()
    old_attempts = {r[0] for r in desk.store.db.execute("SELECT id FROM attempts")}
    clock.advance(days=400)
    desk.offers.forget_availability(QUICK)  # shared for a TTL of real time, not the clock's
    bobs = book_local(desk, BOB)
    book_calendly(desk, BOB)
    again = book_local(desk, ZOE)
    desk.deliver_mail()
    bob_places = found_in_file(desk.store.path, BOB["email"])
    before = owner_figures(desk, clock)

    done = desk.privacy.retention_run()
    assert done["attempts"] == len(old_attempts) == 3 and done["bookings"] == 2
    assert done["sandbox_invitees"] == 1 and done["webhook_deliveries"] == 2
    assert owner_figures(desk, clock) == before
    assert found_in_file(desk.store.path, BOB["email"]) == bob_places
    assert desk.booking(bobs).email == BOB["email"] and desk.booking(old_local).name == "erased"
    # What still names Zoë is her new booking and its attempt and mails, nothing older.
    assert [b["reference"] for b in holding(desk, "bookings", "email", ZOE)] == [again]
    (attempt,) = holding(desk, "attempts", "email", ZOE)
    assert attempt["booking_ref"] == again and attempt["id"] not in old_attempts
    assert {m["booking_ref"] for m in holding(desk, "outbox", "to_addr", ZOE)} == {again}
    assert set(found_in_file(desk.store.path, ZOE["email"], ZOE["name"])) <= {
        "attempts.email",
        "attempts.name",
        "attempts.notes",
        "bookings.email",
        "bookings.name",
        "bookings.notes",
        "outbox.to_addr",
        "outbox.message",
    }
    assert desk.privacy.retention_run() == {}  # nothing left past it


def test_retention_zero_keeps_everything(served, clock):
    """BOOKING_RETENTION_DAYS=0 keeps personal data however old."""
    desk = served
    book_local(desk, ZOE)
    clock.advance(days=4000)
    desk.settings = replace(desk.settings, retention_days=0)
    assert desk.privacy.retention_run() == {}
    assert found_in_file(desk.store.path, ZOE["email"])


def test_the_retention_cli_prints_what_it_erased(served, clock, monkeypatch, capsys):
    """`booking retention run` (on the real clock) erases what is older than
    BOOKING_RETENTION_DAYS, as the app's daily job does, and says so."""
    clock.now = T0 - timedelta(days=1000)  # long before the real today
    book_local(served, ZOE)
    monkeypatch.setenv("BOOKING_DB_PATH", served.store.path)
    monkeypatch.setenv("BOOKING_PUBLIC_URL", served.settings.public_url)
    monkeypatch.setenv("BOOKING_RETENTION_DAYS", "30")
    assert cli.main(["retention", "run"]) == 0
    printed = capsys.readouterr().out
    assert "Erased personal data older than 30 days" in printed and "  attempts " in printed
    assert found_in_file(served.store.path, ZOE["email"]) == []
    assert cli.main(["retention", "run"]) == 0
    assert "nothing was erased" in capsys.readouterr().out


class Recorded:
    """Stands in for a background job: notes what it was given, never runs."""

    made: ClassVar[list] = []

    def __init__(self, name, seconds=None, job=None, *, first=None) -> None:
        self.name, self.seconds, self.job, self.first = name, seconds, job, first
        Recorded.made.append(self)

    def start(self) -> None: ...

    def stop(self) -> None: ...


def test_the_server_runs_retention_a_minute_after_start_then_daily(settings, monkeypatch):
    """The lifespan starts a 'retention' job: first after 60 s, then every 24 h."""

    desk = build_desk(settings)
    Recorded.made = []
    monkeypatch.setattr(lifecycle, "Periodic", Recorded)
    monkeypatch.setattr(lifecycle, "DeliveryWorker", lambda sandbox: Recorded("deliveries"))

    async def run():
        async with lifecycle.lifespan_for(desk)(None):
            pass

    run_async(run())
    (job,) = [j for j in Recorded.made if j.name == "retention"]
    assert (job.first, job.seconds, job.job) == (60, 24 * 3600, desk.privacy.retention_run)


def test_a_periodic_job_runs_first_after_its_first_wait():
    """Periodic(first=…) runs the job after that wait, not after a whole period."""
    import threading

    ran = threading.Event()
    job = lifecycle.Periodic("t", 3600, ran.set, first=0)
    job.start()
    try:
        assert ran.wait(10)
    finally:
        job.stop()


def test_no_reminder_goes_to_an_erased_booking_and_others_still_get_theirs(served, clock):
    """An erased upcoming booking keeps its time but gets no reminder (and no new manage
    link), while another visitor's reminder for the same day is still sent."""
    desk = served
    erased = book_local(desk, ZOE)
    kept = book_local(desk, BOB)
    desk.privacy.erase(ZOE["email"])
    clock.now = min(desk.booking(erased).start, desk.booking(kept).start) - timedelta(minutes=30)
    assert desk.reminders.run() == {"sent": 1}
    assert not desk.store.db.execute(
        "SELECT 1 FROM manage_tokens WHERE reference = ?", [erased]
    ).fetchall()
    reminded = {
        r["booking_ref"]
        for r in desk.store.db.query("SELECT * FROM outbox WHERE kind = 'reminder'")
    }
    assert reminded == {kept}
    assert found_in_file(desk.store.path, ZOE["email"], ZOE["name"]) == []


@pytest.mark.parametrize(
    ("stored", "asked"),
    [
        ("ZOË.Quist@Example.com", "zoë.quist@example.com"),  # non-ASCII local part
        ("zoe@EXÄMPLE.com", "ZOE@exämple.com"),  # non-ASCII domain
        ("Ada@Example.com", "ada@example.com"),
    ],
)
def test_addresses_match_in_any_case_even_when_json_escapes_them(desk, clock, stored, asked):
    """Unicode letters in either part match case-insensitively, in a column and inside a
    stored JSON body that writes them as \\u escapes; a longer address never matches."""
    desk.store.create_attempt("att_1", now=clock(), source="web")
    desk.store.update_attempt("att_1", now=clock(), email=stored, name="Someone")
    desk.store.create_attempt("att_2", now=clock(), source="web")
    desk.store.update_attempt("att_2", now=clock(), email="x" + stored, name="Other")
    for who in (stored, "x" + stored):
        desk.store.record_delivery(
            received_at=clock(),
            body=json.dumps({"payload": {"email": who}}).encode(),  # ensure_ascii: \\u00cb
            verified=True,
            rejection=None,
            event="invitee.created",
            payload_uri=None,
        )
    done = desk.privacy.erase(asked)
    assert (done["attempts"], done["webhook_deliveries"]) == (1, 1)
    assert desk.store.attempt("att_2")["email"] == "x" + stored
