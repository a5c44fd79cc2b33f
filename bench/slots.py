"""Slot computation over a 90-day horizon, with and without a busy calendar."""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from booking.domain.catalogue import Analyst, MeetingType
from booking.domain.slots import Interval, free_slots

NOW = datetime(2026, 3, 1, 7, 13, tzinfo=UTC)  # spans the spring DST change


def main(repeats: int = 30) -> dict:
    analyst = Analyst(
        slug="a",
        name="A",
        provider="local",
        timezone="Europe/London",
        horizon_days=90,
        buffer_minutes=15,
        min_notice_hours=4,
        slot_step_minutes=15,
        hours={d: ["08:00-12:30", "13:30-19:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    )
    meeting = MeetingType(id="m", name="M", duration_minutes=30)
    busy = [
        Interval(NOW + timedelta(hours=5 * i + 3), NOW + timedelta(hours=5 * i + 4))
        for i in range(90 * 24 // 5)
    ]  # roughly two bookings per working day
    results = {}
    for label, b in (("empty calendar", []), (f"{len(busy)} bookings", busy)):
        times, count = [], 0
        for _ in range(repeats):
            t0 = time.perf_counter()
            count = len(
                free_slots(analyst, meeting, b, now=NOW, start=NOW, end=NOW + timedelta(days=90))
            )
            times.append((time.perf_counter() - t0) * 1000)
        results[label] = (statistics.median(times), count)
    return results


if __name__ == "__main__":
    for label, (ms, count) in main().items():
        print(f"slot computation, 90-day horizon, {label}: median {ms:.2f} ms ({count} slots)")
