"""Calendly webhooks: signatures, storage, idempotent and order-independent application."""

from __future__ import annotations

import asyncio
import copy
import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking.desk import build_desk
from booking.settings import Settings
from booking.signatures import (
    MalformedSignature,
    MissingSignature,
    SignatureError,
    StaleSignature,
    sign,
    verify,
)
from booking.web import lifecycle
from booking.web.routes import create_routes
from tests.servers import run_async

EXAMPLES = Path(__file__).parent / "calendly_examples"
KEY = "whsec-test-key"
VECTOR_KEY = "5mEzn9C-I28UtwOjZJtFoob0sAAFZ95GbZkqj4y3i0I"
VECTOR_BODY = (
    b'{"created_at":"2025-11-24T08:00:00.000000Z","created_by":"https://api.calendly.com/'
    b'users/AAAAAAAAAAAAAAAA","event":"invitee.created","payload":{}}'
)
VECTOR_T = 1763971200
VECTOR_V1 = "198fd3018fa1ed706b38aa2e699b78d41d2581bd7c55410f23b855a16e893912"


# -- signatures ---------------------------------------------------------------------------
def test_the_known_answer_vector_signs_and_verifies():
    """Our HMAC matches the reference vector byte for byte."""
    assert sign(VECTOR_BODY, VECTOR_KEY, VECTOR_T) == f"t={VECTOR_T},v1={VECTOR_V1}"
    assert (
        verify(f"t={VECTOR_T},v1={VECTOR_V1}", VECTOR_BODY, [VECTOR_KEY], now=VECTOR_T + 5)
        == VECTOR_T
    )


@pytest.mark.parametrize(
    ("header", "body", "keys", "now", "error"),
    [
        (
            f"t={VECTOR_T},v1={VECTOR_V1}",
            VECTOR_BODY + b" ",
            [VECTOR_KEY],
            VECTOR_T,
            SignatureError,
        ),
        (f"t={VECTOR_T},v1={VECTOR_V1}", VECTOR_BODY, ["wrong-key"], VECTOR_T, SignatureError),
        (f"t={VECTOR_T},v1={VECTOR_V1}", VECTOR_BODY, [VECTOR_KEY], VECTOR_T + 181, StaleSignature),
        (f"t={VECTOR_T},v1={VECTOR_V1}", VECTOR_BODY, [VECTOR_KEY], VECTOR_T - 181, StaleSignature),
        (None, VECTOR_BODY, [VECTOR_KEY], VECTOR_T, MissingSignature),
        ("", VECTOR_BODY, [VECTOR_KEY], VECTOR_T, MissingSignature),
        ("garbage", VECTOR_BODY, [VECTOR_KEY], VECTOR_T, MalformedSignature),
        (f"t=soon,v1={VECTOR_V1}", VECTOR_BODY, [VECTOR_KEY], VECTOR_T, MalformedSignature),
        (f"t={VECTOR_T}", VECTOR_BODY, [VECTOR_KEY], VECTOR_T, MalformedSignature),
        (f"t={VECTOR_T},v1={VECTOR_V1}", VECTOR_BODY, [], VECTOR_T, SignatureError),
    ],
    ids=[
        "tampered-body",
        "wrong-key",
        "stale",
        "future",
        "missing",
        "empty",
        "malformed",
        "bad-timestamp",
        "no-v1",
        "no-key-configured",
    ],
)
def test_untrustworthy_signatures_are_refused(header, body, keys, now, error):
    """Tampering, wrong keys, clock drift beyond 180 s and broken headers all fail."""
    with pytest.raises(error):
        verify(header, body, keys, now=now)


def test_one_valid_v1_among_several_and_key_rotation_are_accepted():
    """Several v1 values (one valid) pass, and so does the second of two configured keys."""
    header = f"t={VECTOR_T},v1={'0' * 64},v1={VECTOR_V1}"
    assert verify(header, VECTOR_BODY, ["old-key", VECTOR_KEY], now=VECTOR_T) == VECTOR_T


# -- the endpoint ------------------------------------------------------------------------------
@pytest.fixture
def desk(tmp_path, clock):
    settings = Settings(
        db_path=str(tmp_path / "w.db"),
        public_url="http://testserver",
        catalogue_path=str(Path(__file__).parents[1] / "data/analysts.toml"),
        calendly_signing_key=f"retired-key, {KEY}",
    )
    return build_desk(settings, clock=clock)


@pytest.fixture
def client(desk):
    return TestClient(Starlette(routes=create_routes(desk)))


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


def post(client, clock, body: dict | bytes, *, key=KEY, skew=0, header=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    t = int(clock().timestamp()) + skew
    sig = header if header is not None else sign(raw, key, t)
    headers = {"Content-Type": "application/json"}
    if sig:
        headers["Calendly-Webhook-Signature"] = sig
    return client.post("/api/calendly/webhook", content=raw, headers=headers)


def bookings(desk) -> list[dict]:
    rows = desk.store.db.query("SELECT * FROM bookings ORDER BY invitee_uri")
    return [
        {k: v for k, v in r.items() if k not in ("reference", "created_at", "updated_at")}
        for r in rows
    ]


def test_the_documented_created_delivery_books_and_joins_its_attempt(client, desk, clock):
    """invitee.created → an active booking joined through utm_content, funnel 'booked'."""
    desk.store.create_attempt("att_9f2c4e7a1b", now=clock(), source="web")
    r = post(client, clock, example("webhook_invitee_created.json"))
    assert r.status_code == 200 and r.json() == {"success": True, "outcome": "applied"}
    [row] = bookings(desk)
    assert row["status"] == "confirmed" and row["attempt_id"] == "att_9f2c4e7a1b"
    assert (row["name"], row["email"], row["notes"]) == (
        "John Doe",
        "john@example.com",
        "Looking for help with trading strategies",
    )
    assert row["start_utc"] == "2026-12-01T14:00:00+00:00" and row["analyst"] == "assassin"
    assert [e["step"] for e in desk.store.events("att_9f2c4e7a1b")][-1] == "booked"
    assert desk.store.attempt("att_9f2c4e7a1b")["status"] == "booked"
    assert desk.owner.health()["lastVerifiedWebhook"] == "2026-12-07T08:00:00+00:00"


def test_a_repeated_delivery_is_acknowledged_and_changes_nothing(client, desk, clock):
    """The same (event, invitee) twice: 200 both times, one booking, one funnel step."""
    desk.store.create_attempt("att_9f2c4e7a1b", now=clock(), source="web")
    body = example("webhook_invitee_created.json")
    post(client, clock, body)
    before = bookings(desk)
    clock.advance(minutes=5)
    r = post(client, clock, body)
    assert r.json()["outcome"] == "duplicate"
    assert bookings(desk) == before
    assert [e["step"] for e in desk.store.events("att_9f2c4e7a1b")].count("booked") == 1
    assert desk.store.db["webhook_deliveries"].count == 2


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"key": "forged"}, 401, "bad_signature"),
        ({"skew": -600}, 401, "stale_signature"),
        ({"skew": 600}, 401, "stale_signature"),
        ({"header": ""}, 400, "missing_signature"),
        ({"header": "v1=abc"}, 400, "malformed_signature"),
    ],
)
def test_forged_stale_or_unsigned_deliveries_change_nothing(
    client, desk, clock, change, status, error
):
    """Refused with a JSON error; the delivery is kept (unverified) and nothing is applied."""
    r = post(client, clock, example("webhook_invitee_created.json"), **change)
    assert r.status_code == status and r.json()["error"] == error
    assert bookings(desk) == []
    row = desk.store.db.execute(
        "SELECT verified, rejection, body FROM webhook_deliveries"
    ).fetchone()
    assert row[0] == 0 and row[1] == error and "John Doe" in row[2]
    assert KEY not in row[2]


def test_not_json_oversized_and_unknown_events(client, desk, clock):
    """Signed garbage is a 400, a huge body a 413, an unknown event is stored and ignored."""
    assert post(client, clock, b"not json at all").status_code == 400
    assert post(client, clock, b"x" * (300 * 1024)).status_code == 413
    r = post(
        client,
        clock,
        {
            "event": "routing_form_submission.created",
            "created_at": "2026-12-07T08:00:00Z",
            "payload": {"uri": "x"},
        },
    )
    assert r.status_code == 200 and r.json()["outcome"] == "ignored"
    r = post(
        client,
        clock,
        {"event": "invitee.created", "created_at": "2026-12-07T08:00:00Z", "payload": {}},
    )
    assert r.status_code == 200 and r.json()["outcome"] == "unusable"
    assert bookings(desk) == []


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.text(max_size=10), inner, max_size=4)
            ),
            max_leaves=20,
        ).map(lambda v: json.dumps(v).encode()),
    )
)
def test_no_signed_body_ever_causes_a_500(client, clock, body):
    """Whatever a sender signs, the answer is a 2xx or 4xx with JSON, never a 500."""
    r = post(client, clock, body)
    assert r.status_code < 500 and "success" in r.json()


def created_and_canceled(uri_suffix="E1"):
    created = example("webhook_invitee_created.json")
    canceled = example("webhook_invitee_canceled.json")
    for d in (created, canceled):
        d["payload"]["uri"] = d["payload"]["uri"].replace("EEEEEEEEEEEEEEEE", uri_suffix)
    return created, canceled


def test_canceled_before_created_converges_to_the_same_state(desk, clock, tmp_path):
    """Cancel-then-create ends exactly where create-then-cancel ends."""
    created, canceled = created_and_canceled()
    c1 = TestClient(Starlette(routes=create_routes(desk)))
    post(c1, clock, created)
    post(c1, clock, canceled)
    in_order = bookings(desk)
    other = build_desk(
        Settings(**{**desk.settings.__dict__, "db_path": str(tmp_path / "o.db")}), clock=clock
    )
    c2 = TestClient(Starlette(routes=create_routes(other)))
    post(c2, clock, canceled)
    post(c2, clock, created)
    assert bookings(other) == in_order
    assert (
        in_order[0]["status"] == "canceled" and in_order[0]["cancel_reason"] == "Something came up"
    )
    assert in_order[0]["canceled_by"] == "John Doe" and in_order[0]["canceler_type"] == "invitee"


def reschedule_pair():
    old_uri = "https://api.calendly.com/scheduled_events/OLD/invitees/OLDINV"
    new_uri = "https://api.calendly.com/scheduled_events/NEW/invitees/NEWINV"
    canceled = example("webhook_invitee_canceled.json")
    canceled["payload"].update(uri=old_uri, rescheduled=True, new_invitee=new_uri)
    created = example("webhook_invitee_created.json")
    created["payload"].update(
        uri=new_uri, old_invitee=old_uri, event="https://api.calendly.com/scheduled_events/NEW"
    )
    created["payload"]["scheduled_event"]["start_time"] = "2026-12-02T15:00:00.000000Z"
    created["payload"]["scheduled_event"]["end_time"] = "2026-12-02T16:00:00.000000Z"
    return canceled, created, old_uri, new_uri


@pytest.mark.parametrize("order", ["canceled-first", "created-first"])
def test_a_reschedule_links_the_old_and_new_bookings(client, desk, clock, order):
    """The pair, in either order: old canceled → new, new active ← old; funnel 'rescheduled'."""
    desk.store.create_attempt("att_9f2c4e7a1b", now=clock(), source="web")
    canceled, created, old_uri, new_uri = reschedule_pair()
    for body in [canceled, created] if order == "canceled-first" else [created, canceled]:
        assert post(client, clock, body).json()["outcome"] == "applied"
    rows = {r["invitee_uri"]: r for r in bookings(desk)}
    assert rows[old_uri]["status"] == "canceled" and rows[old_uri]["rescheduled_to"] == new_uri
    assert rows[new_uri]["status"] == "confirmed" and rows[new_uri]["rescheduled_from"] == old_uri
    assert rows[new_uri]["start_utc"] == "2026-12-02T15:00:00+00:00"
    steps = [e["step"] for e in desk.store.events("att_9f2c4e7a1b")]
    assert "rescheduled" in steps and "canceled" not in steps


def test_no_show_pair_converges_by_delivery_time(client, desk, clock):
    """Marked then unmarked → not a no-show, whichever delivery arrives first."""
    created = example("webhook_invitee_created.json")
    post(client, clock, created)
    marked = copy.deepcopy(created)
    marked.update(event="invitee_no_show.created", created_at="2026-12-01T16:00:00.000000Z")
    marked["payload"]["no_show"] = {
        "uri": "https://api.calendly.com/invitee_no_shows/N1",
        "created_at": "2026-12-01T16:00:00.000000Z",
    }
    unmarked = copy.deepcopy(created)
    unmarked.update(event="invitee_no_show.deleted", created_at="2026-12-01T17:00:00.000000Z")
    post(client, clock, unmarked)  # the later change arrives first
    post(client, clock, marked)
    assert bookings(desk)[0]["no_show"] == 0
    marked_again = copy.deepcopy(marked)
    marked_again["created_at"] = "2026-12-01T18:00:00.000000Z"
    marked_again["payload"]["uri"] += "X"  # another invitee, to show the flag does turn on
    marked_again["payload"]["no_show"]["uri"] += "X"  # each mark has its own URI
    post(
        client,
        clock,
        {**created, "payload": {**created["payload"], "uri": marked_again["payload"]["uri"]}},
    )
    post(client, clock, marked_again)
    assert sorted(r["no_show"] for r in bookings(desk)) == [0, 1]


def test_a_no_show_marked_unmarked_and_marked_again_ends_marked(client, desk, clock):
    """Each mark has its own URI: the second mark of one invitee is not a repeat of the
    first (deliveries keyed on the invitee dropped it), and a replay changes nothing."""
    created = example("webhook_invitee_created.json")
    post(client, clock, created)
    first = example("webhook_invitee_no_show_created.json")
    removed = copy.deepcopy(first)
    removed.update(event="invitee_no_show.deleted", created_at="2026-12-01T15:20:00.000000Z")
    again = copy.deepcopy(first)
    again["created_at"] = "2026-12-01T15:30:00.000000Z"
    again["payload"]["no_show"] = {
        "uri": "https://api.calendly.com/invitee_no_shows/NNNNNNNNNNNNNNN2",
        "created_at": "2026-12-01T15:30:00.000000Z",
    }
    outcomes = [post(client, clock, d).json()["outcome"] for d in (first, removed, again, again)]
    assert outcomes == ["applied", "applied", "applied", "duplicate"]
    assert bookings(desk)[0]["no_show"] == 1


def test_without_utm_content_the_attempt_is_found_by_email_type_and_time(client, desk, clock):
    """The visitor's attempt is joined even when Calendly lost the tracking token."""
    attempt = desk.start_attempt()
    desk.store.update_attempt(
        attempt,
        now=clock(),
        provider="calendly",
        email="John@Example.com",
        meeting_type="https://api.calendly.com/event_types/CCCCCCCCCCCCCCCC",
        slot_start="2026-12-01T14:00:00+00:00",
    )
    body = example("webhook_invitee_created.json")
    body["payload"]["tracking"]["utm_content"] = None
    post(client, clock, body)
    assert bookings(desk)[0]["attempt_id"] == attempt


def clinic_delivery(desk, answers: list[dict]) -> dict:
    """A created delivery for the sandbox's Options Clinic (a choice question first, the
    free-text question second) with these answers."""
    body = example("webhook_invitee_created.json")
    body["payload"]["scheduled_event"]["event_type"] = desk.sandbox.event_type_uri(CLINIC)
    body["payload"]["questions_and_answers"] = answers
    return body


CLINIC = "SBXCLINIC0000001"
MARKET = {"question": "Which market do you trade?", "answer": "FX", "position": 0}
TOPIC = {"question": "What would you like to discuss?", "answer": "Covered calls", "position": 1}


@pytest.mark.parametrize(
    ("answers", "notes"),
    [([MARKET, TOPIC], "Covered calls"), ([TOPIC, MARKET], "Covered calls"), ([MARKET], None)],
    ids=["in-order", "shuffled", "notes-unanswered"],
)
def test_a_bookings_notes_are_the_answer_to_its_first_free_text_question(
    client, desk, clock, answers, notes
):
    """Once the event type has been read, the notes are the answer to its first free-text
    question (where our links and direct bookings put them), never a choice answered
    before it."""
    desk.offers.calendly_event_types()
    post(client, clock, clinic_delivery(desk, answers))
    assert bookings(desk)[0]["notes"] == notes


def test_before_its_event_type_is_read_the_first_answer_stands_for_the_notes(client, desk, clock):
    """A known limit, not the wanted result: a delivery for an event type this process has
    not read yet (nothing is asked of Calendly under the write lock; the start-up job reads
    them all) keeps the first answer by position as the notes."""
    post(client, clock, clinic_delivery(desk, [TOPIC, MARKET]))
    assert bookings(desk)[0]["notes"] == "FX"


def test_the_server_reads_what_each_event_type_asks_as_it_starts(desk):
    """Started, the server reads the event types at once, so the first delivery after a
    restart already knows which answer holds the notes."""

    async def started() -> bool:
        async with lifecycle.lifespan_for(desk)(None):
            for _ in range(200):
                if desk.offers.known_form(desk.sandbox.event_type_uri(CLINIC)):
                    return True
                await asyncio.sleep(0.05)
        return False

    assert run_async(started())


def test_an_invitee_booked_straight_on_calendly_is_applied_without_reading_every_attempt(
    desk, clock
):
    """With 20,000 attempts stored, an invitee with no utm_content and no attempt of ours
    (booked on Calendly's own page) is looked up through an index: a handful of rows read
    (SQLite's instruction count), not the whole table, as every such delivery would."""
    desk.store.db.conn.executemany(
        "INSERT INTO attempts (id, created_at, updated_at, source, status, provider, email, "
        "meeting_type, slot_start) VALUES (?, ?, ?, 'web', 'started', ?, ?, ?, ?)",
        (
            (
                f"old_{i}",
                "2026-01-01T00:00:00+00:00",
                "2026-01-01T00:00:00+00:00",
                "calendly" if i % 2 else "local",
                f"p{i}@example.com",
                "https://api.calendly.com/event_types/CCCCCCCCCCCCCCCC",
                f"2026-{1 + i % 9:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00+00:00",
            )
            for i in range(20_000)
        ),
    )
    desk.store.db.conn.commit()
    body = example("webhook_invitee_created.json")
    body["payload"]["tracking"]["utm_content"] = None
    raw = json.dumps(body).encode()
    steps = []
    desk.store.db.conn.set_progress_handler(lambda: steps.append(1), 100)
    try:
        receipt = desk.inbox.calendly(raw, sign(raw, KEY, int(clock().timestamp())))
    finally:
        desk.store.db.conn.set_progress_handler(None, 0)
    assert receipt.outcome == "applied" and bookings(desk)[0]["attempt_id"] is None
    assert len(steps) * 100 < 20_000  # one instruction per attempt would already be more


def test_a_booking_delivery_drops_the_cached_availability(client, desk, clock):
    """After invitee.created for an event type, its times are fetched afresh."""
    from zoneinfo import ZoneInfo

    quick = "https://api.calendly.com/event_types/SBXQUICKCALL0001"
    desk.offers.open_days("assassin", quick, ZoneInfo("UTC"))
    calls = desk.sandbox.calls["event_type_available_times"]
    desk.offers.open_days("assassin", quick, ZoneInfo("UTC"))
    assert desk.sandbox.calls["event_type_available_times"] == calls
    body = example("webhook_invitee_created.json")
    body["payload"]["scheduled_event"]["event_type"] = quick
    post(client, clock, body)
    desk.offers.open_days("assassin", quick, ZoneInfo("UTC"))
    assert desk.sandbox.calls["event_type_available_times"] == calls + 1


def test_shuffled_duplicated_deliveries_equal_the_ground_truth(client, desk, clock):
    """Thirty invitees' deliveries, duplicated and shuffled, leave exactly thirty bookings."""
    bodies, truth = [], {}
    for i in range(30):
        created, canceled = created_and_canceled(f"INV{i:03d}")
        bodies.append(created)
        truth[created["payload"]["uri"]] = "confirmed"
        if i % 3 == 0:
            bodies.append(canceled)
            truth[created["payload"]["uri"]] = "canceled"
    deliveries = bodies + random.Random(7).sample(bodies, 10)
    random.Random(8).shuffle(deliveries)
    for body in deliveries:
        assert post(client, clock, body).status_code == 200
    assert {r["invitee_uri"]: r["status"] for r in bookings(desk)} == truth
    applied = desk.store.db.execute("SELECT count(*) FROM webhook_applied").fetchone()[0]
    assert applied == len(bodies)


def test_a_forged_body_is_kept_only_in_part(client, desk, clock):
    """Unverified deliveries keep their first 16 KiB and their real size, nothing more."""
    body = {"event": "invitee.created", "payload": {"padding": "x" * 100_000}}
    assert post(client, clock, body, key="forged").status_code == 401
    kept, size = desk.store.db.execute(
        "SELECT length(body), body_bytes FROM webhook_deliveries"
    ).fetchone()
    assert kept == 16 * 1024 and size > 100_000


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("scheduled_event", "start_time"), "not-a-date"),
        (("questions_and_answers",), "hello"),
        (("tracking",), ["x"]),
        (("cancellation",), "oops"),
        (("scheduled_event",), "a-string"),
        (("questions_and_answers",), [{"question": ["not", "text"], "answer": "x"}]),
    ],
    ids=["start-time", "answers", "tracking", "cancellation", "event", "question"],
)
def test_a_signed_delivery_of_an_odd_shape_is_kept_and_acknowledged(
    client, desk, clock, where, value
):
    """Signed payloads with a field of the wrong type are stored and answered 200
    'unusable' (retrying cannot help), never a 500 that Calendly would retry for a day."""
    for event in ("webhook_invitee_created.json", "webhook_invitee_canceled.json"):
        body = example(event)
        target = body["payload"]
        for key in where[:-1]:
            target = target[key]
        target[where[-1]] = value
        r = post(client, clock, body)
        assert r.status_code == 200 and r.json() == {"success": True, "outcome": "unusable"}
    rows = list(desk.store.db.query("SELECT verified, outcome, event FROM webhook_deliveries"))
    assert [(r["verified"], r["outcome"]) for r in rows] == [(1, "unusable")] * 2
    assert bookings(desk) == []


def test_a_signed_body_that_is_not_json_is_kept_and_answered_400(client, desk, clock):
    """Signed garbage (a stray 0xFF byte too) is stored for the owner and told apart."""
    for body in (b"not json at all", b'{"event": "invitee.created", "x": "\xff"}'):
        r = post(client, clock, body)
        assert r.status_code == 400 and r.json()["error"] == "not_json"
    outcomes = [r["outcome"] for r in desk.store.db.query("SELECT outcome FROM webhook_deliveries")]
    assert outcomes == ["not_json", "not_json"]


def test_a_group_of_deliveries_commits_together_and_each_is_answered_for_itself(
    desk, clock, monkeypatch
):
    """Group commit: in one batch a forged, an oddly shaped and a failing delivery are each
    answered for themselves, while the good ones are applied and every one is stored."""
    created, canceled = created_and_canceled("G1")
    broken, _ = created_and_canceled("G2")
    odd, _ = created_and_canceled("G3")
    odd["payload"]["tracking"] = ["x"]
    record = desk.calendly_sync.record

    def flaky(delivery, **kw):
        if delivery.uri.endswith("G2"):
            raise RuntimeError("a fault of ours")
        return record(delivery, **kw)

    monkeypatch.setattr(desk.calendly_sync, "record", flaky)
    t = int(clock().timestamp())
    raw = [json.dumps(d).encode() for d in (created, broken, odd, canceled)]
    batch = [(body, sign(body, KEY, t)) for body in raw] + [(raw[0], sign(raw[0], "forged", t))]
    receipts = desk.inbox.calendly_batch(batch)
    assert [(r.status, r.outcome) for r in receipts] == [
        (200, "applied"),
        (503, "failed"),
        (200, "unusable"),
        (200, "applied"),
        (401, "bad_signature"),
    ]
    assert [b["status"] for b in bookings(desk)] == ["canceled"]
    stored = desk.store.db.query("SELECT verified, outcome FROM webhook_deliveries ORDER BY id")
    assert [(s["verified"], s["outcome"]) for s in stored] == [
        (1, "applied"),
        (1, "failed"),
        (1, "unusable"),
        (1, "applied"),
        (0, None),
    ]


def test_forged_deliveries_are_counted_exactly_but_only_a_bounded_sample_is_kept(
    client, desk, clock, monkeypatch
):
    """A flood of forgeries cannot fill the disk: the kept sample stays at its cap (newest
    kept), while the owner's count of refusals stays exact."""
    from booking.analytics import webhook_health
    from booking.domain.filters import Filters
    from booking.store import webhooks as stored

    monkeypatch.setattr(stored, "REFUSED_SAMPLE_ROWS", 5)
    for i in range(12):
        post(client, clock, {"n": i}, key="forged")
    kept = [r["body"] for r in desk.store.db.query("SELECT body FROM webhook_deliveries")]
    assert kept == [json.dumps({"n": i}) for i in range(7, 12)]
    day = clock().date()
    health = webhook_health(desk.store, Filters(day, day))
    assert (health["deliveries"], health["rejected"]) == (12, 12)
