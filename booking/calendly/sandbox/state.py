"""The sandbox's own database: Calendly's side of every booking, in ``sandbox_*`` tables.

The sandbox stands in for another company's database, so all of its SQL lives here: the
``calendly_sandbox`` migrations, the reads the API and pages need, and the state changes
(book, cancel, reschedule, no-show). ``Outbox`` owns the webhook subscriptions and the
queued deliveries; every state change queues its deliveries in the same transaction, and
``pending`` wakes the sender once they are committed. Rows go out as plain dicts; their
Calendly shapes come from ``host.Host``.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlite_utils import Database, Migrations

from booking.calendly.client import TRACKING_KEYS, calendly_time, parse_calendly_time
from booking.calendly.sandbox.host import HOURS, Host, event_type, meeting
from booking.domain.slots import Interval, free_slots
from booking.store import Store, first

migrations = Migrations("calendly_sandbox")


@migrations()
def s001_sandbox_tables(db: Database) -> None:
    """Links, scheduled events, invitees and webhook subscriptions."""
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
    """A delivery outbox, so webhooks are retried like Calendly's, and no-show marks."""
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

    def record_attempt(self, delivery: dict, update: dict, *, give_up: bool = False) -> None:
        """Store how one attempt went; giving up also disables the subscription."""
        with self.store.write() as db:
            if give_up:
                db["sandbox_webhooks"].update(delivery["subscription_uuid"], {"state": "disabled"})
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
        answer: str,
        timezone: str,
        tracking: dict,
        link_code: str | None = None,
    ) -> dict:
        """Create the event and its invitee and queue ``invitee.created``, in one transaction;
        spend ``link_code`` when booking through a link. SlotGone when the time is not free."""
        event = self._new_event(et, start)
        now = event["created_at"]
        invitee = {
            "uuid": new_uuid(),
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
        event = self._new_event(et, start)
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
            "uri": self.host.no_show_uri(inv["uuid"]),
            "created_at": calendly_time(self.clock()),
        }
        with self.outbox.transaction() as db:
            db["sandbox_invitees"].update(inv["uuid"], {"no_show": json.dumps(no_show)})
            self.outbox.enqueue(db, "invitee_no_show.created", inv["uuid"])
        return no_show

    def unmark_no_show(self, uuid: str) -> bool:
        """Remove a no-show mark and send invitee_no_show.deleted; False when unmarked."""
        inv = self.invitee(uuid)
        if inv is None or not inv["no_show"]:
            return False
        with self.outbox.transaction() as db:
            self.outbox.enqueue(db, "invitee_no_show.deleted", uuid)  # carries the mark it removes
            db["sandbox_invitees"].update(uuid, {"no_show": None})
        return True
