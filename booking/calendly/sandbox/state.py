"""The sandbox's own database: Calendly's side of every booking, in ``sandbox_*`` tables.

The sandbox stands in for another company's database, so all of its SQL lives here (its
migrations, in ``schema``, use sqlite-utils' table API): the reads the API and pages need,
and the state changes (book, cancel, reschedule, no-show). ``Outbox`` owns the webhook
subscriptions and the queued deliveries; every state change queues its deliveries in the
same transaction, and ``pending`` wakes the sender once they are committed. Rows go out
as plain dicts; their Calendly shapes come from ``host.Host``.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlite_utils import Database

from booking.calendly.client import TRACKING_KEYS, calendly_time, parse_calendly_time
from booking.calendly.sandbox.host import HOURS, Host, event_type, meeting
from booking.calendly.sandbox.schema import migrations
from booking.domain.slots import Interval, free_slots
from booking.store import Store, first
from booking.store import privacy as personal


class SandboxError(Exception):
    """A refusal on the sandbox booking page, worded for the visitor."""


class SlotGone(SandboxError):
    """The time asked for is not (or no longer) free."""


TAKEN = "Sorry, that time is no longer available. Please pick another."


def new_uuid() -> str:
    """A Calendly-style resource id: 16 upper-case letters and digits."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


def _cancellation(name: str, reason: str, canceler_type: str, now: str) -> str:
    """The cancellation record Calendly attaches to a canceled event and invitee."""
    return json.dumps(
        {
            "canceled_by": name,
            "reason": reason or None,
            "canceler_type": canceler_type,
            "created_at": now,
        }
    )


class Outbox:
    """Webhook subscriptions and the deliveries queued for them."""

    def __init__(self, store: Store, host: Host, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.host = host
        self.clock = clock
        self.pending = threading.Event()  # set when a delivery is queued

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """A write transaction that may queue deliveries; wakes the sender after commit."""
        with self.store.write() as db:
            yield db
        self.pending.set()  # only now can the sender see the queued rows

    def enqueue(self, db: Database, event: str, invitee_uuid: str) -> None:
        """Queue a delivery of ``event`` for every active subscription that wants it."""
        inv = db["sandbox_invitees"].get(invitee_uuid)
        now = calendly_time(self.clock())
        payload = self.host.invitee_resource(inv, db["sandbox_events"].get(inv["event_uuid"]))
        body = json.dumps(
            {
                "created_at": now,
                "created_by": self.host.user_uri,
                "event": event,
                "payload": payload,
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

    # -- subscriptions ---------------------------------------------------------------------
    def subscriptions(self) -> list[dict]:
        """Every subscription, oldest first, as the list endpoint pages through them."""
        return list(self.store.db.query("SELECT * FROM sandbox_webhooks ORDER BY created_at"))

    def subscribed(self, url: str) -> bool:
        """Whether ``url`` already has a subscription (Calendly allows one per URL)."""
        sql = "SELECT 1 FROM sandbox_webhooks WHERE callback_url = ?"
        return self.store.db.execute(sql, [url]).fetchone() is not None

    def subscribe(self, url: str, events: list, scope: str, signing_key: str | None) -> dict:
        """Add a subscription; without a signing key, one is made up, as Calendly does."""
        row = {
            "uuid": new_uuid(),
            "callback_url": url,
            "events": json.dumps(events),
            "signing_key": signing_key or secrets.token_urlsafe(32),
            "scope": scope,
            "state": "active",
            "created_at": calendly_time(self.clock()),
        }
        with self.store.write() as db:
            db["sandbox_webhooks"].insert(row)
        return row

    def unsubscribe(self, uuid: str) -> bool:
        """Delete a subscription; False when there was none."""
        with self.store.write() as db:
            return db.execute("DELETE FROM sandbox_webhooks WHERE uuid = ?", [uuid]).rowcount > 0

    def signing_keys(self) -> list[str]:
        """The keys our webhook route must accept: one per active subscription."""
        sql = "SELECT signing_key FROM sandbox_webhooks WHERE state = 'active'"
        return [r[0] for r in self.store.db.execute(sql).fetchall()]

    # -- deliveries ------------------------------------------------------------------------
    def due(self, now: datetime) -> list[dict]:
        """Undelivered, unabandoned deliveries whose next attempt is due, with their target."""
        return list(
            self.store.db.query(
                "SELECT d.*, w.callback_url, w.signing_key FROM sandbox_deliveries d "
                "JOIN sandbox_webhooks w ON w.uuid = d.subscription_uuid "
                "WHERE d.delivered_at IS NULL AND d.failed_at IS NULL AND d.next_attempt_at <= ? "
                "ORDER BY d.id LIMIT 100",
                [calendly_time(now)],
            )
        )

    def record_attempt(
        self, delivery: dict, update: dict, *, ok: bool, at: datetime, give_up: bool = False
    ) -> None:
        """Store how one attempt went. A failure sets the subscription's
        ``retry_started_at`` (a success clears it); giving up disables the subscription."""
        sub = delivery["subscription_uuid"]
        with self.store.write() as db:
            if give_up:
                db["sandbox_webhooks"].update(sub, {"state": "disabled"})
            if ok:
                sql, params = (
                    "UPDATE sandbox_webhooks SET retry_started_at = NULL WHERE uuid = ?",
                    [sub],
                )
            else:
                sql = (
                    "UPDATE sandbox_webhooks SET retry_started_at = "
                    "coalesce(retry_started_at, ?) WHERE uuid = ?"
                )
                params = [calendly_time(at), sub]
            db.execute(sql, params)
            db["sandbox_deliveries"].update(delivery["id"], update)

    def next_attempt_at(self) -> datetime | None:
        """When the earliest waiting delivery is due, or None when nothing waits."""
        row = self.store.db.execute(
            "SELECT min(next_attempt_at) FROM sandbox_deliveries "
            "WHERE delivered_at IS NULL AND failed_at IS NULL"
        ).fetchone()
        return parse_calendly_time(row[0]) if row and row[0] else None


class SandboxState:
    """Links, scheduled events and invitees: what Calendly would hold for the host."""

    def __init__(
        self,
        store: Store,
        host: Host,
        *,
        clock: Callable[[], datetime],
        link_expiry: timedelta,
    ) -> None:
        self.store = store
        self.host = host
        self.clock = clock
        self.link_expiry = link_expiry
        self.outbox = Outbox(store, host, clock)
        self.privacy = Privacy(store)
        migrations.apply(store.db)

    # -- reads -----------------------------------------------------------------------------
    def busy(self, *, besides: datetime | None = None) -> list[Interval]:
        """The host's booked times (less the one starting at ``besides``, being moved)."""
        sql = "SELECT start_time, end_time FROM sandbox_events WHERE status = 'active'"
        rows = self.store.db.execute(sql).fetchall()
        busy = [Interval(parse_calendly_time(s), parse_calendly_time(e)) for s, e in rows]
        return [iv for iv in busy if iv.start != besides]

    def free_slots(
        self, et: dict, start: datetime, end: datetime, *, besides: datetime | None = None
    ) -> list[Interval]:
        """Free times of an event type in [start, end), by the desk's own slot maths."""
        busy = self.busy(besides=besides)
        return free_slots(HOURS, meeting(et), busy, now=self.clock(), start=start, end=end)

    def _check_free(self, et: dict, start: datetime, *, besides: datetime | None = None) -> None:
        """Refuse a start the host's hours and bookings do not offer (SlotGone)."""
        offered = self.free_slots(et, start, start + timedelta(seconds=1), besides=besides)
        if Interval(start, start + timedelta(minutes=et["duration"])) not in offered:
            raise SlotGone(TAKEN)

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
        return row, event_type(row["event_type_uuid"])

    def event(self, uuid: str) -> dict | None:
        """One scheduled event's row, or None."""
        return first(self.store.db, "SELECT * FROM sandbox_events WHERE uuid = ?", [uuid])

    def events(self, status: str | None, min_start: str | None, max_start: str | None) -> list:
        """Scheduled events by start time, filtered as ``GET /scheduled_events`` allows."""
        sql, params = "SELECT * FROM sandbox_events WHERE 1", []
        if status:
            sql += " AND status = ?"
            params.append(status)
        for bound, op in ((min_start, ">="), (max_start, "<")):
            if bound:
                sql += f" AND start_time {op} ?"
                params.append(calendly_time(parse_calendly_time(bound)))
        return list(self.store.db.query(sql + " ORDER BY start_time", params))

    def invitee(self, uuid: str) -> dict | None:
        """One invitee's row, or None."""
        return first(self.store.db, "SELECT * FROM sandbox_invitees WHERE uuid = ?", [uuid])

    def invitees(self, event_uuid: str) -> list[dict]:
        """An event's invitees, in the order they booked."""
        sql = "SELECT * FROM sandbox_invitees WHERE event_uuid = ? ORDER BY created_at"
        return list(self.store.db.query(sql, [event_uuid]))

    def active_invitee(self, uuid: str) -> tuple[dict, dict, dict]:
        """An invitee that can still cancel or reschedule, with its event and event type."""
        inv = self.invitee(uuid)
        if inv is None:
            raise SandboxError("This booking does not exist.")
        if inv["status"] != "active":
            raise SandboxError("This booking has already been canceled.")
        event = self.event(inv["event_uuid"])
        return inv, event, event_type(event["event_type_uuid"])

    # -- links and bookings ----------------------------------------------------------------
    def create_link(self, et: dict) -> str:
        """A new single-use scheduling link for ``et``; returns its code."""
        token = secrets.token_hex(5)
        code = f"{token[:4]}-{token[4:7]}-{token[7:]}"
        row = {"code": code, "event_type_uuid": et["uuid"], "max_event_count": 1, "used": 0}
        with self.store.write() as db:
            db["sandbox_links"].insert({**row, "created_at": calendly_time(self.clock())})
        return code

    def _new_event(self, et: dict, start: datetime) -> dict:
        """A fresh, active scheduled event row for ``et`` at ``start``."""
        now = calendly_time(self.clock())
        return {
            "uuid": new_uuid(),
            "event_type_uuid": et["uuid"],
            "start_time": calendly_time(start),
            "end_time": calendly_time(start + timedelta(minutes=et["duration"])),
            "status": "active",
            "created_at": now,
            "updated_at": now,
            "cancellation": None,
        }

    def book(
        self,
        et: dict,
        start: datetime,
        *,
        name: str,
        email: str,
        timezone: str,
        tracking: dict,
        answer: str = "",
        answers: list[dict] | None = None,
        location: dict | None = None,
        link_code: str | None = None,
    ) -> dict:
        """Create the event and its invitee and queue ``invitee.created``, in one transaction;
        spend ``link_code`` when booking through a link. SlotGone when the time is not free.
        ``answers`` are Calendly's ``questions_and_answers`` (``answer`` alone: the first
        question's), ``location`` the invitee's ``{"kind", "location"}``."""
        if answers is None:  # the answer to the first free-text question only
            text = next((q for q in et["questions"] if q["type"] in ("string", "text")), None)
            answers = (
                [{"question": text["name"], "answer": answer.strip(), "position": text["position"]}]
                if answer.strip() and text
                else []
            )
        event = {
            **self._new_event(et, start),
            "location": json.dumps(location) if location else None,
        }
        now = event["created_at"]
        invitee = {
            "uuid": new_uuid(),
            "event_uuid": event["uuid"],
            "link_code": link_code,
            "name": name.strip(),
            "email": email.strip(),
            "timezone": timezone,
            "answer": answers[0]["answer"] if answers else None,
            "answers": json.dumps(answers),
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
            with self.outbox.transaction() as db:
                self._check_free(et, start)
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
                self.outbox.enqueue(db, "invitee.created", invitee["uuid"])
        except sqlite3.IntegrityError as exc:  # pragma: no cover - ids are random
            raise SandboxError("Something went wrong; please try again.") from exc
        return {"event": event, "invitee": invitee, "event_type": et}

    def _close(self, db: Database, inv: dict, cancellation: str, now: str, **extra) -> None:
        """Mark an invitee and its event canceled (``extra`` goes on the invitee)."""
        closed = {"status": "canceled", "cancellation": cancellation, "updated_at": now}
        db["sandbox_invitees"].update(inv["uuid"], {**closed, **extra})
        db["sandbox_events"].update(inv["event_uuid"], closed)

    def cancel(self, uuid: str, *, reason: str, canceler_type: str = "invitee") -> dict:
        """Cancel an invitee's booking and send invitee.canceled."""
        inv, _, _ = self.active_invitee(uuid)
        now = calendly_time(self.clock())
        with self.outbox.transaction() as db:
            self._close(db, inv, _cancellation(inv["name"], reason, canceler_type, now), now)
            self.outbox.enqueue(db, "invitee.canceled", uuid)
        return self.invitee(uuid)

    def reschedule(self, uuid: str, *, start: datetime, reason: str = "") -> dict:
        """Move a booking: the old invitee is canceled (rescheduled) and a new one created."""
        old, old_event, et = self.active_invitee(uuid)
        event = {**self._new_event(et, start), "location": old_event.get("location")}
        now = event["created_at"]
        new = {
            **old,
            "uuid": new_uuid(),
            "event_uuid": event["uuid"],
            "status": "active",
            "rescheduled": 0,
            "old_invitee": self.host.invitee_uri(old),
            "new_invitee": None,
            "cancellation": None,
            "no_show": None,
            "created_at": now,
            "updated_at": now,
        }
        cancellation = _cancellation(old["name"], reason, "invitee", now)
        with self.outbox.transaction() as db:
            self._check_free(et, start, besides=parse_calendly_time(old_event["start_time"]))
            db["sandbox_events"].insert(event)
            db["sandbox_invitees"].insert(new)
            moved = {"rescheduled": 1, "new_invitee": self.host.invitee_uri(new)}
            self._close(db, old, cancellation, now, **moved)
            self.outbox.enqueue(db, "invitee.canceled", old["uuid"])
            self.outbox.enqueue(db, "invitee.created", new["uuid"])
        return {"event": event, "invitee": self.invitee(new["uuid"]), "event_type": et}

    # -- no-shows --------------------------------------------------------------------------
    def mark_no_show(self, inv: dict) -> dict:
        """Mark an invitee a no-show and send invitee_no_show.created; returns the mark."""
        no_show = {
            "uri": self.host.no_show_uri(new_uuid()),
            "created_at": calendly_time(self.clock()),
        }
        with self.outbox.transaction() as db:
            db["sandbox_invitees"].update(inv["uuid"], {"no_show": json.dumps(no_show)})
            self.outbox.enqueue(db, "invitee_no_show.created", inv["uuid"])
        return no_show

    def unmark_no_show(self, no_show_uuid: str) -> bool:
        """Remove a no-show mark (by the mark's own uuid) and send invitee_no_show.deleted;
        False when there is no such mark."""
        inv = first(
            self.store.db,
            "SELECT * FROM sandbox_invitees WHERE no_show LIKE ?",
            [f'%"{self.host.no_show_uri(no_show_uuid)}"%'],
        )
        if inv is None:
            return False
        with self.outbox.transaction() as db:
            # The delivery carries the mark it removes.
            self.outbox.enqueue(db, "invitee_no_show.deleted", inv["uuid"])
            db["sandbox_invitees"].update(inv["uuid"], {"no_show": None})
        return True


class Privacy:
    """Calendly's side of erasing and exporting a person (its data deletion, for the
    sandbox): invitees blanked, what they gave in a cancellation or a location scrubbed
    from the event, deliveries about them deleted, sent or not. ``email`` is folded."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _held(self, db: Database, email, uuids, before: datetime | None):
        """Invitees not yet erased with this email, these uuids or (event and last change)
        ``before``; deliveries that mention them or the email, or queued ``before``."""
        personal.register(db)
        at, uuids = calendly_time(before) if before else "", json.dumps(sorted(uuids))
        sql = (
            "SELECT i.* FROM sandbox_invitees i JOIN sandbox_events e ON e.uuid = i.event_uuid "
            "WHERE i.email IS NOT NULL AND (bd_fold(i.email) = ? OR (e.end_time < ? AND "
            "i.updated_at < ?) OR i.uuid IN (SELECT value FROM json_each(?)))"
        )
        invitees = list(db.query(sql, [email or "", at, at, uuids]))
        mentioned = {i["uuid"] for i in invitees} | set(json.loads(uuids))
        return invitees, [
            r
            for r in db.query("SELECT * FROM sandbox_deliveries")
            if mentioned & set(re.findall(r"/invitees/([A-Z0-9]+)", r["body"]))
            or personal.mentions(r["body"], email or "")
            or r["created_at"] < at
        ]

    def erase(self, *, email=None, uuids=(), before: datetime | None = None) -> Counter:
        """Erase what is held about a person (or everyone ``before``); rows per table."""
        with self.store.write() as db:
            invitees, deliveries = self._held(db, email, uuids, before)
            for inv in invitees:
                blank = {"name": personal.ERASED, "email": None, "answer": None, "answers": "[]"}
                cancellation = _scrubbed(inv["cancellation"])
                db["sandbox_invitees"].update(inv["uuid"], {**blank, "cancellation": cancellation})
                event = db["sandbox_events"].get(inv["event_uuid"])
                kind = json.loads(event["location"] or "{}").get("kind")
                location = json.dumps({"kind": kind}) if kind else None
                cancellation = _scrubbed(event["cancellation"])
                db["sandbox_events"].update(
                    event["uuid"], {"cancellation": cancellation, "location": location}
                )
            for row in deliveries:
                db["sandbox_deliveries"].delete(row["id"])
        n = len(invitees)
        return +Counter(sandbox_invitees=n, sandbox_events=n, sandbox_deliveries=len(deliveries))

    def export(self, *, email=None, uuids=()) -> dict[str, list[dict]]:
        """What is held about a person: invitees, their events, deliveries."""
        invitees, deliveries = self._held(self.store.db, email, uuids, None)
        events = [self.store.db["sandbox_events"].get(i["event_uuid"]) for i in invitees]
        deliveries = [{**d, "body": json.loads(d["body"])} for d in deliveries]
        return {"invitees": invitees, "events": events, "deliveries": deliveries}


def _scrubbed(cancellation: str | None) -> str | None:
    """A cancellation record without who canceled (by name) or why."""
    if not cancellation:
        return cancellation
    return json.dumps({**json.loads(cancellation), "canceled_by": personal.ERASED, "reason": None})
