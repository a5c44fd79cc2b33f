"""The owner's sign-in and sign-out as HTTP routes of ours, so the session can live in a
signed, HttpOnly, SameSite=Strict cookie that survives a reload or a new tab (Streamlit's
pages cannot set one). The pages read the cookie through ``desk.signin.valid``."""

from __future__ import annotations

import html
import math

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from booking.desk import Desk
from booking.desk.signin import COOKIE
from booking.errors import InvalidInput, TooManyRequests
from booking.html_page import page
from booking.web.clients import request_client
from booking.web.guards import bounded

MAX_FORM_BYTES = 4096
TOO_LONG = "That was more than a password."


def owner_routes(desk: Desk) -> list[Route]:
    """GET/POST /owner/signin and GET/POST /owner/signout."""
    secure = desk.settings.public_url.startswith("https://")

    async def signin(request: Request) -> Response:
        if not desk.settings.owner_password:
            return _form(desk, "No owner password is set (BOOKING_OWNER_PASSWORD).", 404)
        if request.method == "GET":
            return _form(desk)
        form = await request.form()  # bounded: served behind BodyLimit below
        client = request_client(request, desk.settings.proxy_networks)
        try:
            token = await run_in_threadpool(
                desk.signin.sign_in, str(form.get("password") or ""), client
            )
        except TooManyRequests as exc:
            response = _form(desk, str(exc), 429)
            response.headers["Retry-After"] = str(math.ceil(exc.retry_after))
            return response
        except InvalidInput as exc:
            return _form(desk, str(exc), 401)
        response = RedirectResponse(desk.link("/analytics"), status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            max_age=desk.settings.owner_session_hours * 3600,
            httponly=True,
            samesite="strict",
            secure=secure,
            path="/",
        )
        return response

    async def signout(request: Request) -> Response:
        if request.method == "GET":
            body = (
                "<h1>Sign out?</h1><form method=post><button type=submit>Sign out</button></form>"
            )
            return page("Sign out", body)
        response = RedirectResponse(desk.link("/"), status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=secure)
        return response

    return [
        Route(
            "/owner/signin",
            bounded(
                signin,
                limit=MAX_FORM_BYTES,
                message=TOO_LONG,
                refusal=_form(desk, TOO_LONG, 413),  # the form again, not JSON, for a browser
            ),
            methods=["GET", "POST"],
        ),
        Route("/owner/signout", signout, methods=["GET", "POST"]),
    ]


def _form(desk: Desk, error: str = "", status: int = 200) -> Response:
    """The owner password form (labelled for screen readers and password managers)."""
    e = html.escape
    note = f"<p role=alert class=error>{e(error)}</p>" if error else ""
    body = (
        f"<h1>Owner sign-in</h1>{note}"
        "<form method=post action='/owner/signin'>"
        "<label for=password>Password</label> "
        "<input id=password name=password type=password autocomplete=current-password "
        "required autofocus> <button type=submit>Sign in</button></form>"
        f"<p><a href='{e(desk.link('/'))}'>Back to {e(desk.brand)}</a></p>"
    )
    return page(f"Owner sign-in · {desk.brand}", body, status=status)
