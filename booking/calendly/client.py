"""Calendly API v2 client (requests), with bounded retries and person-sized errors.

The transport is a ``requests.Session`` passed in: the real one talks to api.calendly.com,
the sandbox mounts its adapter beneath the same client, and tests use ``responses``.
Retries: GETs retry 429 (honouring ``Retry-After``) and 5xx/connection failures with
back-off; POSTs retry only connection failures and 5xx, except ``POST /invitees`` (a booking,
not idempotent), which retries only a connection that was never made. The token never
appears in logs, reprs or error messages.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from tenacity import Retrying, retry_if_exception, stop_after_attempt
from urllib3.exceptions import NewConnectionError

from booking.calendly.links import UTM_SOURCE
from booking.calendly.scopes import scope_for
from booking.errors import (
    CalendlyAuthError,
    CalendlyError,
    CalendlyRateLimited,
    CalendlyRejected,
    CalendlyUnavailable,
    SlotTaken,
)

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.calendly.com"
WINDOW = timedelta(days=31)  # longest range event_type_available_times accepts per call
UNAVAILABLE = "Calendly is not answering right now — please try again in a minute."
BUSY = "Calendly is busy right now — please try again in a minute."
AUTH = (
    "Booking through Calendly is unavailable right now: the desk's Calendly connection "
    "needs attention. Please try again later or choose another analyst."
)

UNSURE = (
    "Calendly did not answer in time, so the booking may or may not have been made — "
    "please check your email for a confirmation before trying again."
)
TAKEN = "That time was just taken on Calendly; please pick another."
NO_SCHEDULING_API = (
    "Booking directly through Calendly is not available for this account; "
    "please book through the Calendly page instead."
)
TRACKING_KEYS = (  # Calendly's tracking fields, as in webhooks and scheduling links
    "utm_campaign",
    "utm_source",
    "utm_medium",
    "utm_content",
    "utm_term",
    "salesforce_uuid",
)


class SchedulingApiUnavailable(CalendlyRejected):
    """403/404 from ``POST /invitees``: the plan, scope or feature does not allow API booking.

    The caller can fall back to a single-use link (the booking page still works)."""

    code = "scheduling_api_unavailable"


def calendly_time(when: datetime) -> str:
    """Calendly's timestamp form: UTC with microseconds and a Z."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_calendly_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class CalendlyClient:
    """The parts of Calendly's API the desk uses."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_API_URL,
        session: requests.Session | None = None,
        timeout: float = 10.0,
        attempts: int = 3,
        max_retry_after: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout
        self.attempts = attempts
        self.max_retry_after = max_retry_after
        self.clock = clock
        self.sleep = sleep
        self.rate_limit: dict[str, float] = {}  # the last X-RateLimit-* Calendly sent
        self.requests_made = 0  # every request sent, retries included

    def __repr__(self) -> str:
        return f"CalendlyClient(base_url={self.base_url!r}, token='***')"

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    # -- transport -------------------------------------------------------------------
    def _send(self, method: str, url: str, params, body) -> requests.Response:
        """One HTTP request with the token; requests' own exceptions pass through."""
        return self.session.request(
            method,
            url,
            params=params,
            json=body,
            timeout=self.timeout,
            headers={"Authorization": f"Bearer {self._token}", "Accept": "application/json"},
        )

    def _once(
        self,
        method: str,
        url: str,
        params,
        body,
        *,
        retry_429: bool,
        idempotent: bool = True,
        on_error: Callable[[requests.Response, str], None] | None = None,
    ) -> Any:
        where = f"{method} {url.split('?')[0]}"
        self.requests_made += 1
        try:
            resp = self._send(method, url, params, body)
        except requests.RequestException as exc:  # timeouts and connection failures
            log.warning("Calendly %s failed: %s", where, type(exc).__name__)
            if idempotent:
                raise _retryable(CalendlyUnavailable(UNAVAILABLE)) from None
            if _never_sent(exc):  # safe to try again: Calendly cannot have seen it
                raise _retryable(CalendlyUnavailable(UNAVAILABLE)) from None
            raise CalendlyUnavailable(UNSURE) from None
        self._note_rate_limit(resp)
        if resp.status_code == 204:
            return {}
        if resp.ok:
            try:
                return resp.json()
            except ValueError:
                log.warning("Calendly %s answered %s with unreadable JSON", where, resp.status_code)
                raise CalendlyUnavailable(UNAVAILABLE) from None
        detail = self._scrub(_error_text(resp))
        log.warning("Calendly %s answered %s: %s", where, resp.status_code, detail)
        if on_error is not None:
            on_error(resp, self._scrub(_details_text(resp)) or detail)
        if resp.status_code == 403:
            log.warning(
                "Calendly refused %s (403): the token may lack the scope %s, or the plan the "
                "feature; `booking check --live` shows what to fix",
                where,
                scope_for(method, url) or "for it",
            )
        if resp.status_code in (401, 403):
            raise CalendlyAuthError(AUTH)
        if resp.status_code == 429:
            wait = _retry_after(resp)
            exc = CalendlyRateLimited(BUSY, retry_after=wait)
            if retry_429 and (wait is None or wait <= self.max_retry_after):
                raise _retryable(exc)
            raise exc
        if resp.status_code >= 500:
            exc = CalendlyUnavailable(UNAVAILABLE)
            raise _retryable(exc) if idempotent else exc
        raise CalendlyRejected(
            f"Calendly could not do that: {detail}", http_status=resp.status_code
        )

    def _request(
        self,
        method: str,
        path: str,
        *,
        params=None,
        body=None,
        idempotent: bool = True,
        on_error: Callable[[requests.Response, str], None] | None = None,
    ) -> Any:
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=_wait,
            retry=retry_if_exception(lambda e: getattr(e, "retryable", False)),
            sleep=self.sleep,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return self._once(
                    method,
                    url,
                    params,
                    body,
                    retry_429=method == "GET",
                    idempotent=idempotent,
                    on_error=on_error,
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def _get(self, path: str, params=None) -> Any:
        return self._request("GET", path, params=params)

    def _note_rate_limit(self, resp: requests.Response) -> None:
        """Keep the X-RateLimit-* headers (every Calendly answer carries them)."""
        for key in ("Limit", "Remaining", "Reset"):
            value = resp.headers.get(f"X-RateLimit-{key}")
            try:
                self.rate_limit[key.lower()] = float(value)
            except (TypeError, ValueError):
                continue
        self.rate_limit["at"] = self.clock().timestamp()

    def pages(self, path: str, params: dict, *, count: int = 100) -> Iterator[list[dict]]:
        """A list endpoint page by page (one request each), following ``next_page``."""
        url, query = path, {**params, "count": count}
        while url:
            page = self._get(url, query)
            yield _field(page, "collection")
            url, query = _field(page, "pagination").get("next_page"), None

    def _paginate(self, path: str, params: dict) -> list[dict]:
        return [item for page in self.pages(path, params) for item in page]

    def probe(self, method: str, path: str, *, params=None, body=None) -> tuple[int, dict]:
        """One request, not retried, for ``booking check --live``, which asks what the token
        may do: its HTTP status (0: no answer) and its JSON object (empty when none)."""
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        try:
            resp = self._send(method, url, params, body)
        except requests.RequestException:
            return 0, {}
        self._note_rate_limit(resp)
        try:
            data = resp.json()
        except ValueError:
            data = None
        return resp.status_code, data if isinstance(data, dict) else {}

    # -- endpoints -------------------------------------------------------------------
    def me(self) -> dict:
        return _field(self._get("/users/me"), "resource")

    def event_types(self, user_uri: str) -> list[dict]:
        """The user's active event types, every page of them."""
        return self._paginate("/event_types", {"user": user_uri, "active": "true"})

    def available_times(self, event_type_uri: str, start: datetime, end: datetime) -> list[dict]:
        """Free start times in [start, end), never asking for the past, in 31-day calls."""
        start = max(start, self.clock() + timedelta(minutes=1))
        seen: dict[str, dict] = {}
        while start < end:
            chunk_end = min(end, start + WINDOW)
            page = self._get(
                "/event_type_available_times",
                {
                    "event_type": event_type_uri,
                    "start_time": calendly_time(start),
                    "end_time": calendly_time(chunk_end),
                },
            )
            for slot in _field(page, "collection"):
                seen.setdefault(slot["start_time"], slot)
            start = chunk_end
        return sorted(seen.values(), key=lambda s: parse_calendly_time(s["start_time"]))

    def create_scheduling_link(self, event_type_uri: str) -> str:
        """A new single-use booking link for the event type."""
        resource = _field(
            self._request(
                "POST",
                "/scheduling_links",
                body={"max_event_count": 1, "owner": event_type_uri, "owner_type": "EventType"},
            ),
            "resource",
        )
        return _field(resource, "booking_url")

    def event_type(self, uri: str) -> dict:
        """One event type (``GET /event_types/{uuid}``): its locations and custom questions."""
        return _field(self._get(uri), "resource")

    def create_invitee(
        self,
        event_type: str,
        *,
        start: datetime,
        name: str,
        email: str,
        timezone: str,
        attempt_id: str = "",
        location: dict | None = None,
        questions_and_answers: list[dict] | None = None,
    ) -> dict:
        """Book ``start`` directly (Scheduling API, ``POST /invitees``); the new invitee.

        Not idempotent: only a connection that was never made is retried. ``location`` is
        Calendly's ``{"kind": ...}`` object the event type declares (None: left out, as a
        round-robin type wants), ``questions_and_answers`` every answer under its exact
        question text and position (``questions.BookingForm`` spells both).
        """
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        tracking: dict[str, str | None] = dict.fromkeys(TRACKING_KEYS)  # all six, or a 400
        tracking.update(utm_source=UTM_SOURCE, utm_content=attempt_id or None)
        body: dict[str, Any] = {
            "event_type": event_type,
            "start_time": calendly_time(start),
            "invitee": {"name": name, "email": email, "timezone": timezone},
            "tracking": tracking,
        }
        if location:
            body["location"] = location
        if questions_and_answers:
            body["questions_and_answers"] = questions_and_answers
        answer = self._request(
            "POST", "/invitees", body=body, idempotent=False, on_error=_invitee_error
        )
        return _field(answer, "resource")

    def scheduled_events(
        self,
        user_uri: str,
        *,
        min_start: datetime,
        max_start: datetime | None = None,
        status: str | None = None,
    ) -> list[dict]:
        """Scheduled events (active and canceled, or of ``status``) from ``min_start``."""
        return self._paginate(
            "/scheduled_events", events_query(user_uri, min_start, max_start, status)
        )

    def invitees(self, event_uri: str) -> list[dict]:
        """The invitees of one scheduled event."""
        return self._paginate(f"{event_uri.rstrip('/')}/invitees", {})

    def create_webhook(
        self, url: str, *, events: list[str], organization: str, user: str, signing_key: str
    ) -> dict:
        body = {
            "url": url,
            "events": events,
            "organization": organization,
            "user": user,
            "scope": "user",
            "signing_key": signing_key,
        }
        return _field(self._request("POST", "/webhook_subscriptions", body=body), "resource")

    def webhooks(self, *, organization: str, user: str) -> list[dict]:
        return self._paginate(
            "/webhook_subscriptions", {"organization": organization, "user": user, "scope": "user"}
        )

    def delete_webhook(self, uri: str) -> None:
        self._request("DELETE", uri)


def events_query(
    user_uri: str, min_start: datetime, max_start: datetime | None, status: str | None = None
) -> dict:
    """The query of ``GET /scheduled_events``, by start time."""
    params = {
        "user": user_uri,
        "min_start_time": calendly_time(min_start),
        "sort": "start_time:asc",
    }
    if max_start is not None:
        params["max_start_time"] = calendly_time(max_start)
    if status:
        params["status"] = status
    return params


def _retryable(exc: CalendlyError) -> CalendlyError:
    exc.retryable = True
    return exc


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the connection itself failed, so the request cannot have reached Calendly."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError) or isinstance(exc, requests.Timeout):
        return False
    reason = exc.args[0] if exc.args else None
    return isinstance(getattr(reason, "reason", reason), NewConnectionError)


def _invitee_error(resp: requests.Response, detail: str) -> None:
    """``POST /invitees`` refusals a person or the caller can act on; ``detail`` is
    Calendly's validation details (or title and message), token scrubbed."""
    status = resp.status_code
    if status in (403, 404):
        raise SchedulingApiUnavailable(NO_SCHEDULING_API, http_status=status)
    if status == 409 or (status in (400, 422) and _slot_filled(resp)):
        raise SlotTaken(TAKEN, field="startTime")
    if 400 <= status < 500 and status not in (401, 429):
        raise CalendlyRejected(
            f"Calendly refused the booking: {detail}"[:300],
            http_status=status,
        )


def _error_details(resp: requests.Response) -> list[dict]:
    try:
        details = resp.json().get("details") or []
    except (ValueError, AttributeError):
        return []
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def _slot_filled(resp: requests.Response) -> bool:
    """Calendly's "that start time has been filled" (400, code ``already_filled``)."""
    for d in _error_details(resp):
        if d.get("code") == "already_filled":
            return True
        text = str(d.get("message", "")).lower()
        if str(d.get("parameter", "")).endswith("start_time") and any(
            w in text for w in ("filled", "taken", "unavailable", "not available", "booked")
        ):
            return True
    return False


def _details_text(resp: requests.Response) -> str:
    """Calendly's validation details as one line: "invitee.email is required; ..."."""
    parts = []
    for d in _error_details(resp):
        message = str(d.get("message", "")).strip()
        parameter = str(d.get("parameter", "")).strip()
        if message and parameter and not message.startswith(parameter):
            message = f"{parameter} {message}"
        if message:
            parts.append(message)
    return "; ".join(parts)


def _wait(state) -> float:
    exc = state.outcome.exception()
    if isinstance(exc, CalendlyRateLimited) and exc.retry_after is not None:
        return exc.retry_after
    return min(0.5 * 2 ** (state.attempt_number - 1), 4.0)


def _retry_after(resp: requests.Response) -> float | None:
    for header in ("Retry-After", "X-RateLimit-Reset"):
        value = resp.headers.get(header)
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
    return None


def _error_text(resp: requests.Response) -> str:
    try:
        body = resp.json()
        text = f"{body.get('title', '')}: {body.get('message', '')}".strip(": ")
        details = "; ".join(
            f"{d.get('parameter', '')} {d.get('message', '')}".strip()
            for d in body.get("details") or []
        )
        return f"{text} ({details})" if details else text or f"HTTP {resp.status_code}"
    except (ValueError, AttributeError):
        return f"HTTP {resp.status_code}"


def _field(data: Any, key: str) -> Any:
    try:
        return data[key]
    except (KeyError, TypeError):
        log.warning("Calendly answer without %r: %.200r", key, data)
        raise CalendlyUnavailable(UNAVAILABLE) from None
