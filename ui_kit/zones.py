"""Time zones and clock times as the visitor reads them: a zone picker that finds
"New York", "EST" or "London" and shows UTC offsets, and 12- or 24-hour times by the
browser's locale (with a toggle). Every time a visitor reads goes through ``clock`` (or
``when``) with their ``uses_12_hour_clock()``, so no page mixes the two.

The zones offered are the IANA database's own list of places (``zone.tab`` in tzdata): no
legacy aliases such as ``US/Pacific`` or ``Brazil/West``, which only duplicate a place.
"""

from __future__ import annotations

import importlib.resources
import re
from datetime import datetime
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, available_timezones

import streamlit as st

TZ_KEY = "visitor_tz"
CLOCK_KEY = "clock_24h"  # the toggle (widget state: Streamlit drops it on a page switch)
CLOCK_CHOICE = "clock_choice_24h"  # the visitor's clock, kept for every page of the session
# Regions whose everyday clock is 12-hour (CLDR's preferred hour cycle "h").
TWELVE_HOUR_REGIONS = frozenset(
    {"US", "CA", "AU", "NZ", "PH", "IN", "PK", "BD", "EG", "SA", "JO", "SY", "IQ", "KW", "OM"}
    | {"QA", "BH", "AE", "YE", "LY", "SD", "MX", "CO", "SV", "HN", "NI", "KR", "TW", "MY"}
)
# Language-and-region pairs that read 24-hour inside a 12-hour region (CLDR's hour cycle
# "H" for the pair): French-speaking Canada, where en-CA reads 12-hour.
TWENTY_FOUR_HOUR_LOCALES = frozenset({"fr-CA"})


@cache
def canonical_zones() -> tuple[str, ...]:
    """Every place zone of the IANA database (``zone.tab``), and UTC."""
    table = importlib.resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text()
    names = {
        line.split("\t")[2]
        for line in table.splitlines()
        if line and not line.startswith("#") and len(line.split("\t")) >= 3
    }
    return tuple(sorted((names & available_timezones()) | {"UTC"}))


def offset_text(zone: ZoneInfo, at: datetime) -> str:
    """'UTC−05:00' (with a true minus sign), 'UTC+05:30', 'UTC±00:00'."""
    minutes = int(at.astimezone(zone).utcoffset().total_seconds() // 60)
    sign = "±" if minutes == 0 else "+" if minutes > 0 else "−"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def zone_label(name: str, at: datetime) -> str:
    """'New York (America) · UTC−05:00 · EST': the place first, as people search for it."""
    zone = ZoneInfo(name)
    region, _, place = name.rpartition("/")
    place = place.replace("_", " ")
    where = f"{place} ({region.replace('/', ', ').replace('_', ' ')})" if region else place
    abbreviation = at.astimezone(zone).tzname() or ""
    named = abbreviation if abbreviation[:1].isalpha() and abbreviation != "UTC" else ""
    return " · ".join(filter(None, (where, offset_text(zone, at), named)))


@lru_cache(maxsize=2)  # this hour's, and the last one's for visitors still on it
def zone_labels(hour: str) -> dict[str, str]:
    """Zone → label at the given hour (offsets change with daylight saving time)."""
    at = datetime.fromisoformat(hour)
    return {name: zone_label(name, at) for name in canonical_zones()}


def visitor_zone(default: str) -> ZoneInfo:
    """The visitor's zone: their choice, else what the browser reports, else the default."""
    if TZ_KEY not in st.session_state:
        browser = st.context.timezone
        valid = browser in canonical_zones() or browser in available_timezones()
        st.session_state[TZ_KEY] = browser if browser and valid else default
    return ZoneInfo(st.session_state[TZ_KEY])


def timezone_picker(now: datetime) -> None:
    """The zone selectbox: type a city, a region, an abbreviation or an offset."""
    labels = zone_labels(now.replace(minute=0, second=0, microsecond=0).isoformat())
    names = list(labels)
    current = st.session_state.get(TZ_KEY)
    if current and current not in labels:  # a browser's legacy name still works
        names.insert(0, current)
    st.selectbox(
        "Your time zone",
        names,
        key=TZ_KEY,
        format_func=lambda name: labels.get(name) or zone_label(name, now),
        filter_mode="contains",
        placeholder="Type a city, e.g. New York, or EST",
    )


def twelve_hour_locale(locale: str | None) -> bool:
    """Whether a browser locale reads 12-hour times: by its region ('en-US', 'en-CA'), unless
    its language and region together read 24-hour ('fr-CA'); no region ('en'): 24-hour."""
    parts = (locale or "").replace("_", "-").split("-")
    if len(parts) < 2:
        return False
    language, region = parts[0].lower(), parts[-1].upper()
    return region in TWELVE_HOUR_REGIONS and f"{language}-{region}" not in TWENTY_FOUR_HOUR_LOCALES


def uses_12_hour_clock() -> bool:
    """The visitor's choice, else their browser's locale (en-US: 12-hour, fr-CA: 24-hour)."""
    if CLOCK_CHOICE not in st.session_state:
        st.session_state[CLOCK_CHOICE] = not twelve_hour_locale(st.context.locale)
    return not st.session_state[CLOCK_CHOICE]


def _keep_clock() -> None:
    st.session_state[CLOCK_CHOICE] = st.session_state[CLOCK_KEY]


def clock_toggle() -> None:
    """The '24-hour clock' toggle, showing (and changing) the visitor's kept choice."""
    st.session_state[CLOCK_KEY] = not uses_12_hour_clock()
    st.toggle("24-hour clock", key=CLOCK_KEY, on_change=_keep_clock)


def clock(when: datetime, *, twelve: bool) -> str:
    """'14:30' or '2:30 PM'."""
    return f"{when:%-I:%M %p}" if twelve else f"{when:%H:%M}"


# How the desk's messages name a time ('14:30 on Tue 8 Dec', booking.domain.wording).
_DESK_TIME = re.compile(r"\b([01]\d|2[0-3]):([0-5]\d)(?= on (?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) )")


def in_clock(message: str, *, twelve: bool) -> str:
    """A desk message with its times in the visitor's clock: '14:30 on Tue 8 Dec' reads
    '2:30 PM on Tue 8 Dec' for a 12-hour reader (the desk writes them 24-hour)."""
    if not twelve:
        return message
    return _DESK_TIME.sub(
        lambda m: clock(datetime(2000, 1, 1, int(m[1]), int(m[2])), twelve=True), message
    )


def when(start: datetime, end: datetime | None, tz: ZoneInfo, *, twelve: bool) -> str:
    """'Tuesday 8 December 2026, 10:00–11:00 (Europe/London)' (or '10:00 AM–11:00 AM'),
    read in ``tz``; an end on a later day says its day."""
    s = start.astimezone(tz)
    text = f"{s:%A} {s.day} {s:%B %Y}, {clock(s, twelve=twelve)}"
    if end is not None:
        t = end.astimezone(tz)
        day = "" if t.date() == s.date() else f"{t:%A} {t.day} {t:%B}, "
        text += f"–{day}{clock(t, twelve=twelve)}"
    return f"{text} ({tz.key})"
