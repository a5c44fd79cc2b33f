"""The token scopes the desk needs from Calendly, per endpoint and per capability.

Since March 2026 a personal access token carries the scopes chosen when it was made; a
request outside them answers 403. ``scope_for`` names the scope of a request (the client
logs it with a 403), and ``CAPABILITIES`` lists what each part of the desk needs, which
``booking check --live`` probes one by one.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

# The token scope each endpoint needs (Calendly's "Required scopes"; :write implies :read).
SCOPES = (
    ("GET", "/users/", "users:read"),
    ("GET", "/event_types", "event_types:read"),
    ("GET", "/event_type_available_times", "availability:read"),
    ("POST", "/scheduling_links", "scheduling_links:write"),
    ("POST", "/invitees", "scheduled_events:write"),
    ("POST", "/invitee_no_shows", "scheduled_events:write"),
    ("GET", "/scheduled_events", "scheduled_events:read"),
    ("GET", "/webhook_subscriptions", "webhooks:read"),
    ("POST", "/webhook_subscriptions", "webhooks:write"),
    ("DELETE", "/webhook_subscriptions", "webhooks:write"),
)


def scope_for(method: str, url: str) -> str | None:
    """The scope a request needs, from its method and path."""
    path = urlsplit(url).path
    return next((s for m, p, s in SCOPES if m == method and path.startswith(p)), None)


# What each part of the desk needs: (capability, scopes, what it is for).
CAPABILITIES = (
    (
        "availability",
        ("users:read", "event_types:read", "availability:read"),
        "meeting types and free times",
    ),
    ("links", ("scheduling_links:write",), "single-use booking links (redirect and embed)"),
    ("direct booking", ("scheduled_events:write",), "booking through the Scheduling API"),
    ("webhooks", ("webhooks:write",), "`booking webhooks register` and the subscription"),
    ("reconciliation", ("scheduled_events:read",), "filling in missed webhooks"),
)
ALL_SCOPES = (
    "users:read",
    "event_types:read",
    "availability:read",
    "scheduling_links:write",
    "scheduled_events:read",
    "scheduled_events:write",
    "webhooks:write",
)


def _verdict(status: int, scope: str, *, created: bool = False) -> tuple[bool, str]:
    """What an answer's status says about the token's right to one scope."""
    if status in (200, 201, 204) or (status in (400, 404, 409) and not created):
        return True, "ok"
    if status == 401:
        return False, "the token is invalid or expired: create a new one and set CALENDLY_TOKEN"
    if status == 403:
        return False, f"the token lacks {scope}: create a token with it (see README)"
    if status == 429:
        return False, "rate limited right now: try again in a minute"
    if status == 0:
        return False, "Calendly did not answer: check CALENDLY_API_URL and the network"
    return False, f"Calendly answered HTTP {status}"


def check_token(client) -> list[tuple[str, bool, str]]:
    """Ask Calendly, endpoint by endpoint (read-only where it can be), what the token may
    do; one ``(capability, ok, what to fix)`` per capability. Writes are probed with a body
    Calendly must refuse (400) once the scope allows it, so nothing is booked; the one
    exception is a single-use link, which expires unused."""
    from booking.calendly.client import _field, calendly_time  # (the client imports this)

    user_status, answer = client.probe("GET", "/users/me")
    if user_status != 200:
        _, why = _verdict(user_status, "users:read")
        return [(name, False, why) for name, _, _ in CAPABILITIES]
    me = _field(answer, "resource")
    user, org = me["uri"], me["current_organization"]
    found: dict[str, tuple[bool, str]] = {}

    types_status, listed = client.probe(
        "GET", "/event_types", params={"user": user, "active": "true", "count": 1}
    )
    found["availability"] = _verdict(types_status, "event_types:read")
    event_type = None
    if types_status == 200:
        types = listed.get("collection") or []
        event_type = types[0]["uri"] if types else None
        if event_type is None:
            found["availability"] = (False, "the account has no active event types")
    if event_type:
        start = client.clock() + timedelta(hours=1)
        status, _ = client.probe(
            "GET",
            "/event_type_available_times",
            params={
                "event_type": event_type,
                "start_time": calendly_time(start),
                "end_time": calendly_time(start + timedelta(days=1)),
            },
        )
        found["availability"] = _verdict(status, "availability:read")
        body = {"max_event_count": 1, "owner": event_type, "owner_type": "EventType"}
        status, _ = client.probe("POST", "/scheduling_links", body=body)
        found["links"] = _verdict(status, "scheduling_links:write", created=True)
        status, _ = client.probe("POST", "/invitees", body={"event_type": event_type})
        found["direct booking"] = _verdict(status, "scheduled_events:write")
        if status == 403:
            found["direct booking"] = (
                False,
                "the token lacks scheduled_events:write (or the plan the Scheduling API): "
                "direct mode falls back to links until it is fixed",
            )
    else:
        found.setdefault("links", (False, "needs an event type to try"))
        found.setdefault("direct booking", (False, "needs an event type to try"))
    status, _ = client.probe("POST", "/webhook_subscriptions", body={"organization": org})
    found["webhooks"] = _verdict(status, "webhooks:write")
    status, _ = client.probe(
        "GET", "/scheduled_events", params={"user": user, "organization": org, "count": 1}
    )
    found["reconciliation"] = _verdict(status, "scheduled_events:read")
    return [(name, *found[name]) for name, _, _ in CAPABILITIES]
