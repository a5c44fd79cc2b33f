"""The owner's password sign-in, for a desk on the public internet: growing delays after
failed tries (per client, and for everyone together), failures logged without the
password, and a signed session token for an HttpOnly cookie (``web/`` sets it)."""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from booking.domain.wording import how_long
from booking.errors import InvalidInput, TooManyRequests
from booking.store import limits

if TYPE_CHECKING:
    from booking.desk import Desk

log = logging.getLogger(__name__)
COOKIE = "bd_owner"
EVERYONE = "*"
FORGET_AFTER = timedelta(hours=1)  # failures older than this no longer count
FREE_TRIES = 3  # per client, before the delays start
FREE_TRIES_EVERYONE = 20  # across all clients (a spread-out guessing attack)
MAX_DELAY = 15 * 60


def delay(fails: int, free: int) -> int:
    """Seconds to wait after ``fails`` failures: none for the first ``free``, then 1, 2,
    4, 8 … up to 15 minutes."""
    return 0 if fails < free else min(2 ** (fails - free), MAX_DELAY)


class SignIn:
    """Checks the owner password with growing delays, and issues/checks session tokens."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def sign_in(self, password: str | None, client: str) -> str:
        """A session token for the owner, or InvalidInput (wrong password) / TooManyRequests
        (wait first). Every failure is logged with the client's address, never the text."""
        desk, now = self.desk, self.desk.clock()
        with desk.store.write() as db:
            for key, free in ((client, FREE_TRIES), (EVERYONE, FREE_TRIES_EVERYONE)):
                fails, last = limits.failures(db, key)
                if last is not None and now - last < FORGET_AFTER:
                    wait = last + timedelta(seconds=delay(fails, free)) - now
                    if wait > timedelta(0):
                        raise TooManyRequests(
                            "Too many wrong passwords. Please wait "
                            f"{how_long(wait.total_seconds())} and try again.",
                            retry_after=max(1, round(wait.total_seconds())),
                        )
            right = desk.owner.is_owner_password(password)
            if right:
                limits.forgive(db, client)
            else:  # counted in this transaction, which commits: the refusal comes after
                forget = now - FORGET_AFTER
                fails = limits.failed(db, client, now=now, forget_before=forget)
                limits.failed(db, EVERYONE, now=now, forget_before=forget)
        if not right:
            log.warning("owner sign-in failed from %s (%d in the last hour)", client, fails)
            raise InvalidInput("That password is not right.", field="password")
        log.info("owner signed in from %s", client)
        return self.token(now + timedelta(hours=desk.settings.owner_session_hours))

    def token(self, expires: datetime) -> str:
        """A session token that is valid until ``expires``: '<unix expiry>.<HMAC>'."""
        stamp = str(int(expires.timestamp()))
        return f"{stamp}.{self._mac(stamp)}"

    def valid(self, token: str | None) -> bool:
        """Whether ``token`` is one this desk issued and it has not expired."""
        stamp, _, mac = (token or "").partition(".")
        if not stamp.isdigit() or not mac:
            return False
        if not hmac.compare_digest(mac, self._mac(stamp)):
            return False
        return int(stamp) > self.desk.clock().timestamp()

    @cached_property
    def _key(self) -> bytes:
        # A secret made once per database, plus the owner password: changing the password
        # ends every session.
        with self.desk.store.write() as db:
            key = limits.secret(db, "owner_session") + self.desk.settings.owner_password
        return key.encode()

    def _mac(self, stamp: str) -> str:
        return hmac.new(self._key, f"owner:{stamp}".encode(), hashlib.sha256).hexdigest()
