"""An offline stand-in for Calendly: the same JSON shapes, plugged in beneath the client.

``CalendlySandbox`` is a small facade over the parts, each with one job:

- ``host``     the fixed host (user, organisation, event types, question, weekly hours) and
               the JSON shapes of Calendly's resources;
- ``state``    its SQLite tables (``sandbox_*`` in the desk's file) and every state change;
- ``api``      the route table answering as api.calendly.com, and ``SandboxAdapter``, the
               requests transport mounted beneath the real client, so demo mode runs the
               client's URL building, pagination and error mapping;
- ``scheduling`` the body of ``POST /invitees`` (the Scheduling API) as a pydantic model;
- ``delivery`` the signed webhook sender and its background ``DeliveryWorker``;
- ``pages``    the public booking, cancel and reschedule pages standing in for calendly.com.

Availability is computed with the desk's own slot maths over fixed weekly hours.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import requests

from booking.calendly.client import DEFAULT_API_URL
from booking.calendly.sandbox import delivery
from booking.calendly.sandbox.api import SandboxAdapter, SandboxApi
from booking.calendly.sandbox.delivery import DeliveryWorker
from booking.calendly.sandbox.host import (
    MARKET,
    MARKETS,
    QUESTION,
    USER_NAME,
    WEBHOOK_EVENTS,
    Host,
    event_type,
)
from booking.calendly.sandbox.pages import sandbox_routes
from booking.calendly.sandbox.state import SandboxError, SandboxState, SlotGone
from booking.domain.slots import Interval
from booking.store import Store

__all__ = [
    "MARKET",
    "MARKETS",
    "QUESTION",
    "USER_NAME",
    "WEBHOOK_EVENTS",
    "CalendlySandbox",
    "DeliveryWorker",
    "SandboxError",
    "SlotGone",
    "sandbox_routes",
]


class CalendlySandbox:
    """The sandbox as the desk, its pages and the tests use it: one object over the parts."""

    def __init__(
        self,
        store: Store,
        *,
        public_url: str,
        api_url: str = DEFAULT_API_URL,
        latency_ms: int = 0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        link_expiry_days: int = 90,
    ) -> None:
        self.store = store
        self.host = Host(api_url=api_url.rstrip("/"), public_url=public_url.rstrip("/"))
        self.clock = clock
        self.state = SandboxState(
            store, self.host, clock=clock, link_expiry=timedelta(days=link_expiry_days)
        )
        self.api = SandboxApi(self.state, latency_ms=latency_ms)
        # The state's own methods, as the pages and tests call them.
        self.free_slots = self.state.free_slots
        self.link = self.state.link
        self.active_invitee = self.state.active_invitee
        self.cancel = self.state.cancel
        self.reschedule = self.state.reschedule

    # -- where it lives ----------------------------------------------------------------------
    @property
    def public_url(self) -> str:
        """Our own base URL, where the sandbox's pages are served."""
        return self.host.public_url

    @property
    def api_url(self) -> str:
        """The API base URL the adapter is mounted on."""
        return self.host.api_url

    @property
    def user_uri(self) -> str:
        """The host user's URI, as ``GET /users/me`` gives it."""
        return self.host.user_uri

    def event_type_uri(self, uuid: str) -> str:
        """An event type's API URI."""
        return self.host.event_type_uri(uuid)

    @staticmethod
    def _event_type(uri_or_uuid: str) -> dict | None:
        """An event type by URI or uuid (tests pick theirs with it)."""
        return event_type(uri_or_uuid)

    # -- the API -----------------------------------------------------------------------------
    def adapter(self) -> SandboxAdapter:
        """A requests transport adapter answering from the sandbox, to mount on a session."""
        return SandboxAdapter(self.api)

    @property
    def calls(self) -> Counter[str]:
        """API requests served, by first path segment (tests and benchmarks count them)."""
        return self.api.calls

    @property
    def scheduling_api(self) -> bool:
        """Whether ``POST /invitees`` is allowed (off: 403, as without a paid plan)."""
        return self.api.plan.enabled

    @scheduling_api.setter
    def scheduling_api(self, enabled: bool) -> None:
        self.api.plan.enabled = enabled

    def limit_invitees(self, calls_left: int, *, reset_seconds: int = 60) -> None:
        """Allow ``calls_left`` more ``POST /invitees`` calls, then answer 429."""
        self.api.plan.calls_left = calls_left
        self.api.plan.reset_seconds = reset_seconds

    def limit_requests(self, per_minute: int | None) -> None:
        """Calendly's per-user request limit (Free: 50 a minute); None: unlimited."""
        self.api.limit.per_minute = per_minute

    def lose_booking_answers(self, times: int = 1) -> None:
        """Book the next ``times`` ``POST /invitees`` calls, then answer 500 as if the
        answer was lost on the way back."""
        self.api.plan.fail_after_booking = times

    @property
    def scopes(self) -> frozenset[str] | None:
        """The token's scopes (None: all), as a scoped personal access token has them."""
        return self.api.scopes

    @scopes.setter
    def scopes(self, scopes) -> None:
        self.api.scopes = None if scopes is None else frozenset(scopes)

    # -- the booking pages' actions ------------------------------------------------------------
    def schedule(self, code: str, *, start: datetime, **invitee) -> dict:
        """Book as the booking page does (``invitee``: name, email, timezone, tracking and
        answer or answers and location, as ``SandboxState.book`` takes them), spending the
        single-use link."""
        link, et = self.state.link(code)
        if not invitee["name"].strip() or "@" not in invitee["email"]:
            raise SandboxError("Please enter your name and a valid email address.")
        return {**self.state.book(et, start, link_code=code, **invitee), "link": link}

    def day_slots(self, et: dict, day: date, zone: ZoneInfo) -> list[Interval]:
        """The free times on one day in ``zone``, from now on."""
        start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
        return self.free_slots(et, max(start, self.clock()), start + timedelta(days=1))

    # -- webhooks ----------------------------------------------------------------------------
    @property
    def pending(self) -> threading.Event:
        """Set when a delivery is queued, to wake the ``DeliveryWorker``."""
        return self.state.outbox.pending

    def signing_keys(self) -> list[str]:
        """The keys our webhook route must accept from the sandbox."""
        return self.state.outbox.signing_keys()

    def ensure_subscription(self, url: str, signing_key: str | None = None) -> None:
        """Subscribe ``url`` to the invitee events once (the demo's own webhook route)."""
        outbox = self.state.outbox
        if not outbox.subscribed(url):
            outbox.subscribe(url, list(WEBHOOK_EVENTS), "user", signing_key)

    def deliver_due(self, session: requests.Session | None = None) -> int:
        """POST every due delivery, signed afresh; returns how many landed."""
        return delivery.deliver_due(self.state.outbox, self.clock, session)

    def next_due_in(self) -> float | None:
        """Seconds until the next delivery is due, or None when none waits."""
        return delivery.next_due_in(self.state.outbox, self.clock)
