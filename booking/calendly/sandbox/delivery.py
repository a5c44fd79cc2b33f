"""The sandbox's webhook sender: signed POSTs of its queued deliveries, as Calendly sends them.

``deliver_due`` posts every due delivery from ``state.Outbox``, signed afresh with its
subscription's key (``booking.signatures``), and backs off exponentially on failure (any
answer but a 2xx, a redirect included, as Calendly counts them); the subscription shows
``retry_started_at`` while it fails, and after 24 hours it gives up and disables the
subscription, as Calendly does. ``DeliveryWorker``
runs it in the background, woken by the outbox's ``pending`` event.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

import requests

from booking.calendly.client import calendly_time, parse_calendly_time
from booking.calendly.sandbox.state import Outbox
from booking.signatures import sign

log = logging.getLogger(__name__)

GIVE_UP_AFTER = timedelta(hours=24)
LONGEST_WAIT = 3600  # seconds between attempts, at most


def _post(session: requests.Session, delivery: dict, stamp: int) -> tuple[str, bool]:
    """POST one delivery; its status (or the error's name) and whether it landed."""
    body = delivery["body"].encode()
    try:
        resp = session.post(
            delivery["callback_url"],
            data=body,
            timeout=(10, 15),
            allow_redirects=False,  # Calendly counts a redirect (3xx) as a failure
            headers={
                "Content-Type": "application/json",
                "Calendly-Webhook-Signature": sign(body, delivery["signing_key"], stamp),
            },
        )
    except requests.RequestException as exc:
        return type(exc).__name__, False
    return str(resp.status_code), 200 <= resp.status_code < 300


def deliver_due(
    outbox: Outbox, clock: Callable[[], datetime], session: requests.Session | None = None
) -> int:
    """POST every due delivery; returns how many landed."""
    session = session or requests.Session()
    now = clock()
    delivered = 0
    for delivery in outbox.due(now):
        status, ok = _post(session, delivery, int(clock().timestamp()))
        attempts = delivery["attempts"] + 1
        update = {"attempts": attempts, "last_status": status}
        give_up = False
        if ok:
            update["delivered_at"] = calendly_time(clock())
            delivered += 1
        elif now - parse_calendly_time(delivery["created_at"]) > GIVE_UP_AFTER:
            update["failed_at"] = calendly_time(now)
            give_up = True
        else:
            wait = timedelta(seconds=min(2**attempts, LONGEST_WAIT))
            update["next_attempt_at"] = calendly_time(now + wait)
        outbox.record_attempt(delivery, update, ok=ok, at=now, give_up=give_up)
    return delivered


def next_due_in(outbox: Outbox, clock: Callable[[], datetime]) -> float | None:
    """Seconds until the next delivery is due (0 if overdue), or None when none waits."""
    due = outbox.next_attempt_at()
    return None if due is None else max(0.0, (due - clock()).total_seconds())


class Sender(Protocol):
    """What the worker drives: the sandbox facade or anything shaped like it."""

    pending: threading.Event

    def deliver_due(self, session: requests.Session | None = None) -> int: ...

    def next_due_in(self) -> float | None: ...


class DeliveryWorker(threading.Thread):
    """Sends the sandbox's queued webhook deliveries in the background, like Calendly."""

    def __init__(self, sandbox: Sender) -> None:
        super().__init__(name="calendly-sandbox-deliveries", daemon=True)
        self.sandbox = sandbox
        self.stopping = threading.Event()
        self.session = requests.Session()

    def run(self) -> None:
        """Send what is due, then sleep until woken or the next delivery is due (≤ 5 s)."""
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
        """Stop after the current round; wake the thread so it notices."""
        self.stopping.set()
        self.sandbox.pending.set()
        self.join(timeout=5)
