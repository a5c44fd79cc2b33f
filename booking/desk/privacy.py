"""A person's data: erase it, export it (a subject access request), and let it go after
``BOOKING_RETENTION_DAYS`` — everywhere the desk keeps it: its own tables
(``booking.store.privacy``) and, when they run here, the Calendly sandbox's and the sandbox
checkout's.

Erasing keeps every row and blanks the personal fields, so the funnel's counts, the
``funnel_daily`` roll-up and every figure on the owner's page stay exactly as they were.
One person is erased in one transaction; retention works through chunks, each its own
transaction, so the write lock is never held for long. The address itself is never
logged.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING

from booking.errors import InvalidInput
from booking.store import iso
from booking.store import privacy as personal

if TYPE_CHECKING:
    from sqlite_utils import Database

    from booking.desk import Desk

log = logging.getLogger(__name__)
MAX_ADDRESS = 320


class _DryRun(Exception):
    """Rolls a dry run's transaction back, carrying what it would have changed."""

    def __init__(self, done: Counter) -> None:
        super().__init__("dry run")
        self.done = done


def address_of(text: str | None) -> str:
    """The address as the desk compares it (NFC, trimmed, case-folded), or InvalidInput."""
    address = personal.fold(text)
    local, at, domain = address.rpartition("@")
    if not (local and at and domain) or len(address) > MAX_ADDRESS or len(address.split()) > 1:
        raise InvalidInput(
            "Please give the person's email address, such as ada@example.com.", field="email"
        )
    return address


class Privacy:
    """Erasure, subject access and retention of visitors' personal data."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def erase(self, email: str | None, *, dry_run: bool = False) -> Counter:
        """Erase everything held about the person with this email; rows changed per table
        (empty: nothing was held). ``dry_run`` counts and changes nothing."""
        address = address_of(email)
        try:
            with self.desk.store.write() as db:
                held = personal.of_person(db, address)
                done = self._erase(db, held, email=address)
                if dry_run:
                    raise _DryRun(done)
        except _DryRun as run:
            return run.done
        if done:
            log.info("erased one person's data on request: %s", dict(done))
        return done

    def export(self, email: str | None) -> dict:
        """Everything held about the person with this email, as data (JSON-ready)."""
        address = address_of(email)
        desk = self.desk
        with desk.store.write() as db:  # one consistent reading
            held = personal.of_person(db, address)
            data = {
                "email": address,
                "exported_at": iso(desk.clock()),
                **personal.export(db, held),
            }
            if desk.sandbox is not None:
                data["calendly_sandbox"] = desk.sandbox.state.privacy.export(
                    email=address, uuids=held.invitee_uuids()
                )
            if desk.checkout_sandbox is not None:
                data["sandbox_checkouts"] = desk.checkout_sandbox.export(
                    email=address, attempt_ids=held.attempts
                )
        return data

    def export_json(self, email: str | None) -> str:
        """``export`` as indented JSON text."""
        return json.dumps(self.export(email), indent=2, ensure_ascii=False, default=str)

    def retention_run(self) -> Counter:
        """Erase the personal data that ``BOOKING_RETENTION_DAYS`` has passed (see
        ``booking.store.privacy.past_retention``); rows changed per table."""
        days = self.desk.settings.retention_days
        if days <= 0:
            return Counter()
        cutoff = self.desk.clock() - timedelta(days=days)
        total: Counter = Counter()
        while True:
            with self.desk.store.write() as db:
                done = self._erase(db, personal.past_retention(db, cutoff), before=cutoff)
            if not done:
                return total
            total += done

    def _erase(self, db: Database, held: personal.Held, *, email=None, before=None) -> Counter:
        """Erase ``held`` and the sandboxes' side, inside the caller's transaction."""
        desk = self.desk
        done = personal.erase(db, held, now=desk.clock())
        if desk.sandbox is not None:
            done += desk.sandbox.state.privacy.erase(
                email=email, uuids=held.invitee_uuids(), before=before
            )
        if desk.checkout_sandbox is not None:
            done["sandbox_checkouts"] += desk.checkout_sandbox.erase(
                email=email or "", attempt_ids=held.attempts, before=before
            )
        return +done
