"""Days a local analyst is not bookable at all (pure): public holidays from the
``holidays`` package (``holidays = "GB"`` or ``"US-NY"`` in the catalogue) and their own
``time_off`` (``"2026-12-24"`` or an inclusive range ``"2027-01-02..2027-01-06"``); the
catalogue checks both at start-up.

A closed day is closed from midnight to midnight in the analyst's own zone.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

import holidays as holiday_data

from booking.domain.slots import Interval, wall_to_utc

if TYPE_CHECKING:
    from booking.domain.catalogue import Analyst


@functools.lru_cache(maxsize=256)
def _holidays(region: str, year: int) -> frozenset[date]:
    country, _, subdiv = region.partition("-")
    return frozenset(holiday_data.country_holidays(country, subdiv=subdiv or None, years=year))


def is_closed(analyst: Analyst, day: date) -> bool:
    """Whether ``day`` (a date in the analyst's zone) is a holiday or time off."""
    if analyst.holidays and day in _holidays(analyst.holidays, day.year):
        return True
    return any(first <= day <= last for first, last in analyst.time_off_ranges)


def closed_intervals(analyst: Analyst, start: datetime, end: datetime) -> list[Interval]:
    """The analyst's closed days touching [start, end), each midnight to midnight in their
    zone (so 23 or 25 hours long on a daylight-saving day), in UTC."""
    if not analyst.holidays and not analyst.time_off:
        return []
    zone = analyst.zone
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    out = []
    while day <= last:
        if is_closed(analyst, day):
            out.append(Interval(wall_to_utc(day, time(0), zone), wall_to_utc(day, time.max, zone)))
        day += timedelta(days=1)
    return out
