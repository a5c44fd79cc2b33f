"""A realistic synthetic booking history for demos and benchmarks.

Weekday and time-of-day patterns, drop-off at every step, Calendly hand-offs that are
never finished, cancellations, reschedules and no-shows. Deterministic for a given seed.
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from booking.domain import funnel
from booking.domain.catalogue import Analyst, MeetingType
from booking.domain.funnel import BookingStatus
from booking.store import iso

WEEKDAY_WEIGHT = (1.0, 1.1, 1.05, 0.95, 0.8, 0.35, 0.3)
HOUR_WEIGHT = tuple(
    0.15 if h < 7 or h > 22 else 1.0 + (0.6 if 9 <= h <= 13 else 0) for h in range(24)
)


@dataclass
class History:
    """One attempt with its funnel events and, if it got that far, its booking."""

    attempt: dict
    events: list[tuple[str, str, str | None]]  # (step, at, detail)
    booking: dict | None


def _pick_start(rng: random.Random, now: datetime, days: int) -> datetime:
    while True:
        when = now - timedelta(seconds=rng.uniform(0, days * 86400))
        if rng.random() < WEEKDAY_WEIGHT[when.weekday()] * HOUR_WEIGHT[when.hour] / 1.7:
            return when.replace(microsecond=0)


def _working_slot(rng: random.Random, around: datetime) -> datetime:
    """A weekday office-hours start near ``around``."""
    day = around.date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return around.replace(
        year=day.year,
        month=day.month,
        day=day.day,
        hour=rng.randint(9, 16),
        minute=rng.choice((0, 30)),
        second=0,
        microsecond=0,
    )


class _Walk:
    """One visitor's way down the funnel: each step happens with probability p, later."""

    def __init__(self, rng: random.Random, t: datetime, events: list) -> None:
        self.rng, self.t, self.events = rng, t, events

    def step(self, name: str, p: float, seconds: tuple[float, float] = (5, 90)) -> bool:
        if self.rng.random() >= p:
            return False
        self.t += timedelta(seconds=self.rng.uniform(*seconds))
        self.events.append((name, iso(self.t), None))
        return True


def histories(
    n: int,
    *,
    seed: int,
    now: datetime,
    offers: list[tuple[Analyst, list[MeetingType]]],
    days: int = 90,
) -> Iterator[History]:
    rng = random.Random(seed)
    taken: set[tuple[str, datetime]] = set()  # a local analyst's time is booked only once
    for i in range(n):
        analyst, meetings = rng.choices(
            offers, weights=[3 if a.provider == "calendly" else 2 for a, _ in offers]
        )[0]
        meeting = rng.choice(meetings)
        t = _pick_start(rng, now, days)
        attempt_id = f"att_demo{seed}_{i:07d}_{secrets.token_hex(3)}"
        events = [(funnel.STARTED, iso(t), json.dumps({"source": "demo"}))]
        attempt = {
            "id": attempt_id,
            "created_at": iso(t),
            "updated_at": iso(t),
            "source": "demo",
            "status": "open",
            "visitor_tz": "Europe/London",
            "analyst": None,
            "meeting_type": None,
            "provider": None,
        }
        booking = None
        walk = _Walk(rng, t, events)
        step = walk.step

        if step(funnel.ANALYST_SELECTED, 0.86):
            attempt.update(analyst=analyst.slug, provider=analyst.provider)
            if step(funnel.MEETING_TYPE_SELECTED, 0.88):
                attempt["meeting_type"] = meeting.id
                if (
                    step(funnel.DATE_SELECTED, 0.85)
                    and step(funnel.SLOT_CHOSEN, 0.86)
                    and step(funnel.DETAILS_SUBMITTED, 0.72, (30, 400))
                ):
                    slot = _working_slot(rng, walk.t + timedelta(days=rng.uniform(1, 20)))
                    attempt.update(
                        email=f"visitor{i}@example.com", name=f"Visitor {i}", slot_start=iso(slot)
                    )
                    if analyst.provider == "calendly":
                        booked = (
                            step(funnel.LINK_CREATED, 0.97, (1, 3))
                            and step(funnel.REDIRECTED, 0.98, (0, 2))
                            and step(
                                funnel.BOOKED, 0.74, rng.choice(((60, 3600), (3600, 3 * 86400)))
                            )
                        )
                        if not booked and any(e[0] == funnel.LINK_CREATED for e in events):
                            attempt["status"] = "link_created"
                    elif (analyst.slug, slot) in taken:  # someone else got that time first
                        booked = False
                        step(funnel.BOOKING_FAILED, 1, (1, 3))
                    else:
                        booked = step(funnel.BOOKED, 0.96, (1, 3))
                        if booked:
                            taken.add((analyst.slug, slot))
                    if booked:
                        ref = f"BD-DEMO-{seed}-{i:07d}"
                        attempt.update(status="booked", booking_ref=ref)
                        booking = {
                            "reference": ref,
                            "attempt_id": attempt_id,
                            "provider": analyst.provider,
                            "analyst": analyst.slug,
                            "meeting_type": meeting.id,
                            "start_utc": iso(slot),
                            "end_utc": iso(slot + timedelta(minutes=meeting.duration_minutes)),
                            "status": BookingStatus.CONFIRMED.value,
                            "name": attempt["name"],
                            "email": attempt["email"],
                            "visitor_tz": "Europe/London",
                            "created_at": iso(walk.t),
                            "updated_at": iso(walk.t),
                            "no_show": 0,
                        }
                        roll = rng.random()
                        if roll < 0.08:
                            step(funnel.CANCELED, 1, (3600, 5 * 86400))
                            booking.update(
                                status=BookingStatus.CANCELED.value,
                                cancel_reason="Plans changed",
                                canceler_type="invitee",
                            )
                        elif roll < 0.14:
                            step(funnel.RESCHEDULED, 1, (3600, 3 * 86400))
                            booking["rescheduled_from"] = f"{ref}-original"
                        elif slot < now and roll < 0.19:
                            step(funnel.NO_SHOW, 1, (0, 1))
                            booking["no_show"] = 1
        yield History(attempt, events, booking)
