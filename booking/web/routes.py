"""Every HTTP route the server (``st.App``) serves beside the Streamlit pages.

The factory owns the route table; each part brings its own routes: the JSON API (mounted
at /api), the webhooks, the follow-up opt-out, and the sandboxes' pages when they are on.
Tests mount the same routes in a plain Starlette app.
"""

from __future__ import annotations

import html
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route

from booking.calendly.sandbox.pages import sandbox_routes
from booking.desk import Desk
from booking.html_page import page
from booking.web.api import DELIVERY_TOO_LARGE, MAX_WEBHOOK_BYTES, answer, create_api
from booking.web.guards import BodyLimit, SecurityHeaders, bounded
from booking.web.owner import owner_routes

MAX_PAGE_FORM_BYTES = 64 * 1024  # a sandbox page's form: a booking's answers, a test card
FORM_TOO_LARGE = "That form was larger than any booking needs."


def create_routes(desk: Desk) -> list:
    """The HTTP routes served next to the Streamlit pages."""

    async def healthz(_: Request) -> JSONResponse:
        report = desk.owner.health()
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    async def stripe_webhook(request: Request) -> JSONResponse:
        body = await request.body()  # bounded: served behind BodyLimit below
        receipt = await run_in_threadpool(
            desk.inbox.stripe, body, request.headers.get("stripe-signature")
        )
        return answer(receipt)

    async def stop_followups(request: Request) -> HTMLResponse:
        """The opt-out link in follow-up emails. GET asks (link scanners only read pages),
        POST does it (the button, or a mail client's one-click unsubscribe)."""
        attempt = request.query_params.get("attempt", "")
        if request.method == "GET":
            return _notice(
                desk,
                "Stop reminders?",
                "We will not email you again about this unfinished booking.",
                form=f"?attempt={quote(attempt)}",
            )
        if await run_in_threadpool(desk.followups.stop, attempt):
            return _notice(desk, "Reminders stopped", "You will not hear from us about it again.")
        return _notice(desk, "Link not recognised", "This link is not one of ours.", status=404)

    api = create_api(desk)
    webhook = next(r for r in api.routes if getattr(r, "path", "") == "/calendly/webhook")
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/api/calendly/webhook", delivery(webhook.endpoint), methods=["POST"]),
        Route("/api/stripe/webhook", delivery(stripe_webhook), methods=["POST"]),
        Route("/followups/stop", stop_followups, methods=["GET", "POST"]),
        *owner_routes(desk),
        Mount("/api", app=BodyLimit(api, limit=desk.settings.max_body_bytes)),
    ]
    pages = []
    if desk.checkout_sandbox is not None:
        pages += desk.checkout_sandbox.routes()
    if desk.sandbox is not None:
        pages += sandbox_routes(desk.sandbox)
    for route in pages:  # the sandboxes' own forms are bounded like every body we read
        route.app = BodyLimit(route.app, limit=MAX_PAGE_FORM_BYTES, message=FORM_TOO_LARGE)
    return routes + pages


def delivery(endpoint) -> BodyLimit:
    """A webhook endpoint, refusing bodies over 256 KiB before they are read."""
    return bounded(endpoint, limit=MAX_WEBHOOK_BYTES, message=DELIVERY_TOO_LARGE)


def create_middleware() -> list[Middleware]:
    """What wraps every page and route the server serves (app.py hands it to st.App)."""
    return [Middleware(SecurityHeaders)]


def _notice(
    desk: Desk, title: str, text: str, *, form: str | None = None, status: int = 200
) -> HTMLResponse:
    """A short server-rendered notice (the follow-up opt-out)."""
    e = html.escape
    button = (
        f"<form method=post action='{e(form)}'><button type=submit>Stop reminders</button></form>"
        if form
        else f"<p><a href='{e(desk.link('/'))}'>Back to {e(desk.brand)}</a></p>"
    )
    return page(title, f"<h1>{e(title)}</h1><p>{e(text)}</p>{button}", status=status)
