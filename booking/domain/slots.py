"""Free-slot computation: pure functions over the catalogue, busy time and a given clock.

All instants are timezone-aware and compared in UTC. Working hours are wall-clock times
in the analyst's zone, so a 09:00-17:00 day stays 09:00-17:00 across daylight-saving
changes; candidate starts step from the start of each working range.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.domain.catalogue import Analyst, MeetingType


@dataclass(frozen=True, order=True)
class Interval:
    start: datetime
    end: datetime

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end


def wall_to_utc(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time; 'time.max' means the following midnight."""
    if wall == time.max:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Overlapping or touching intervals joined, in order."""
    merged: list[Interval] = []
    for iv in sorted(intervals):
        if merged and iv.start <= merged[-1].end:
            if iv.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, iv.end)
        else:
            merged.append(iv)
    return merged


def working_intervals(analyst: Analyst, start: datetime, end: datetime) -> list[Interval]:
    """The analyst's working ranges (in UTC) that touch [start, end)."""
    zone = analyst.zone
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    out = []
    while day <= last:
        for open_, close in analyst.working_ranges(day.weekday()):
            iv = Interval(wall_to_utc(day, open_, zone), wall_to_utc(day, close, zone))
            if iv.end > start and iv.start < end:
                out.append(iv)
        day += timedelta(days=1)
    return out


def free_slots(
    analyst: Analyst,
    meeting: MeetingType,
    busy: Iterable[Interval],
    *,
    now: datetime,
    start: datetime,
    end: datetime,
) -> list[Interval]:
    """Bookable slots starting in [start, end), sorted and unique.

    A slot lies inside one working range, starts after the minimum notice and before the
    booking horizon, and keeps ``buffer_minutes`` clear of every busy interval.
    """
    duration = timedelta(minutes=meeting.duration_minutes)
    step = timedelta(minutes=analyst.slot_step_minutes)
    buffer = timedelta(minutes=analyst.buffer_minutes)
    earliest = max(start, now + timedelta(hours=analyst.min_notice_hours))
    latest = min(end, now + timedelta(days=analyst.horizon_days))
    if earliest >= latest:
        return []
    blocked = merge(Interval(b.start - buffer, b.end + buffer) for b in busy)
    blocked_starts = [b.start for b in blocked]

    def is_free(slot: Interval) -> bool:
        i = bisect.bisect_left(blocked_starts, slot.end) - 1
        return i < 0 or blocked[i].end <= slot.start

    slots = []
    for work in working_intervals(analyst, earliest, latest):
        s = work.start
        if s < earliest:  # jump ahead on the step grid instead of walking there
            s += step * -(-(earliest - s) // step)
        while s + duration <= work.end and s < latest:
            slot = Interval(s, s + duration)
            if is_free(slot):
                slots.append(slot)
            s += step
    return sorted(set(slots))


def group_by_day(slots: Iterable[Interval], zone: ZoneInfo) -> dict[date, list[Interval]]:
    """Slots grouped by their start date in the given (visitor's) zone, in order."""
    days: dict[date, list[Interval]] = {}
    for slot in sorted(slots):
        days.setdefault(slot.start.astimezone(zone).date(), []).append(slot)
    return days
