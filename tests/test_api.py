"""The JSON API and /healthz through Starlette's TestClient (the same routes app.py serves)."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking.web.routes import create_routes


@pytest.fixture
def client(desk):
    return TestClient(Starlette(routes=create_routes(desk)))


def valid_body(**overrides) -> dict:
    body = {
        "analyst": "maya",
        "meetingType": "intro",
        "startTime": "2026-12-07T10:00:00+00:00",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "notes": "Bonds",
        "timezone": "America/New_York",
    }
    body.update(overrides)
    return body


def test_analysts_lists_every_analyst_with_camelcase_meeting_types(client):
    """A front-end can read the catalogue: slugs, provider and camelCase meeting types."""
    body = client.get("/api/analysts").json()
    maya = next(a for a in body["analysts"] if a["slug"] == "maya")
    assert maya["provider"] == "local" and maya["bookable"] is True
    assert maya["meetingTypes"][1] == {
        "id": "review",
        "name": "Portfolio review",
        "durationMinutes": 60,
        "price": 120.0,
        "currency": "GBP",
        "description": "",
    }
    assert next(a for a in body["analysts"] if a["slug"] == "assassin")["provider"] == "calendly"


def test_availability_returns_slots_with_the_visitors_offset(client):
    """Slots come back in the asked zone, ISO 8601 with offset, inside the asked dates."""
    r = client.get(
        "/api/analysts/maya/availability",
        params={
            "meetingType": "intro",
            "start": "2026-12-07",
            "end": "2026-12-07",
            "timezone": "America/New_York",
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["timezone"] == "America/New_York"
    # Mon 7 Dec 2026 in New York: London 10:00-12:00 and 13:00-17:00 minus 2 h notice from 08:00Z
    starts = [s["startTime"] for s in body["slots"]]
    assert starts[0] == "2026-12-07T05:00:00-05:00"
    assert starts[-1] == "2026-12-07T11:30:00-05:00"
    assert all(s["endTime"] > s["startTime"] for s in body["slots"])


def test_a_booking_is_created_then_the_same_slot_conflicts(client):
    """201 with a reference the first time; 409 with a JSON error the second time."""
    r = client.post("/api/bookings", json=valid_body())
    assert r.status_code == 201, r.text
    booking = r.json()["booking"]
    assert r.json()["success"] is True
    assert booking["reference"].startswith("BD-")
    assert booking["startTime"] == "2026-12-07T05:00:00-05:00"
    r2 = client.post("/api/bookings", json=valid_body(email="bob@example.com"))
    assert r2.status_code == 409
    assert r2.json() == {
        "success": False,
        "error": "slot_taken",
        "field": "startTime",
        "message": "05:00 on Mon 7 Dec was just taken by someone else; please pick another time.",
    }


@pytest.mark.parametrize(
    ("overrides", "status", "error"),
    [
        ({"email": "not-an-email"}, 422, "invalid_input"),
        ({"name": ""}, 422, "invalid_input"),
        ({"timezone": "Nowhere/Else"}, 422, "invalid_input"),
        ({"startTime": "tomorrow at ten"}, 422, "invalid_input"),
        ({"startTime": "2026-12-07T12:00:00+00:00"}, 409, "slot_unavailable"),
        ({"analyst": "nobody"}, 404, "not_found"),
        ({"analyst": "assassin"}, 409, "not_bookable"),
    ],
)
def test_bad_bookings_get_json_errors_and_store_nothing(client, desk, overrides, status, error):
    """Every refusal is the documented JSON error shape and no booking row appears."""
    r = client.post("/api/bookings", json=valid_body(**overrides))
    assert r.status_code == status
    body = r.json()
    assert body["success"] is False and body["error"] == error and body["message"]
    assert desk.store.db["bookings"].count == 0


def test_a_missing_field_names_the_field(client):
    """Validation errors keep the same shape and say which field is wrong."""
    body = valid_body()
    del body["email"]
    r = client.post("/api/bookings", json=body)
    assert r.status_code == 422
    assert r.json()["field"] == "email" and r.json()["error"] == "invalid_input"


def test_openapi_describes_the_routes(client):
    """The API publishes its OpenAPI description for other front-ends."""
    spec = client.get("/api/openapi.json").json()
    assert {"/analysts", "/analysts/{slug}/availability", "/bookings"} <= set(spec["paths"])


def test_healthz_reports_database_and_mode(client, desk, tmp_path):
    """Health says the database is reachable and how the desk is running."""
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["database"] == "reachable"
    assert body["mode"] == "offline"


def test_a_body_that_is_not_json_is_a_400_saying_so_without_a_made_up_field(client):
    """A truncated JSON body: 400 and one sentence, not '1: JSON decode error' naming a
    field called '1'."""
    r = client.post(
        "/api/bookings", content=b'{"analyst": ', headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json() == {
        "success": False,
        "error": "bad_request",
        "message": "The request body is not valid JSON.",
    }


def test_a_fault_of_ours_is_a_500_in_the_envelope_with_a_sentence(desk, monkeypatch):
    """An unexpected exception inside a route: the JSON envelope and what to do, never a
    bare 'Internal Server Error' or a traceback."""
    monkeypatch.setattr(type(desk.offers), "meeting_types", lambda *a: 1 / 0)
    app = Starlette(routes=create_routes(desk))
    r = TestClient(app, raise_server_exceptions=False).get("/api/analysts")
    assert r.status_code == 500
    assert r.json()["error"] == "internal_error" and "try again" in r.json()["message"]
    assert "ZeroDivisionError" not in r.text and "Traceback" not in r.text


def test_a_json_body_that_is_not_utf8_gets_our_error_envelope(client):
    """A stray 0xFF byte inside a JSON string is a 400 in the app's own envelope, as the
    OpenAPI document says, not FastAPI's bare {"detail": ...}."""
    r = client.post(
        "/api/bookings",
        content=b'{"analyst": "maya-chen", "name": "A\xff"}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json() == {
        "success": False,
        "error": "bad_request",
        "message": "The request body could not be read; send UTF-8 JSON.",
    }
    documented = client.get("/api/openapi.json").json()["paths"]["/bookings"]["post"]
    assert documented["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorOut"
    )
