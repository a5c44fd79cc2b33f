"""The owner's sign-in on the public internet: a signed HttpOnly cookie that outlives a
reload, growing delays for guessers (per client and overall), failures logged sans password."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking.desk import Desk
from booking.desk.signin import COOKIE
from booking.store import Store
from booking.web.routes import create_middleware, create_routes

PASSWORD = "correct horse battery"


@pytest.fixture
def owner_desk(settings, catalogue, clock) -> Desk:
    s = replace(settings, owner_password=PASSWORD)
    return Desk(s, catalogue, Store(s.db_path), clock)


def web(desk: Desk, client: str = "203.0.113.7") -> TestClient:
    app = Starlette(routes=create_routes(desk), middleware=create_middleware())
    return TestClient(app, client=(client, 50000), follow_redirects=False)


def test_the_right_password_sets_a_signed_httponly_strict_cookie_with_an_expiry(owner_desk, clock):
    """Right: 303 to /analytics and a cookie the pages accept; wrong: 401, no cookie."""
    client = web(owner_desk)
    wrong = client.post("/owner/signin", data={"password": "guess"})
    assert wrong.status_code == 401 and "That password is not right." in wrong.text
    assert "set-cookie" not in wrong.headers
    right = client.post("/owner/signin", data={"password": PASSWORD})
    assert right.status_code == 303 and right.headers["location"].endswith("/analytics")
    cookie = right.headers["set-cookie"]
    for flag in ("HttpOnly", "SameSite=strict", "Max-Age=43200", "Path=/"):
        assert flag.lower() in cookie.lower()
    token = right.cookies[COOKIE]
    assert owner_desk.signin.valid(token)
    assert not owner_desk.signin.valid(token[:-1] + ("0" if token[-1] != "0" else "1"))
    assert not owner_desk.signin.valid("9999999999.forged")
    clock.advance(hours=13)
    assert not owner_desk.signin.valid(token)  # expired


def test_sign_out_clears_the_cookie(owner_desk):
    """POST /owner/signout expires the cookie; GET only asks (link scanners read pages)."""
    client = web(owner_desk)
    assert "Sign out" in client.get("/owner/signout").text
    out = client.post("/owner/signout")
    assert out.status_code == 303
    assert f'{COOKIE}=""' in out.headers["set-cookie"] and "Max-Age=0" in out.headers["set-cookie"]


def test_guessing_meets_growing_delays_and_each_failure_is_logged_without_the_password(
    owner_desk, clock, caplog
):
    """Three free tries, then 1 s, 2 s, 4 s … between tries; the log names the client."""
    client = web(owner_desk)
    caplog.set_level(logging.WARNING, logger="booking.desk.signin")
    for _ in range(3):
        assert client.post("/owner/signin", data={"password": "hunter2"}).status_code == 401
    waits = []
    for _ in range(4):
        refused = client.post("/owner/signin", data={"password": "hunter2"})
        assert refused.status_code == 429 and "Too many wrong passwords" in refused.text
        waits.append(int(refused.headers["Retry-After"]))
        wait = "1 second" if waits[-1] == 1 else f"{waits[-1]} seconds"
        assert f"Please wait {wait} and try again." in refused.text
        clock.advance(seconds=waits[-1])
        assert client.post("/owner/signin", data={"password": "hunter2"}).status_code == 401
    assert waits == [1, 2, 4, 8]
    assert len(caplog.records) == 7
    assert all("203.0.113.7" in r.getMessage() for r in caplog.records)
    assert not any("hunter2" in r.getMessage() for r in caplog.records)
    other = web(owner_desk, "198.51.100.1")  # another client is not slowed by this one yet
    assert other.post("/owner/signin", data={"password": PASSWORD}).status_code == 303


def test_a_guessing_attack_spread_over_many_addresses_is_slowed_for_everyone(owner_desk):
    """Twenty failures from twenty addresses: the next try anywhere must wait."""
    for i in range(20):
        assert (
            web(owner_desk, f"198.51.100.{i}")
            .post("/owner/signin", data={"password": "x"})
            .status_code
            == 401
        )
    assert (
        web(owner_desk, "192.0.2.1").post("/owner/signin", data={"password": PASSWORD}).status_code
        == 429
    )


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
def test_a_sign_in_body_over_4_kib_is_refused_unread(owner_desk, caplog, declared):
    """More than a password (declared, or streamed without Content-Length): 413 before the
    form is parsed, and no guess is counted."""
    body = b"password=" + b"x" * 1_000_000
    content = body if declared else iter([body[i : i + 8192] for i in range(0, len(body), 8192)])
    with caplog.at_level(logging.WARNING):
        r = web(owner_desk).post(
            "/owner/signin",
            content=content,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert r.status_code == 413 and "more than a password" in r.text
    assert r.headers["content-type"].startswith("text/html")  # the form again, for a browser
    assert "sign-in" not in caplog.text.lower()
    assert web(owner_desk).post("/owner/signin", data={"password": PASSWORD}).status_code == 303
