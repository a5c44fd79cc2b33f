"""An offline stand-in for Calendly: the same JSON shapes, plugged in beneath the client.

``CalendlySandbox`` keeps its state in SQLite (tables ``sandbox_*`` in the desk's file) and
answers the API through ``SandboxAdapter``, a requests transport adapter mounted on the
Calendly base URL, so demo mode runs the real client code: URL building, pagination, error
mapping. Its public booking page (``booking.sandbox_pages``) stands in for calendly.com.
Availability is computed with the desk's own slot maths over fixed weekly hours.
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from sqlite_utils import Database, Migrations

from booking.calendly.client import (
    DEFAULT_API_URL,
    TRACKING_KEYS,
    WINDOW,
    calendly_time,
    parse_calendly_time,
)
from booking.domain.catalogue import Analyst, MeetingType
from booking.domain.slots import Interval, free_slots
from booking.signatures import sign
from booking.store import Store, first

log = logging.getLogger(__name__)

USER_UUID = "SANDBOXUSER00001"
ORG_UUID = "SANDBOXORG000001"
USER_NAME = "Assassin"
USER_SLUG = "assassin"
HOST_ZONE = "America/New_York"
EVENT_TYPES = (
    {
        "uuid": "SBXSTRATEGY00001",
        "name": "Strategy Session",
        "slug": "strategy-session",
        "duration": 60,
        "color": "#0069ff",
        "description": "One hour on your trading plan: entries, exits and risk.",
    },
    {
        "uuid": "SBXQUICKCALL0001",
        "name": "Quick Consult",
        "slug": "quick-consult",
        "duration": 30,
        "color": "#8247f5",
        "description": "Thirty minutes for one focused question.",
    },
)
QUESTION = "What would you like to discuss?"
SCHEDULING_API_403 = (
    "The Scheduling API is only available on paid Calendly plans. "
    "Upgrade your plan to access this feature."
)
WEBHOOK_EVENTS = (
    "invitee.created",
    "invitee.canceled",
    "invitee_no_show.created",
    "invitee_no_show.deleted",
)
# The host's Calendly availability: weekdays 09:00-17:00 New York, 4 hours' notice.
HOURS = Analyst(
    slug="sandbox-host",
    name=USER_NAME,
    provider="local",
    timezone=HOST_ZONE,
    hours={d: ("09:00-17:00",) for d in ("mon", "tue", "wed", "thu", "fri")},
    min_notice_hours=4,
    horizon_days=60,
    slot_step_minutes=30,
)

migrations = Migrations("calendly_sandbox")


@migrations()
def s001_sandbox_tables(db: Database) -> None:
    db["sandbox_links"].create(
        {
            "code": str,
            "event_type_uuid": str,
            "max_event_count": int,
            "used": int,
            "created_at": str,
        },
        pk="code",
    )
    db["sandbox_events"].create(
        {
            "uuid": str,
            "event_type_uuid": str,
            "start_time": str,
            "end_time": str,
            "status": str,
            "created_at": str,
            "updated_at": str,
            "cancellation": str,
        },
        pk="uuid",
    )
    db["sandbox_events"].create_index(["status", "start_time"])
    db["sandbox_invitees"].create(
        {
            "uuid": str,
            "event_uuid": str,
            "link_code": str,
            "name": str,
            "email": str,
            "timezone": str,
            "answer": str,
            "tracking": str,
            "status": str,
            "rescheduled": int,
            "old_invitee": str,
            "new_invitee": str,
            "cancellation": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="uuid",
    )
    db["sandbox_invitees"].create_index(["event_uuid"])
    db["sandbox_webhooks"].create(
        {
            "uuid": str,
            "callback_url": str,
            "events": str,
            "signing_key": str,
            "scope": str,
            "state": str,
            "created_at": str,
        },
        pk="uuid",
    )


@migrations()
def s002_deliveries_and_no_shows(db: Database) -> None:
    db["sandbox_deliveries"].create(
        {
            "id": int,
            "subscription_uuid": str,
            "event": str,
            "body": str,
            "attempts": int,
            "next_attempt_at": str,
            "delivered_at": str,
            "failed_at": str,
            "last_status": str,
            "created_at": str,
        },
        pk="id",
    )
    db["sandbox_deliveries"].create_index(["delivered_at", "failed_at", "next_attempt_at"])
    db["sandbox_invitees"].add_column("no_show", str)


class SandboxError(Exception):
    """A refusal on the sandbox booking page, worded for the visitor."""


class SlotGone(SandboxError):
    """The time asked for is not (or no longer) free."""


@dataclass
class Answer:
    status: int
    body: dict | None
    headers: dict


def _error(status: int, title: str, message: str, details: list | None = None) -> Answer:
    body = {"title": title, "message": message}
    if details:
        body["details"] = details
    return Answer(status, body, {})


def _not_found() -> Answer:
    return _error(404, "Resource Not Found", "The server could not find the requested resource.")


def _invalid(details: list | None = None) -> Answer:
    return _error(400, "Invalid Argument", "The supplied parameters are invalid.", details)


def _uuid() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


class CalendlySandbox:
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
        self.public_url = public_url.rstrip("/")
        self.api_url = api_url.rstrip("/")
        self.latency_ms = latency_ms
        self.clock = clock
        self.link_expiry = timedelta(days=link_expiry_days)
        self.pending = threading.Event()  # set when a delivery is queued
        self.calls: Counter[str] = Counter()  # requests served, by first path segment
        # POST /invitees (the Scheduling API). Tests switch it off (403, as for a plan or
        # token without it) or give it a budget: ``limit_invitees(n)`` allows n more calls,
        # then answers 429 with X-RateLimit-* headers, like Calendly's per-day limits.
        self.scheduling_api = True
        self.invitee_calls_left: int | None = None  # None: no limit
        self.invitee_rate_limit = 100
        self.invitee_rate_reset = 60  # seconds, as X-RateLimit-Reset
        migrations.apply(store.db)

    def limit_invitees(self, calls_left: int, *, reset_seconds: int = 60) -> None:
        """Allow ``calls_left`` more ``POST /invitees`` calls, then answer 429."""
        self.invitee_calls_left = calls_left
        self.invitee_rate_reset = reset_seconds

    # -- URIs and shapes ---------------------------------------------------------------
    @property
    def user_uri(self) -> str:
        return f"{self.api_url}/users/{USER_UUID}"

    @property
    def org_uri(self) -> str:
        return f"{self.api_url}/organizations/{ORG_UUID}"

    def event_type_uri(self, uuid: str) -> str:
        return f"{self.api_url}/event_types/{uuid}"

    def _event_type(self, uri_or_uuid: str) -> dict | None:
        uuid = uri_or_uuid.rstrip("/").rsplit("/", 1)[-1]
        return next((e for e in EVENT_TYPES if e["uuid"] == uuid), None)

    def _user(self) -> dict:
        return {
            "uri": self.user_uri,
            "name": USER_NAME,
            "slug": USER_SLUG,
            "email": "assassin@example.com",
            "scheduling_url": f"{self.public_url}/sandbox/calendly/{USER_SLUG}",
            "timezone": HOST_ZONE,
            "avatar_url": None,
            "created_at": "2024-03-01T10:00:00.000000Z",
            "updated_at": "2025-09-30T08:12:44.123456Z",
            "current_organization": self.org_uri,
        }

    def _event_type_resource(self, et: dict, position: int) -> dict:
        return {
            "uri": self.event_type_uri(et["uuid"]),
            "name": et["name"],
            "active": True,
            "slug": et["slug"],
            "scheduling_url": f"{self.public_url}/sandbox/calendly/{USER_SLUG}/{et['slug']}",
            "duration": et["duration"],
            "duration_options": None,
            "kind": "solo",
            "pooling_type": None,
            "type": "StandardEventType",
            "color": et["color"],
            "created_at": "2024-03-01T10:05:00.000000Z",
            "updated_at": "2025-10-01T09:00:00.000000Z",
            "internal_note": None,
            "description_plain": et["description"],
            "description_html": f"<p>{et['description']}</p>",
            "profile": {"type": "User", "name": USER_NAME, "owner": self.user_uri},
            "secret": False,
            "booking_method": "instant",
            "custom_questions": [
                {
                    "name": QUESTION,
                    "type": "text",
                    "position": 0,
                    "enabled": True,
                    "required": False,
                    "answer_choices": [],
                    "include_other": False,
                }
            ],
            "deleted_at": None,
            "admin_managed": False,
            "locations": [{"kind": "zoom_conference"}],
            "position": position,
        }

    # -- availability ------------------------------------------------------------------
    def _busy(self) -> list[Interval]:
        rows = self.store.db.execute(
            "SELECT start_time, end_time FROM sandbox_events WHERE status = 'active'"
        ).fetchall()
        return [Interval(parse_calendly_time(s), parse_calendly_time(e)) for s, e in rows]

    def free_slots(self, et: dict, start: datetime, end: datetime) -> list[Interval]:
        meeting = MeetingType(id=et["slug"], name=et["name"], duration_minutes=et["duration"])
        return free_slots(HOURS, meeting, self._busy(), now=self.clock(), start=start, end=end)

    def slot_url(self, et: dict, start: datetime) -> str:
        day = start.astimezone(ZoneInfo(HOST_ZONE)).date()
        stamp = start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            f"{self.public_url}/sandbox/calendly/{USER_SLUG}/{et['slug']}/{stamp}"
            f"?month={day:%Y-%m}&date={day.isoformat()}"
        )

    # -- the API -----------------------------------------------------------------------
    def handle(self, method: str, url: str, body: bytes | None, headers) -> Answer:
        """Answer one API request as api.calendly.com would."""
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        auth = headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or len(auth) <= len("Bearer "):
            return _error(401, "Unauthenticated", "The access token is invalid")
        parts = urlsplit(url)
        path = parts.path.rstrip("/")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            return _invalid()
        segments = path.strip("/").split("/")
        self.calls[segments[0]] += 1
        route = (method, segments[0] if segments else "", len(segments))
        handlers = {
            ("GET", "users", 2): lambda: self._get_user(segments[1]),
            ("GET", "event_types", 1): lambda: self._list_event_types(query),
            ("GET", "event_types", 2): lambda: self._get_event_type(segments[1]),
            ("GET", "event_type_available_times", 1): lambda: self._available_times(query),
            ("POST", "scheduling_links", 1): lambda: self._create_link(payload),
            ("POST", "invitees", 1): lambda: self._create_invitee(payload),
            ("GET", "scheduled_events", 1): lambda: self._list_events(query),
            ("GET", "scheduled_events", 2): lambda: self._get_event(segments[1]),
            ("GET", "scheduled_events", 3): lambda: self._list_invitees(segments[1], query),
            ("GET", "webhook_subscriptions", 1): lambda: self._list_webhooks(query),
            ("POST", "webhook_subscriptions", 1): lambda: self._create_webhook(payload),
            ("DELETE", "webhook_subscriptions", 2): lambda: self._delete_webhook(segments[1]),
            ("POST", "invitee_no_shows", 1): lambda: self._mark_no_show(payload),
            ("DELETE", "invitee_no_shows", 2): lambda: self._unmark_no_show(segments[1]),
        }
        handler = handlers.get(route)
        if handler is None or (route[2] == 3 and segments[2] != "invitees"):
            return _not_found()
        return handler()

    def _get_user(self, uuid: str) -> Answer:
        if uuid not in ("me", USER_UUID):
            return _not_found()
        return Answer(200, {"resource": self._user()}, {})

    def _paginate(self, path: str, query: dict, items: list[dict]) -> Answer:
        try:
            count = int(query.get("count", 20))
            offset = int(query.get("page_token") or 0)
        except ValueError:
            return _invalid()
        if not 1 <= count <= 100:
            return _invalid(
                [{"parameter": "count", "message": "must be between 1 and 100"}],
            )
        page = items[offset : offset + count]

        def link(token: int | None) -> tuple[str | None, str | None]:
            if token is None:
                return None, None
            q = {**query, "page_token": str(token)}
            return f"{self.api_url}{path}?{urlencode(q)}", str(token)

        next_page, next_token = link(offset + count if offset + count < len(items) else None)
        prev_page, prev_token = link(max(0, offset - count) if offset > 0 else None)
        return Answer(
            200,
            {
                "collection": page,
                "pagination": {
                    "count": len(page),
                    "next_page": next_page,
                    "previous_page": prev_page,
                    "next_page_token": next_token,
                    "previous_page_token": prev_token,
                },
            },
            {},
        )

    def _list_event_types(self, query: dict) -> Answer:
        if query.get("user") not in (self.user_uri, None) and query.get("organization") is None:
            return _error(
                403, "Permission Denied", "You do not have permission to access this resource."
            )
        items = [self._event_type_resource(et, i) for i, et in enumerate(EVENT_TYPES)]
        return self._paginate("/event_types", query, items)

    def _get_event_type(self, uuid: str) -> Answer:
        for i, et in enumerate(EVENT_TYPES):
            if et["uuid"] == uuid:
                return Answer(200, {"resource": self._event_type_resource(et, i)}, {})
        return _not_found()

    def _available_times(self, query: dict) -> Answer:
        et = self._event_type(query.get("event_type", ""))
        if et is None:
            return _invalid(
                [{"parameter": "event_type", "message": "is invalid"}],
            )
        try:
            start = parse_calendly_time(query["start_time"])
            end = parse_calendly_time(query["end_time"])
        except (KeyError, ValueError):
            return _invalid(
                [{"parameter": "start_time", "message": "is required"}],
            )
        if start < self.clock():
            return _invalid(
                [{"parameter": "start_time", "message": "Start time must be in the future"}],
            )
        if end <= start:
            return _invalid(
                [{"parameter": "end_time", "message": "must be after start_time"}],
            )
        if end - start > WINDOW:
            return _invalid(
                [{"parameter": "end_time", "message": "date range can be no greater than 31 days"}],
            )
        return Answer(
            200,
            {
                "collection": [
                    {
                        "status": "available",
                        "invitees_remaining": 1,
                        "start_time": calendly_time(s.start),
                        "scheduling_url": self.slot_url(et, s.start),
                    }
                    for s in self.free_slots(et, start, end)
                ]
            },
            {},
        )

    def _create_link(self, payload: dict) -> Answer:
        et = self._event_type(str(payload.get("owner", "")))
        if (
            payload.get("max_event_count") != 1
            or payload.get("owner_type") != "EventType"
            or et is None
        ):
            return _invalid(
                [{"parameter": "owner", "message": "must be an event type you own"}],
            )
        token = secrets.token_hex(5)
        code = f"{token[:4]}-{token[4:7]}-{token[7:]}"
        with self.store.write() as db:
            db["sandbox_links"].insert(
                {
                    "code": code,
                    "event_type_uuid": et["uuid"],
                    "max_event_count": 1,
                    "used": 0,
                    "created_at": calendly_time(self.clock()),
                }
            )
        return Answer(
            201,
            {
                "resource": {
                    "booking_url": f"{self.public_url}/sandbox/calendly/d/{code}/{et['slug']}",
                    "owner": self.event_type_uri(et["uuid"]),
                    "owner_type": "EventType",
                }
            },
            {},
        )

    # scheduled events and invitees
    def event_resource(self, row: dict) -> dict:
        et = self._event_type(row["event_type_uuid"])
        active = row["status"] == "active"
        resource = {
            "uri": f"{self.api_url}/scheduled_events/{row['uuid']}",
            "name": et["name"],
            "status": row["status"],
            "start_time": row["start_time"],
            "end_time": row["end_time"],
            "event_type": self.event_type_uri(et["uuid"]),
            "location": {
                "type": "zoom_conference",
                "status": "pushed",
                "join_url": "https://zoom.us/j/000000000",
            },
            "invitees_counter": {"total": 1, "active": 1 if active else 0, "limit": 1},
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "event_memberships": [
                {
                    "user": self.user_uri,
                    "user_email": "assassin@example.com",
                    "user_name": USER_NAME,
                }
            ],
            "event_guests": [],
            "meeting_notes_plain": None,
            "meeting_notes_html": None,
        }
        if row.get("cancellation"):
            resource["cancellation"] = json.loads(row["cancellation"])
        return resource

    def invitee_resource(self, inv: dict, event: dict | None = None, *, embed: bool = True) -> dict:
        """The invitee as GET returns it, or (``embed``) as a webhook payload carries it."""
        event = event or self.store.db["sandbox_events"].get(inv["event_uuid"])
        event_uri = f"{self.api_url}/scheduled_events/{inv['event_uuid']}"
        base = f"{self.public_url}/sandbox/calendly"
        resource = {
            "uri": f"{event_uri}/invitees/{inv['uuid']}",
            "email": inv["email"],
            "name": inv["name"],
            "first_name": None,
            "last_name": None,
            "status": inv["status"],
            "timezone": inv["timezone"],
            "event": event_uri,
            "created_at": inv["created_at"],
            "updated_at": inv["updated_at"],
            "questions_and_answers": (
                [{"question": QUESTION, "answer": inv["answer"], "position": 0}]
                if inv["answer"]
                else []
            ),
            "tracking": json.loads(inv["tracking"]),
            "text_reminder_number": None,
            "rescheduled": bool(inv["rescheduled"]),
            "old_invitee": inv["old_invitee"],
            "new_invitee": inv["new_invitee"],
            "cancel_url": f"{base}/cancellations/{inv['uuid']}",
            "reschedule_url": f"{base}/reschedulings/{inv['uuid']}",
            "routing_form_submission": None,
            "payment": None,
            "no_show": json.loads(inv["no_show"]) if inv.get("no_show") else None,
            "reconfirmation": None,
            "scheduling_method": None,
            "invitee_scheduled_by": None,
            "scheduled_event": self.event_resource(event),
        }
        if inv.get("cancellation"):
            resource["cancellation"] = json.loads(inv["cancellation"])
        if not embed:
            del resource["scheduled_event"]
        return resource

    def _list_events(self, query: dict) -> Answer:
        sql, params = "SELECT * FROM sandbox_events WHERE 1", []
        if query.get("status"):
            sql += " AND status = ?"
            params.append(query["status"])
        for key, op in (("min_start_time", ">="), ("max_start_time", "<")):
            if query.get(key):
                sql += f" AND start_time {op} ?"
                params.append(calendly_time(parse_calendly_time(query[key])))
        rows = list(self.store.db.query(sql + " ORDER BY start_time", params))
        return self._paginate("/scheduled_events", query, [self.event_resource(r) for r in rows])

    def _get_event(self, uuid: str) -> Answer:
        rows = list(self.store.db.query("SELECT * FROM sandbox_events WHERE uuid = ?", [uuid]))
        if not rows:
            return _not_found()
        return Answer(200, {"resource": self.event_resource(rows[0])}, {})

    def _list_invitees(self, event_uuid: str, query: dict) -> Answer:
        events = list(
            self.store.db.query("SELECT * FROM sandbox_events WHERE uuid = ?", [event_uuid])
        )
        if not events:
            return _not_found()
        rows = self.store.db.query(
            "SELECT * FROM sandbox_invitees WHERE event_uuid = ? ORDER BY created_at", [event_uuid]
        )
        items = [self.invitee_resource(r, events[0], embed=False) for r in rows]
        return self._paginate(f"/scheduled_events/{event_uuid}/invitees", query, items)

    # webhook subscriptions
    def _webhook_resource(self, row: dict) -> dict:
        return {
            "uri": f"{self.api_url}/webhook_subscriptions/{row['uuid']}",
            "callback_url": row["callback_url"],
            "created_at": row["created_at"],
            "updated_at": row["created_at"],
            "retry_started_at": None,
            "state": row["state"],
            "events": json.loads(row["events"]),
            "scope": row["scope"],
            "organization": self.org_uri,
            "user": self.user_uri,
            "creator": self.user_uri,
        }

    def _list_webhooks(self, query: dict) -> Answer:
        rows = self.store.db.query("SELECT * FROM sandbox_webhooks ORDER BY created_at")
        return self._paginate(
            "/webhook_subscriptions", query, [self._webhook_resource(r) for r in rows]
        )

    def _create_webhook(self, payload: dict) -> Answer:
        url, events = payload.get("url"), payload.get("events")
        if not url or not events or payload.get("scope") not in ("user", "organization"):
            return _invalid()
        if self.store.db.execute(
            "SELECT 1 FROM sandbox_webhooks WHERE callback_url = ?", [url]
        ).fetchone():
            return _error(409, "Already Exists", "Hook with this url already exists")
        row = {
            "uuid": _uuid(),
            "callback_url": url,
            "events": json.dumps(events),
            "signing_key": payload.get("signing_key") or secrets.token_urlsafe(32),
            "scope": payload["scope"],
            "state": "active",
            "created_at": calendly_time(self.clock()),
        }
        with self.store.write() as db:
            db["sandbox_webhooks"].insert(row)
        return Answer(201, {"resource": self._webhook_resource(row)}, {})

    def _delete_webhook(self, uuid: str) -> Answer:
        with self.store.write() as db:
            deleted = db.execute("DELETE FROM sandbox_webhooks WHERE uuid = ?", [uuid]).rowcount
        if not deleted:
            return _not_found()
        return Answer(204, None, {})

    # -- the booking page's actions ------------------------------------------------------
    def link(self, code: str) -> tuple[dict, dict]:
        """The link and its event type; SandboxError when unknown, used up or expired."""
        row = first(self.store.db, "SELECT * FROM sandbox_links WHERE code = ?", [code])
        if row is None:
            raise SandboxError("This booking link does not exist.")
        if row["used"] >= row["max_event_count"]:
            raise SandboxError(
                "This link has already been used to book, so it is no longer available."
            )
        if parse_calendly_time(row["created_at"]) + self.link_expiry < self.clock():
            raise SandboxError("This link has expired.")
        return row, self._event_type(row["event_type_uuid"])

    def day_slots(self, et: dict, day: date, zone: ZoneInfo) -> list[Interval]:
        start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
        return self.free_slots(et, max(start, self.clock()), start + timedelta(days=1))

    def _new_event(self, et: dict, start: datetime) -> dict:
        now = calendly_time(self.clock())
        return {
            "uuid": _uuid(),
            "event_type_uuid": et["uuid"],
            "start_time": calendly_time(start),
            "end_time": calendly_time(start + timedelta(minutes=et["duration"])),
            "status": "active",
            "created_at": now,
            "updated_at": now,
            "cancellation": None,
        }

    def schedule(
        self,
        code: str,
        *,
        start: datetime,
        name: str,
        email: str,
        answer: str,
        timezone: str,
        tracking: dict,
    ) -> dict:
        """Book through a single-use link: creates the event and invitee, spends the link."""
        link, et = self.link(code)
        if not name.strip() or "@" not in email:
            raise SandboxError("Please enter your name and a valid email address.")
        booked = self._book(
            et,
            start,
            name=name,
            email=email,
            answer=answer,
            timezone=timezone,
            tracking=tracking,
            link_code=code,
        )
        return {**booked, "link": link}

    def _book(
        self,
        et: dict,
        start: datetime,
        *,
        name: str,
        email: str,
        answer: str,
        timezone: str,
        tracking: dict,
        link_code: str | None = None,
    ) -> dict:
        """Create the event and its invitee and queue ``invitee.created``, in one transaction;
        spend ``link_code`` when booking through a link. SlotGone when the time is not free."""
        event = self._new_event(et, start)
        end, now = parse_calendly_time(event["end_time"]), event["created_at"]
        invitee = {
            "uuid": _uuid(),
            "event_uuid": event["uuid"],
            "link_code": link_code,
            "name": name.strip(),
            "email": email.strip(),
            "timezone": timezone,
            "answer": answer.strip() or None,
            "tracking": json.dumps({k: tracking.get(k) or None for k in TRACKING_KEYS}),
            "status": "active",
            "rescheduled": 0,
            "old_invitee": None,
            "new_invitee": None,
            "cancellation": None,
            "created_at": now,
            "updated_at": now,
        }
        try:
            with self._outbox() as db:
                if Interval(start, end) not in self.free_slots(
                    et, start, start + timedelta(seconds=1)
                ):
                    raise SlotGone("Sorry, that time is no longer available. Please pick another.")
                if link_code is not None:
                    spent = db.execute(
                        "UPDATE sandbox_links SET used = used + 1 "
                        "WHERE code = ? AND used < max_event_count",
                        [link_code],
                    ).rowcount
                    if not spent:
                        raise SandboxError("This link has already been used to book.")
                db["sandbox_events"].insert(event)
                db["sandbox_invitees"].insert(invitee)
                self._enqueue(db, "invitee.created", invitee["uuid"])
        except sqlite3.IntegrityError as exc:  # pragma: no cover - ids are random
            raise SandboxError("Something went wrong; please try again.") from exc
        return {"event": event, "invitee": invitee, "event_type": et}

    # -- the Scheduling API: POST /invitees -----------------------------------------------
    def _create_invitee(self, payload: dict) -> Answer:
        """Book directly, as Calendly's "Create Event Invitee" does."""
        if not self.scheduling_api:
            return _error(403, "Permission Denied", SCHEDULING_API_403)
        limited = self._spend_invitee_call()
        if limited is not None:
            return limited
        et = self._event_type(str(payload.get("event_type") or ""))
        if et is None:
            return _not_found()
        details = []
        try:
            start = parse_calendly_time(str(payload["start_time"]))
            if start.tzinfo is None:
                raise ValueError
        except (KeyError, ValueError):
            start = None
            details.append({"parameter": "start_time", "message": "is required"})
        invitee = payload.get("invitee") if isinstance(payload.get("invitee"), dict) else {}
        name = str(
            invitee.get("name")
            or " ".join(filter(None, (invitee.get("first_name"), invitee.get("last_name"))))
        )
        email, zone = str(invitee.get("email") or ""), str(invitee.get("timezone") or "")
        if not name.strip():
            details.append({"parameter": "invitee.name", "message": "is required"})
        if "@" not in email:
            details.append({"parameter": "invitee.email", "message": "is invalid"})
        try:
            ZoneInfo(zone)
        except (ValueError, KeyError):
            details.append({"parameter": "invitee.timezone", "message": "is invalid"})
        location = payload.get("location")
        if location is not None and (
            not isinstance(location, dict) or location.get("kind") != "zoom_conference"
        ):
            details.append(
                {"parameter": "location_configuration.kind", "message": "invalid location choice"}
            )
        answer = ""
        for qa in payload.get("questions_and_answers") or []:
            if not isinstance(qa, dict) or qa.get("question") != QUESTION or "answer" not in qa:
                details.append(
                    {"parameter": "questions_and_answers", "message": "question is invalid"}
                )
            else:
                answer = str(qa["answer"] or "")
        tracking = payload.get("tracking")
        if tracking is not None:
            missing = [
                k for k in TRACKING_KEYS if not isinstance(tracking, dict) or k not in tracking
            ]
            details += [{"parameter": f"tracking.{k}", "message": "is missing"} for k in missing]
        if len(payload.get("event_guests") or []) > 10:
            details.append({"parameter": "event_guests", "message": "at most 10 guests"})
        if details or start is None:
            return _invalid(details)
        try:
            booked = self._book(
                et,
                start,
                name=name,
                email=email,
                answer=answer,
                timezone=zone,
                tracking=tracking or {},
            )
        except SlotGone:
            return _invalid(
                [
                    {
                        "parameter": "event.start_time",
                        "message": "That start time has been filled",
                        "code": "already_filled",
                    }
                ]
            )
        resource = self.invitee_resource(booked["invitee"], booked["event"], embed=False)
        return Answer(201, {"resource": resource}, self._invitee_limit_headers())

    def _spend_invitee_call(self) -> Answer | None:
        """Calendly's tight per-user limit on POST /invitees: None, or the 429 to answer."""
        if self.invitee_calls_left is None:
            return None
        if self.invitee_calls_left <= 0:
            return Answer(
                429,
                {"title": "Too Many Requests", "message": "Rate limit exceeded."},
                self._invitee_limit_headers(),
            )
        self.invitee_calls_left -= 1
        return None

    def _invitee_limit_headers(self) -> dict:
        if self.invitee_calls_left is None:
            return {}
        return {
            "X-RateLimit-Limit": str(self.invitee_rate_limit),
            "X-RateLimit-Remaining": str(self.invitee_calls_left),
            "X-RateLimit-Reset": str(self.invitee_rate_reset),
        }

    # -- no-shows, cancellations, reschedules -------------------------------------------
    def _invitee(self, uuid: str) -> dict | None:
        return first(self.store.db, "SELECT * FROM sandbox_invitees WHERE uuid = ?", [uuid])

    def _mark_no_show(self, payload: dict) -> Answer:
        inv = self._invitee(str(payload.get("invitee", "")).rstrip("/").rsplit("/", 1)[-1])
        if inv is None:
            return _invalid([{"parameter": "invitee", "message": "is invalid"}])
        no_show = {
            "uri": f"{self.api_url}/invitee_no_shows/{inv['uuid']}",
            "created_at": calendly_time(self.clock()),
        }
        with self._outbox() as db:
            db["sandbox_invitees"].update(inv["uuid"], {"no_show": json.dumps(no_show)})
            self._enqueue(db, "invitee_no_show.created", inv["uuid"])
        return Answer(201, {"resource": {**no_show, "invitee": self._invitee_uri(inv)}}, {})

    def _unmark_no_show(self, uuid: str) -> Answer:
        inv = self._invitee(uuid)
        if inv is None or not inv["no_show"]:
            return _not_found()
        with self._outbox() as db:
            self._enqueue(db, "invitee_no_show.deleted", uuid)  # carries the no-show it removes
            db["sandbox_invitees"].update(uuid, {"no_show": None})
        return Answer(204, None, {})

    def _invitee_uri(self, inv: dict) -> str:
        return f"{self.api_url}/scheduled_events/{inv['event_uuid']}/invitees/{inv['uuid']}"

    def active_invitee(self, uuid: str) -> tuple[dict, dict, dict]:
        """An invitee that can still cancel or reschedule, with its event and event type."""
        inv = self._invitee(uuid)
        if inv is None:
            raise SandboxError("This booking does not exist.")
        if inv["status"] != "active":
            raise SandboxError("This booking has already been canceled.")
        event = self.store.db["sandbox_events"].get(inv["event_uuid"])
        return inv, event, self._event_type(event["event_type_uuid"])

    def cancel(self, uuid: str, *, reason: str, canceler_type: str = "invitee") -> dict:
        """Cancel an invitee's booking and send invitee.canceled."""
        inv, event, _ = self.active_invitee(uuid)
        now = calendly_time(self.clock())
        cancellation = json.dumps(
            {
                "canceled_by": inv["name"],
                "reason": reason or None,
                "canceler_type": canceler_type,
                "created_at": now,
            }
        )
        with self._outbox() as db:
            db["sandbox_invitees"].update(
                uuid, {"status": "canceled", "updated_at": now, "cancellation": cancellation}
            )
            db["sandbox_events"].update(
                event["uuid"],
                {"status": "canceled", "updated_at": now, "cancellation": cancellation},
            )
            self._enqueue(db, "invitee.canceled", uuid)
        return self._invitee(uuid)

    def reschedule(self, uuid: str, *, start: datetime, reason: str = "") -> dict:
        """Move a booking: the old invitee is canceled (rescheduled) and a new one created."""
        old, old_event, et = self.active_invitee(uuid)
        event = self._new_event(et, start)
        end, now = parse_calendly_time(event["end_time"]), event["created_at"]
        new = {
            **old,
            "uuid": _uuid(),
            "event_uuid": event["uuid"],
            "status": "active",
            "rescheduled": 0,
            "old_invitee": self._invitee_uri(old),
            "new_invitee": None,
            "cancellation": None,
            "no_show": None,
            "created_at": now,
            "updated_at": now,
        }
        cancellation = json.dumps(
            {
                "canceled_by": old["name"],
                "reason": reason or None,
                "canceler_type": "invitee",
                "created_at": now,
            }
        )
        with self._outbox() as db:
            busy = [
                iv
                for iv in self._busy()
                if iv.start != parse_calendly_time(old_event["start_time"])
            ]
            meeting = MeetingType(id=et["slug"], name=et["name"], duration_minutes=et["duration"])
            offered = free_slots(
                HOURS,
                meeting,
                busy,
                now=self.clock(),
                start=start,
                end=start + timedelta(seconds=1),
            )
            if Interval(start, end) not in offered:
                raise SandboxError("Sorry, that time is no longer available. Please pick another.")
            db["sandbox_events"].insert(event)
            db["sandbox_invitees"].insert(new)
            db["sandbox_invitees"].update(
                old["uuid"],
                {
                    "status": "canceled",
                    "rescheduled": 1,
                    "new_invitee": self._invitee_uri(new),
                    "cancellation": cancellation,
                    "updated_at": now,
                },
            )
            db["sandbox_events"].update(
                old_event["uuid"],
                {"status": "canceled", "cancellation": cancellation, "updated_at": now},
            )
            self._enqueue(db, "invitee.canceled", old["uuid"])
            self._enqueue(db, "invitee.created", new["uuid"])
        return {"event": event, "invitee": self._invitee(new["uuid"]), "event_type": et}

    # -- webhook deliveries ---------------------------------------------------------------
    def signing_keys(self) -> list[str]:
        rows = self.store.db.execute(
            "SELECT signing_key FROM sandbox_webhooks WHERE state = 'active'"
        ).fetchall()
        return [r[0] for r in rows]

    def ensure_subscription(self, url: str, signing_key: str | None = None) -> None:
        """Subscribe ``url`` to the invitee events once (the demo's own webhook route)."""
        if self.store.db.execute(
            "SELECT 1 FROM sandbox_webhooks WHERE callback_url = ?", [url]
        ).fetchone():
            return
        self._create_webhook(
            {
                "url": url,
                "events": list(WEBHOOK_EVENTS),
                "scope": "user",
                "signing_key": signing_key,
            }
        )

    @contextmanager
    def _outbox(self) -> Iterator[Database]:
        """A write transaction that may queue deliveries; wakes the sender after commit."""
        with self.store.write() as db:
            yield db
        self.pending.set()  # only now can the sender see the queued rows

    def _enqueue(self, db: Database, event: str, invitee_uuid: str) -> None:
        """Queue a delivery of ``event`` for every active subscription that wants it."""
        inv = db["sandbox_invitees"].get(invitee_uuid)
        now = calendly_time(self.clock())
        body = json.dumps(
            {
                "created_at": now,
                "created_by": self.user_uri,
                "event": event,
                "payload": self.invitee_resource(inv),
            },
            separators=(",", ":"),
        )
        for sub in db.query("SELECT uuid, events FROM sandbox_webhooks WHERE state = 'active'"):
            if event in json.loads(sub["events"]):
                db["sandbox_deliveries"].insert(
                    {
                        "subscription_uuid": sub["uuid"],
                        "event": event,
                        "body": body,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                )

    def deliver_due(self, session: requests.Session | None = None) -> int:
        """POST every due delivery, signed afresh; back off exponentially on failure and
        give up (disabling the subscription) after 24 hours, as Calendly does."""
        session = session or requests.Session()
        now = self.clock()
        due = list(
            self.store.db.query(
                "SELECT d.*, w.callback_url, w.signing_key FROM sandbox_deliveries d "
                "JOIN sandbox_webhooks w ON w.uuid = d.subscription_uuid "
                "WHERE d.delivered_at IS NULL AND d.failed_at IS NULL AND d.next_attempt_at <= ? "
                "ORDER BY d.id LIMIT 100",
                [calendly_time(now)],
            )
        )
        delivered = 0
        for d in due:
            body = d["body"].encode()
            stamp = int(self.clock().timestamp())
            try:
                resp = session.post(
                    d["callback_url"],
                    data=body,
                    timeout=(10, 15),
                    headers={
                        "Content-Type": "application/json",
                        "Calendly-Webhook-Signature": sign(body, d["signing_key"], stamp),
                    },
                )
                status, ok = str(resp.status_code), 200 <= resp.status_code < 300
            except requests.RequestException as exc:
                status, ok = type(exc).__name__, False
            attempts = d["attempts"] + 1
            update = {"attempts": attempts, "last_status": status}
            if ok:
                update["delivered_at"] = calendly_time(self.clock())
                delivered += 1
            elif now - parse_calendly_time(d["created_at"]) > timedelta(hours=24):
                update["failed_at"] = calendly_time(now)
                with self.store.write() as db:
                    db["sandbox_webhooks"].update(d["subscription_uuid"], {"state": "disabled"})
            else:
                wait = timedelta(seconds=min(2**attempts, 3600))
                update["next_attempt_at"] = calendly_time(now + wait)
            with self.store.write() as db:
                db["sandbox_deliveries"].update(d["id"], update)
        return delivered

    def next_due_in(self) -> float | None:
        row = self.store.db.execute(
            "SELECT min(next_attempt_at) FROM sandbox_deliveries "
            "WHERE delivered_at IS NULL AND failed_at IS NULL"
        ).fetchone()
        if not row or not row[0]:
            return None
        return max(0.0, (parse_calendly_time(row[0]) - self.clock()).total_seconds())

    def adapter(self) -> SandboxAdapter:
        return SandboxAdapter(self)


class SandboxAdapter(BaseAdapter):
    """A requests transport that answers from the sandbox instead of the network."""

    def __init__(self, sandbox: CalendlySandbox) -> None:
        super().__init__()
        self.sandbox = sandbox

    def send(self, request, **kwargs) -> requests.Response:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        answer = self.sandbox.handle(request.method, request.url, body, request.headers)
        resp = requests.Response()
        resp.status_code = answer.status
        resp._content = b"" if answer.body is None else json.dumps(answer.body).encode()
        resp.headers = CaseInsensitiveDict(
            {
                "Content-Type": "application/json; charset=utf-8",
                "X-RateLimit-Limit": "500",
                "X-RateLimit-Remaining": "499",
                "X-RateLimit-Reset": "60",
                **answer.headers,
            }
        )
        resp.encoding = "utf-8"
        resp.url = request.url
        resp.request = request
        resp.reason = {200: "OK", 201: "Created", 204: "No Content"}.get(answer.status, "Error")
        return resp

    def close(self) -> None:
        pass


class DeliveryWorker(threading.Thread):
    """Sends the sandbox's queued webhook deliveries in the background, like Calendly."""

    def __init__(self, sandbox: CalendlySandbox) -> None:
        super().__init__(name="calendly-sandbox-deliveries", daemon=True)
        self.sandbox = sandbox
        self.stopping = threading.Event()
        self.session = requests.Session()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.sandbox.deliver_due(self.session)
                wait = self.sandbox.next_due_in()
            except Exception:  # keep sending whatever one delivery did
                log.exception("sandbox webhook delivery failed")
                wait = 5.0
            self.sandbox.pending.wait(timeout=min(wait if wait is not None else 5.0, 5.0))
            self.sandbox.pending.clear()

    def stop(self) -> None:
        self.stopping.set()
        self.sandbox.pending.set()
        self.join(timeout=5)
