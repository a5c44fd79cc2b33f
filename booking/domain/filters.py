"""The owner's analytics period and filters (which attempts and bookings a view counts)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

# What an analytics view can be narrowed to (and broken down by).
DIMENSIONS = ("analyst", "meeting_type", "provider")


@dataclass(frozen=True)
class Filters:
    first: date
    last: date  # inclusive
    analyst: str | None = None
    meeting_type: str | None = None
    provider: str | None = None

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def end(self) -> date:
        """The first day after the period (periods are half-open in storage)."""
        return self.last + timedelta(days=1)

    def previous(self) -> Filters:
        """The period of the same length just before this one."""
        return replace(
            self, first=self.first - timedelta(days=self.days), last=self.first - timedelta(days=1)
        )

    def narrowed(self) -> dict[str, str]:
        """The dimensions this view is narrowed to, and their values."""
        return {name: value for name in DIMENSIONS if (value := getattr(self, name))}
