"""What the sandbox's token and plan allow, as Calendly enforces it: the token's scopes,
the per-user request limit (``X-RateLimit-*`` on every answer, 429 past it) and the much
tighter limits of booking through the API (``POST /invitees``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from booking.calendly.sandbox.answers import Answer


@dataclass
class SchedulingPlan:
    """What the token's plan allows for ``POST /invitees``: tests switch the Scheduling API
    off (403) or give it a budget, after which it answers 429 like Calendly's daily limit."""

    enabled: bool = True
    fail_after_booking: int = 0  # book, then answer 500 (a lost answer), this many times
    calls_left: int | None = None  # None: no limit
    limit: int = 100
    reset_seconds: int = 60  # as X-RateLimit-Reset

    def spend(self) -> Answer | None:
        """Use one call of the budget: None when allowed, else the 429 to answer."""
        if self.calls_left is None:
            return None
        if self.calls_left <= 0:
            body = {"title": "Too Many Requests", "message": "Rate limit exceeded."}
            return Answer(429, body, self.headers())
        self.calls_left -= 1
        return None

    def headers(self) -> dict:
        """The X-RateLimit-* headers Calendly sends once a budget applies."""
        if self.calls_left is None:
            return {}
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.calls_left),
            "X-RateLimit-Reset": str(self.reset_seconds),
        }


def has_scope(scopes: frozenset[str] | None, needed: str) -> bool:
    """Whether a token with ``scopes`` (None: an unscoped, legacy token) may do ``needed``."""
    if scopes is None:
        return True
    return needed in scopes or needed.replace(":read", ":write") in scopes


@dataclass
class RequestLimit:
    """Calendly's per-user request limit, counted per minute on the sandbox's clock; every
    answer carries ``X-RateLimit-*``. ``per_minute`` None: the paid plan's 500, never hit."""

    per_minute: int | None = None
    window_start: datetime | None = None
    used: int = 0

    def take(self, now: datetime) -> tuple[bool, dict]:
        """Count one request; (allowed, the headers to answer with)."""
        if self.window_start is None or now - self.window_start >= timedelta(minutes=1):
            self.window_start, self.used = now, 0
        limit = self.per_minute or 500
        allowed = self.per_minute is None or self.used < limit
        if allowed:
            self.used += 1
        reset = 60 - int((now - self.window_start).total_seconds())
        return allowed, {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - self.used)),
            "X-RateLimit-Reset": str(max(1, reset)),
        }
