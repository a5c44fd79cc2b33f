"""Busy time from an iCalendar feed: which instants an analyst's own calendar blocks.

The feed is read by ``icalendar``, Google's ``X-WR-TIMEZONE`` is brought into RFC 5545
form by ``x-wr-timezone``, and recurrences (RRULE, RDATE, EXDATE, moved or cancelled
instances) are expanded by ``recurring-ical-events``. What blocks:

- every event, each occurrence of a recurring one;
- an all-day event: the whole day (or days) in the analyst's zone;
- a floating time (no zone, no X-WR-TIMEZONE): wall-clock time in the analyst's zone.

What does not: ``TRANSP:TRANSPARENT`` ("show as free"), Outlook's
``X-MICROSOFT-CDO-BUSYSTATUS:FREE``, and ``STATUS:CANCELLED`` events or instances.

Feeds are large (years of history, attendee lists, descriptions), so before the parser
sees one, ``reduce`` keeps only what decides busy time: the calendar's zone properties,
its VTIMEZONEs, and of each VEVENT the timing and status properties; and it drops events
that cannot reach the window asked for: single events wholly outside it, and series whose
rules all ended before it (an ``UNTIL``, or a ``COUNT`` of a rule with an occurrence in
every period, bounded without expanding it). Anything it cannot judge for certain (a
COUNT with BY* parts, RDATE, a moved instance) is kept for the real parser, so it only
ever saves work.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import x_wr_timezone
from recurring_ical_events import ComponentsWithName, EventAdapter, Occurrence

from booking.domain.slots import Interval

# What a VEVENT needs for busy time; everything else (SUMMARY, DESCRIPTION, ATTENDEE, …)
# and every subcomponent (VALARM) is left out.
EVENT_PROPERTIES = frozenset(
    {
        b"UID",
        b"DTSTART",
        b"DTEND",
        b"DURATION",
        b"RRULE",
        b"RDATE",
        b"EXDATE",
        b"EXRULE",
        b"RECURRENCE-ID",
        b"SEQUENCE",
        b"STATUS",
        b"TRANSP",
        b"X-MICROSOFT-CDO-BUSYSTATUS",
    }
)
CALENDAR_PROPERTIES = frozenset({b"VERSION", b"PRODID", b"CALSCALE", b"X-WR-TIMEZONE"})
# Lines that only restate a default (busy, confirmed, first version): left out as well.
_DEFAULTS = frozenset(
    {b"STATUS:CONFIRMED", b"TRANSP:OPAQUE", b"SEQUENCE:0", b"X-MICROSOFT-CDO-BUSYSTATUS:BUSY"}
)
# Properties that make an event more than one occurrence (or part of a series) whose
# reach the prefilter cannot bound; an RRULE with an UNTIL it can.
_SERIES = (b"RDATE", b"EXRULE", b"RECURRENCE-ID", b"DURATION")
# A COUNT is bounded only for rules whose every period holds an occurrence: no BY* part
# but a weekly rule's plain weekdays. The longest period of each frequency, in days:
_PLAIN = frozenset({b"FREQ", b"COUNT", b"INTERVAL", b"WKST"})
_WEEKDAYS = re.compile(rb"(?:MO|TU|WE|TH|FR|SA|SU)(?:,(?:MO|TU|WE|TH|FR|SA|SU))*")
_PERIOD_DAYS = {
    b"SECONDLY": 1,
    b"MINUTELY": 1,
    b"HOURLY": 1,
    b"DAILY": 1,
    b"WEEKLY": 7,
    b"MONTHLY": 31,
    b"YEARLY": 366,
}
_FIRST_DAY = re.compile(rb":(\d{4})(\d{2})(\d{2})")
_UNTIL = re.compile(rb"[:;]UNTIL=(\d{4})(\d{2})(\d{2})", re.I)
# A day either side of the window: an event's own zone can be up to 14 hours off UTC.
_MARGIN = timedelta(days=2)


class FeedUnreadable(ValueError):
    """The bytes are not an iCalendar feed we can read."""


def _day(line: bytes, pattern: re.Pattern = _FIRST_DAY) -> date | None:
    m = pattern.search(line)
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _reach(rule: bytes, start: date, end: date) -> date | None:
    """The last day a series' RRULE can reach (its UNTIL, or for a COUNT a bound on its
    last occurrence), plus the event's own length; None when the prefilter cannot say."""
    span = end - start
    until = _day(rule, _UNTIL)
    if until is not None:
        return until + span
    parts = dict(
        part.split(b"=", 1) for part in rule.partition(b":")[2].upper().split(b";") if b"=" in part
    )
    freq, count, interval = parts.get(b"FREQ"), parts.get(b"COUNT", b""), parts.get(b"INTERVAL")
    by_weekday = freq == b"WEEKLY" and _WEEKDAYS.fullmatch(parts.get(b"BYDAY", b"MO"))
    plain = set(parts) <= _PLAIN | ({b"BYDAY"} if by_weekday else set())
    # each period then holds an occurrence, except months without the day (the 31st) and
    # years without it (29 February)
    every_period = not (
        (freq == b"MONTHLY" and start.day > 28)
        or (freq == b"YEARLY" and (start.month, start.day) == (2, 29))
    )
    if not (plain and every_period and count.isdigit() and freq in _PERIOD_DAYS):
        return None
    step = int(interval) if interval and interval.isdigit() else 1
    return start + timedelta(days=int(count) * step * _PERIOD_DAYS[freq]) + span


def _may_touch(event: list[bytes], first: date, last: date) -> bool:
    """False only for an event certainly outside [first, last] (with a margin): a single
    event that lies wholly outside, or a series whose every RRULE ended (UNTIL, or a COUNT
    of a rule with an occurrence in every period) before it and that has nothing else
    (RDATE, a moved instance) that could reach into it."""
    start = end = None
    rules = []
    for line in event:
        name = line[:16].upper()
        if name.startswith(_SERIES):
            return True
        if name.startswith(b"RRULE"):
            rules.append(line)
        elif name.startswith(b"DTSTART"):
            start = _day(line)
        elif name.startswith(b"DTEND"):
            end = _day(line)
    if start is None:
        return True
    end = end or start
    for rule in rules:
        reach = _reach(rule, start, end)
        if reach is None or reach >= first - _MARGIN:
            return True
    return start <= last + _MARGIN and end >= first - _MARGIN


def _unfold(data: bytes) -> bytes:
    """Join folded lines (a line break followed by a space or tab continues the line)."""
    for fold in (b"\r\n ", b"\r\n\t", b"\n ", b"\n\t"):
        data = data.replace(fold, b"")
    return data


def reduce(data: bytes, first: date, last: date) -> bytes:
    """The feed with only what decides busy time between ``first`` and ``last``."""
    out: list[bytes] = []
    event: list[bytes] | None = None
    skip = 0  # depth inside a component we leave out
    in_zone = False
    for line in _unfold(data).splitlines():
        if skip:
            upper = line[:6].upper()
            skip += (upper == b"BEGIN:") - (upper[:4] == b"END:")
            continue
        name = line.partition(b":")[0].partition(b";")[0].upper()
        if in_zone:
            out.append(line)
            in_zone = not line.upper().startswith(b"END:VTIMEZONE")
        elif name == b"BEGIN":
            what = line[6:].strip().upper()
            if event is None and what == b"VEVENT":
                event = [line]
            elif event is None and what in (b"VCALENDAR", b"VTIMEZONE"):
                in_zone = what == b"VTIMEZONE"
                out.append(line)
            else:
                skip = 1
        elif name == b"END":
            if event is None:
                out.append(line)
                continue
            event.append(line)
            if _may_touch(event, first, last):
                out += event
            event = None
        elif event is not None:
            if name in EVENT_PROPERTIES and line.rstrip().upper() not in _DEFAULTS:
                event.append(line)
        elif name in CALENDAR_PROPERTIES:
            out.append(line)
    return b"\r\n".join(out) + b"\r\n"


class _BusyAdapter(EventAdapter):
    """A VEVENT that knows whether it blocks time."""

    @property
    def blocks(self) -> bool:
        event = self._component
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            return False
        if str(event.get("TRANSP", "")).upper() == "TRANSPARENT":
            return False
        return str(event.get("X-MICROSOFT-CDO-BUSYSTATUS", "")).upper() != "FREE"


class _BusyOccurrence(Occurrence):
    """An occurrence handed back as (start, end, adapter) instead of a copied component:
    busy time needs only those, and copying thousands of components is the slow part."""

    def as_component(self, keep_recurrence_attributes: bool):
        return self.start, self.end, self._adapter


_SELECT = ComponentsWithName("VEVENT", adapter=_BusyAdapter, occurrence=_BusyOccurrence)


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):  # a date: midnight in the analyst's zone
        return datetime.combine(value, time(0), tzinfo=zone).astimezone(UTC)
    if value.tzinfo is None:  # floating: the analyst's wall clock
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _blocks(calendar, zone: ZoneInfo, start: datetime, end: datetime) -> list[Interval]:
    query = recurring_ical_events.of(
        x_wr_timezone.to_standard(calendar), skip_bad_series=True, components=[_SELECT]
    )
    out = []
    for begin, finish, adapter in query.between(start - _MARGIN, end + _MARGIN):
        if not adapter.blocks:
            continue
        if not isinstance(begin, datetime) and begin == finish:
            finish = begin + timedelta(days=1)  # an all-day event without an end
        block = Interval(_instant(begin, zone), _instant(finish, zone))
        if block.start < block.end and block.start < end and block.end > start:
            out.append(block)
    return out


def busy_intervals(data: bytes, zone: ZoneInfo, start: datetime, end: datetime) -> list[Interval]:
    """The busy time a feed blocks that touches [start, end), sorted (not merged).

    Raises FeedUnreadable for bytes that are not a readable iCalendar feed: a feed comes
    from outside, so whatever the parser or the recurrence expansion raises on it is
    turned into that one error, which the caller treats as a failed read."""
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    try:
        calendars = icalendar.Calendar.from_ical(reduce(data, first, last), multiple=True)
        if not calendars:
            raise FeedUnreadable("it holds no VCALENDAR")
        return sorted(b for calendar in calendars for b in _blocks(calendar, zone, start, end))
    except FeedUnreadable:
        raise
    except Exception as exc:
        raise FeedUnreadable(
            f"not readable as iCalendar ({type(exc).__name__}: {exc})"[:200]
        ) from exc
