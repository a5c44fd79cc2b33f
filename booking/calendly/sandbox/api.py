"""The sandbox's API: what api.calendly.com answers, as a route table over ``SandboxState``.

In the spirit of httpx's ``MockTransport``, the fake is a handler behind a one-method
transport: ``ROUTES`` maps a method and a path pattern to a small function of one ``Call``,
``SandboxApi.handle`` checks the token and picks the route, and ``SandboxAdapter`` (a
requests transport adapter mounted beneath the real ``CalendlyClient``) turns the ``Answer``
into a response, so demo mode runs the client's URL building, pagination and error mapping.
``POST /invitees`` (the Scheduling API) reads its body with ``scheduling.NewInvitee``, whose
refusals it answers in Calendly's ``details`` error shape.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from pydantic import ValidationError
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from booking.calendly.client import WINDOW, calendly_time, parse_calendly_time
from booking.calendly.sandbox.answers import Answer, error, invalid, not_found, refuse
from booking.calendly.sandbox.host import EVENT_TYPES, USER_UUID, event_type
from booking.calendly.sandbox.limits import RequestLimit, SchedulingPlan, has_scope
from booking.calendly.sandbox.scheduling import (
    LOCATION_MESSAGE,
    NewInvitee,
    answer_refusals,
    calendly_details,
    location_refusal,
)
from booking.calendly.sandbox.state import SandboxState, SlotGone

INTERNAL = (
    "The server encountered an unexpected condition that prevented it from fulfilling the request."
)
SCHEDULING_API_403 = (
    "The Scheduling API is only available on paid Calendly plans. "
    "Upgrade your plan to access this feature."
)


@dataclass(frozen=True)
class Call:
    """One API request as a route sees it."""

    state: SandboxState
    plan: SchedulingPlan
    params: dict[str, str]  # from the route pattern's {names}
    query: dict[str, str]
    payload: dict


def paginate(call: Call, path: str, items: list[dict]) -> Answer:
    """A page of ``items`` with Calendly's pagination block (count, page_token)."""
    try:
        count = int(call.query.get("count", 20))
        offset = int(call.query.get("page_token") or 0)
    except ValueError:
        return invalid()
    if not 1 <= count <= 100:
        return refuse("count", "must be between 1 and 100")
    page = items[offset : offset + count]

    def link(token: int | None) -> tuple[str | None, str | None]:
        """The URL and token of another page, or (None, None) when there is none."""
        if token is None:
            return None, None
        q = {**call.query, "page_token": str(token)}
        return f"{call.state.host.api_url}{path}?{urlencode(q)}", str(token)

    next_page, next_token = link(offset + count if offset + count < len(items) else None)
    prev_page, prev_token = link(max(0, offset - count) if offset > 0 else None)
    pagination = {
        "count": len(page),
        "next_page": next_page,
        "previous_page": prev_page,
        "next_page_token": next_token,
        "previous_page_token": prev_token,
    }
    return Answer(200, {"collection": page, "pagination": pagination})


# -- users and event types -------------------------------------------------------------------
def get_user(call: Call) -> Answer:
    """GET /users/{uuid}: only the host exists (``me`` included)."""
    if call.params["uuid"] not in ("me", USER_UUID):
        return not_found()
    return Answer(200, {"resource": call.state.host.user()})


def list_event_types(call: Call) -> Answer:
    """GET /event_types: the host's, refused for another user."""
    host, query = call.state.host, call.query
    if query.get("user") not in (host.user_uri, None) and query.get("organization") is None:
        return error(
            403, "Permission Denied", "You do not have permission to access this resource."
        )
    items = [host.event_type_resource(et, i) for i, et in enumerate(EVENT_TYPES)]
    return paginate(call, "/event_types", items)


def get_event_type(call: Call) -> Answer:
    """GET /event_types/{uuid}."""
    for i, et in enumerate(EVENT_TYPES):
        if et["uuid"] == call.params["uuid"]:
            return Answer(200, {"resource": call.state.host.event_type_resource(et, i)})
    return not_found()


def available_times(call: Call) -> Answer:
    """GET /event_type_available_times, with Calendly's limits on the range."""
    et = event_type(call.query.get("event_type", ""))
    if et is None:
        return refuse("event_type", "is invalid")
    try:
        start = parse_calendly_time(call.query["start_time"])
        end = parse_calendly_time(call.query["end_time"])
    except (KeyError, ValueError):
        return refuse("start_time", "is required")
    if start < call.state.clock():
        return refuse("start_time", "Start time must be in the future")
    if end <= start:
        return refuse("end_time", "must be after start_time")
    if end - start > WINDOW:
        return refuse("end_time", "date range can be no greater than 31 days")
    times = [
        {
            "status": "available",
            "invitees_remaining": 1,
            "start_time": calendly_time(s.start),
            "scheduling_url": call.state.host.slot_url(et, s.start),
        }
        for s in call.state.free_slots(et, start, end)
    ]
    return Answer(200, {"collection": times})


def create_link(call: Call) -> Answer:
    """POST /scheduling_links: single-use links to one of the host's event types."""
    payload = call.payload
    et = event_type(str(payload.get("owner", "")))
    single_use = payload.get("max_event_count") == 1
    if not single_use or payload.get("owner_type") != "EventType" or et is None:
        return refuse("owner", "must be an event type you own")
    host = call.state.host
    resource = {
        "booking_url": host.link_url(call.state.create_link(et), et),
        "owner": host.event_type_uri(et["uuid"]),
        "owner_type": "EventType",
    }
    return Answer(201, {"resource": resource})


# -- scheduled events and invitees -------------------------------------------------------------
def list_events(call: Call) -> Answer:
    """GET /scheduled_events, filtered by status and start."""
    q = call.query
    rows = call.state.events(q.get("status"), q.get("min_start_time"), q.get("max_start_time"))
    items = [call.state.host.event_resource(r) for r in rows]
    return paginate(call, "/scheduled_events", items)


def get_event(call: Call) -> Answer:
    """GET /scheduled_events/{uuid}."""
    row = call.state.event(call.params["uuid"])
    if row is None:
        return not_found()
    return Answer(200, {"resource": call.state.host.event_resource(row)})


def list_invitees(call: Call) -> Answer:
    """GET /scheduled_events/{uuid}/invitees."""
    uuid = call.params["uuid"]
    event = call.state.event(uuid)
    if event is None:
        return not_found()
    host = call.state.host
    items = [host.invitee_resource(r, event, embed=False) for r in call.state.invitees(uuid)]
    return paginate(call, f"/scheduled_events/{uuid}/invitees", items)


# -- the Scheduling API: POST /invitees --------------------------------------------------------
def create_invitee(call: Call) -> Answer:
    """POST /invitees: book directly, as Calendly's "Create Event Invitee" does."""
    if not call.plan.enabled:
        return error(403, "Permission Denied", SCHEDULING_API_403)
    limited = call.plan.spend()
    if limited is not None:
        return limited
    et = event_type(str(call.payload.get("event_type") or ""))
    if et is None:
        return not_found()
    try:
        asked = NewInvitee.model_validate(call.payload)
    except ValidationError as exc:
        return invalid(calendly_details(exc))
    location = asked.location
    if (details := location_refusal(et, location)) is not None:
        message = (
            LOCATION_MESSAGE if details[0].get("code") else "The supplied parameters are invalid."
        )
        return error(400, "Invalid Argument", message, details)
    if details := answer_refusals(et, asked.questions_and_answers):
        return invalid(details)
    try:
        booked = call.state.book(
            et,
            asked.start_time,
            name=asked.invitee.name,
            email=asked.invitee.email,
            answers=asked.questions_and_answers,
            location=location,
            timezone=asked.invitee.timezone,
            tracking=asked.tracking.model_dump() if asked.tracking else {},
        )
    except SlotGone:
        filled = {"message": "That start time has been filled", "code": "already_filled"}
        return invalid([{"parameter": "event.start_time", **filled}])
    if call.plan.fail_after_booking:  # Calendly booked it, then its answer was lost
        call.plan.fail_after_booking -= 1
        return error(500, "Internal Server Error", INTERNAL)
    resource = call.state.host.invitee_resource(booked["invitee"], booked["event"], embed=False)
    return Answer(201, {"resource": resource}, call.plan.headers())


# -- webhook subscriptions and no-shows --------------------------------------------------------
def _scope_refusal(call: Call, source: dict) -> Answer | None:
    """Calendly requires ``organization`` and ``scope`` (and ``user`` for user scope)."""
    host = call.state.host
    scope = source.get("scope")
    missing = [k for k in ("organization", "scope") if not source.get(k)]
    if scope == "user" and not source.get("user"):
        missing.append("user")
    if missing:
        return invalid([{"parameter": k, "message": "is required"} for k in missing])
    if scope not in ("user", "organization", "group"):
        return refuse("scope", "is invalid")
    if source["organization"] != host.org_uri or source.get("user", host.user_uri) not in (
        host.user_uri,
        None,
    ):
        return error(
            403, "Permission Denied", "You do not have permission to access this resource."
        )
    return None


def list_webhooks(call: Call) -> Answer:
    """GET /webhook_subscriptions (``organization`` and ``scope`` required)."""
    if (refused := _scope_refusal(call, call.query)) is not None:
        return refused
    rows = call.state.outbox.subscriptions()
    items = [call.state.host.webhook_resource(r) for r in rows]
    return paginate(call, "/webhook_subscriptions", items)


def create_webhook(call: Call) -> Answer:
    """POST /webhook_subscriptions: one subscription per callback URL."""
    payload = call.payload
    url, events, scope = payload.get("url"), payload.get("events"), payload.get("scope")
    if not url or not events:
        return invalid([{"parameter": "url" if not url else "events", "message": "is required"}])
    if (refused := _scope_refusal(call, payload)) is not None:
        return refused
    if call.state.outbox.subscribed(url):
        return error(409, "Already Exists", "Hook with this url already exists")
    row = call.state.outbox.subscribe(url, events, scope, payload.get("signing_key"))
    return Answer(201, {"resource": call.state.host.webhook_resource(row)})


def delete_webhook(call: Call) -> Answer:
    """DELETE /webhook_subscriptions/{uuid}."""
    if not call.state.outbox.unsubscribe(call.params["uuid"]):
        return not_found()
    return Answer(204, None)


def mark_no_show(call: Call) -> Answer:
    """POST /invitee_no_shows: mark an invitee who did not turn up."""
    uri = str(call.payload.get("invitee", ""))
    inv = call.state.invitee(uri.rstrip("/").rsplit("/", 1)[-1])
    if inv is None:
        return refuse("invitee", "is invalid")
    no_show = call.state.mark_no_show(inv)
    return Answer(201, {"resource": {**no_show, "invitee": call.state.host.invitee_uri(inv)}})


def unmark_no_show(call: Call) -> Answer:
    """DELETE /invitee_no_shows/{uuid}: the mark's own uuid, as Calendly gives it."""
    if not call.state.unmark_no_show(call.params["uuid"]):
        return not_found()
    return Answer(204, None)


Route = Callable[[Call], Answer]
# Each route and the token scope Calendly asks for it (``:write`` implies ``:read``).
ROUTES: dict[tuple[str, str], tuple[Route, str]] = {
    ("GET", "users/{uuid}"): (get_user, "users:read"),
    ("GET", "event_types"): (list_event_types, "event_types:read"),
    ("GET", "event_types/{uuid}"): (get_event_type, "event_types:read"),
    ("GET", "event_type_available_times"): (available_times, "availability:read"),
    ("POST", "scheduling_links"): (create_link, "scheduling_links:write"),
    ("POST", "invitees"): (create_invitee, "scheduled_events:write"),
    ("GET", "scheduled_events"): (list_events, "scheduled_events:read"),
    ("GET", "scheduled_events/{uuid}"): (get_event, "scheduled_events:read"),
    ("GET", "scheduled_events/{uuid}/invitees"): (list_invitees, "scheduled_events:read"),
    ("GET", "webhook_subscriptions"): (list_webhooks, "webhooks:read"),
    ("POST", "webhook_subscriptions"): (create_webhook, "webhooks:write"),
    ("DELETE", "webhook_subscriptions/{uuid}"): (delete_webhook, "webhooks:write"),
    ("POST", "invitee_no_shows"): (mark_no_show, "scheduled_events:write"),
    ("DELETE", "invitee_no_shows/{uuid}"): (unmark_no_show, "scheduled_events:write"),
}


def match(pattern: str, segments: list[str]) -> dict[str, str] | None:
    """The pattern's {names} bound to the path's segments, or None when it does not fit."""
    parts = pattern.split("/")
    if len(parts) != len(segments):
        return None
    params = {}
    for part, segment in zip(parts, segments, strict=True):
        if part.startswith("{"):
            params[part.strip("{}")] = segment
        elif part != segment:
            return None
    return params


class SandboxApi:
    """Answers requests as api.calendly.com would: token check, routing, counting."""

    def __init__(self, state: SandboxState, *, latency_ms: int = 0) -> None:
        self.state = state
        self.latency_ms = latency_ms
        self.plan = SchedulingPlan()
        self.limit = RequestLimit()
        self.scopes: frozenset[str] | None = None  # the token's scopes (None: all)
        self.calls: Counter[str] = Counter()  # requests served, by first path segment

    def handle(self, method: str, url: str, body: bytes | None, headers) -> Answer:
        """Answer one API request as api.calendly.com would."""
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        auth = headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or len(auth) <= len("Bearer "):
            return error(401, "Unauthenticated", "The access token is invalid")
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            payload = None
        if not isinstance(payload, dict):  # unreadable, or JSON but not an object
            return invalid()
        segments = parts.path.rstrip("/").strip("/").split("/")
        self.calls[segments[0]] += 1
        allowed, headers = self.limit.take(self.state.clock())
        if not allowed:
            body = {"title": "Too Many Requests", "message": "Rate limit exceeded."}
            return Answer(429, body, headers)
        answer = self._route(method, segments, query, payload)
        return Answer(answer.status, answer.body, {**headers, **answer.headers})

    def _route(self, method: str, segments: list[str], query: dict, payload: dict) -> Answer:
        """The route's answer, or 403 when the token lacks its scope, or 404."""
        for (verb, pattern), (route, scope) in ROUTES.items():
            params = match(pattern, segments) if verb == method else None
            if params is not None:
                if not has_scope(self.scopes, scope):
                    return error(
                        403,
                        "Permission Denied",
                        "You do not have permission to access this resource.",
                    )
                return route(Call(self.state, self.plan, params, query, payload))
        return not_found()


class SandboxAdapter(BaseAdapter):
    """A requests transport that answers from the sandbox instead of the network."""

    def __init__(self, api: SandboxApi) -> None:
        super().__init__()
        self.api = api

    def send(self, request, **kwargs) -> requests.Response:
        """Answer ``request`` from the sandbox, as a response from the network would."""
        body = request.body.encode() if isinstance(request.body, str) else request.body
        answer = self.api.handle(request.method, request.url, body, request.headers)
        resp = requests.Response()
        resp.status_code = answer.status
        resp._content = b"" if answer.body is None else json.dumps(answer.body).encode()
        resp.headers = CaseInsensitiveDict(
            {"Content-Type": "application/json; charset=utf-8", **answer.headers}
        )
        resp.encoding = "utf-8"
        resp.url = request.url
        resp.request = request
        resp.reason = {200: "OK", 201: "Created", 204: "No Content"}.get(answer.status, "Error")
        if answer.status == 204:
            resp._content = b""
        return resp

    def close(self) -> None:
        """Nothing to release: no connections are opened."""
