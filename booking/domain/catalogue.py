"""The analysts catalogue (TOML), validated at start-up into frozen objects."""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import tomllib
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_data
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from booking.domain.place import Place, check_location, place_of
from booking.domain.wording import money
from booking.errors import ConfigError, NotFound

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
LOCAL_ONLY = ("busy_feeds", "holidays", "time_off")
MAX_FEEDS = 10


def _parse_range(text: str) -> tuple[time, time]:
    m = _RANGE.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a range like '09:00-17:00'")
    h1, m1, h2, m2 = map(int, m.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise ValueError(f"{text!r} is not a valid time range")
    start = time(h1, m1)
    end = time.max if h2 == 24 else time(h2, m2)
    if end <= start:
        raise ValueError(f"{text!r} ends before it starts")
    return start, end


_REGION = re.compile(r"^([A-Z]{2,3})(?:-([A-Z0-9]{1,6}))?$")
_DAY = r"\d{4}-\d{2}-\d{2}"
_TIME_OFF = re.compile(rf"^({_DAY})(?:\.\.({_DAY}))?$")
MAX_TIME_OFF_DAYS = 366


def check_region(value: str) -> str:
    """'GB' or 'US-NY' as the holidays package knows it, or ValueError naming the choices."""
    text = value.strip().upper()
    if not text:
        return ""
    m = _REGION.match(text)
    if not m:
        raise ValueError(f"{value!r} is not a country code like 'GB' or 'US-NY'")
    country, subdiv = m.groups()
    supported = holiday_data.list_supported_countries()
    if country not in supported:
        raise ValueError(f"the holidays package knows no country {country!r} (use ISO codes)")
    if subdiv and subdiv not in supported[country]:
        choices = ", ".join(supported[country][:20]) or "none"
        raise ValueError(f"{country} has no subdivision {subdiv!r} (choose from: {choices})")
    return text


def parse_time_off(value: str) -> tuple[date, date]:
    """'2026-12-24' or '2027-01-02..2027-01-06' as (first, last), or ValueError."""
    m = _TIME_OFF.match(value.strip())
    if not m:
        raise ValueError(f"{value!r} is not a day like '2026-12-24' or a range 'A..B'")
    try:
        first = date.fromisoformat(m[1])
        last = date.fromisoformat(m[2]) if m[2] else first
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a real date ({exc})") from None
    if last < first:
        raise ValueError(f"{value!r} ends before it starts")
    if (last - first).days >= MAX_TIME_OFF_DAYS:
        raise ValueError(f"{value!r} is longer than a year; split it or check the years")
    return first, last


def check_feed(value: str, base: Path | None) -> str:
    """A busy feed as the desk reads it: an http(s) address (``webcal://`` becomes
    ``https://``), or a file path (relative to the catalogue) that exists."""
    text = value.strip()
    if text.lower().startswith("webcal://"):
        text = "https://" + text[len("webcal://") :]
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme.lower() not in ("https", "http") or not parts.hostname:
            raise ValueError(f"{feed_label(text)!r} is not an https:// (or webcal://) address")
        if any(c.isspace() for c in text):
            raise ValueError(f"{feed_label(text)!r} contains spaces")
        return text
    path = Path(text).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    if not path.is_file():
        raise ValueError(f"{text!r} is neither an https:// address nor a file that exists")
    return str(path.resolve())


def feed_label(feed: str) -> str:
    """How a feed is named to a person: its host and last path part, never the secret
    middle of a private calendar address; a file by its name."""
    if "://" not in feed:
        return Path(feed).name
    parts = urlsplit(feed)
    last = parts.path.rstrip("/").rsplit("/", 1)[-1]
    return f"{parts.hostname or '?'}/…/{last}" if last else parts.hostname or "?"


class MeetingType(BaseModel):
    """A kind of session an analyst offers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=300)  # a slug, or a Calendly event type URI
    name: str = Field(min_length=1, max_length=120)
    duration_minutes: int = Field(ge=5, le=480)
    price: Decimal = Field(default=Decimal(0), ge=0)
    currency: str = Field(default="GBP", pattern=r"^[A-Z]{3}$")
    description: str = ""
    # Where it happens: a video link (``{reference}`` makes one room per booking), a
    # ``tel:`` number or an address (see booking.domain.place).
    location: str = ""

    @field_validator("location")
    @classmethod
    def _valid_location(cls, value: str) -> str:
        return check_location(value)

    def place(self, reference: str) -> Place | None:
        """Where a booking of this type meets, its reference filled in."""
        return place_of(self.location, reference)

    @property
    def is_free(self) -> bool:
        return self.price == 0

    @property
    def price_label(self) -> str:
        return "Free" if self.is_free else money(self.price, self.currency)


class Analyst(BaseModel):
    """An analyst in the catalogue: who they are and when they can be booked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    slug: Slug
    name: str = Field(min_length=1, max_length=80)
    provider: Literal["local", "calendly"]
    headline: str = ""
    timezone: str
    hours: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    buffer_minutes: int = Field(default=0, ge=0, le=240)
    min_notice_hours: float = Field(default=4, ge=0, le=24 * 30)
    horizon_days: int = Field(default=60, ge=1, le=365)
    slot_step_minutes: int = Field(default=30, ge=5, le=240)
    meeting_types: tuple[MeetingType, ...] = ()
    # Calendly analysts: how the visitor books once their details (and payment) are in:
    # "redirect" to a pre-filled single-use link, an inline "embed" of it on our page, or
    # "direct" through Calendly's Scheduling API without leaving our site.
    handoff: Literal["redirect", "embed", "direct"] = "redirect"
    # Calendly analysts: prices by Calendly event type slug (free when absent).
    prices: dict[str, Decimal] = Field(default_factory=dict)
    # Calendly analysts: the event type slugs to offer (empty: every active, non-secret
    # type the analyst hosts); narrows, never widens, what Calendly lists.
    event_types: tuple[Slug, ...] = ()
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    # Local analysts: their own calendars' "secret address in iCal format" (or a file),
    # whose events block time; public holidays of a country ("GB", "US-NY"); days off.
    busy_feeds: tuple[str, ...] = Field(default=(), max_length=MAX_FEEDS)
    holidays: str = ""
    time_off: tuple[str, ...] = ()

    @field_validator("busy_feeds")
    @classmethod
    def _valid_feeds(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        base = (info.context or {}).get("base")
        feeds = tuple(check_feed(feed, base) for feed in value)
        if len(set(feeds)) != len(feeds):
            raise ValueError("a feed is listed twice")
        return feeds

    @field_validator("holidays")
    @classmethod
    def _valid_region(cls, value: str) -> str:
        return check_region(value)

    @field_validator("time_off")
    @classmethod
    def _valid_time_off(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            parse_time_off(entry)
        return value

    @property
    def time_off_ranges(self) -> tuple[tuple[date, date], ...]:
        """The days off as inclusive (first, last) dates in the analyst's zone."""
        return tuple(parse_time_off(entry) for entry in self.time_off)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/London") from exc
        return value

    @field_validator("hours")
    @classmethod
    def _valid_hours(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for day, ranges in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"{day!r} is not one of {', '.join(WEEKDAYS)}")
            parsed = sorted(_parse_range(r) for r in ranges)
            for (_, end), (start, _) in itertools.pairwise(parsed):
                if start < end:
                    raise ValueError(f"the ranges on {day} overlap")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def working_ranges(self, weekday: int) -> list[tuple[time, time]]:
        """Working ranges on a weekday (0 = Monday), in the analyst's wall-clock time."""
        return sorted(_parse_range(r) for r in self.hours.get(WEEKDAYS[weekday], ()))

    def meeting_type(self, meeting_id: str) -> MeetingType:
        for mt in self.meeting_types:
            if mt.id == meeting_id:
                return mt
        raise NotFound(f"{self.name} offers no meeting type {meeting_id!r}.")


@dataclasses.dataclass(frozen=True)
class Catalogue:
    analysts: tuple[Analyst, ...]
    source: str = "<memory>"

    def get(self, slug: str) -> Analyst:
        for analyst in self.analysts:
            if analyst.slug == slug:
                return analyst
        raise NotFound(f"There is no analyst called {slug!r}.")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Catalogue:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"{path}: the analysts catalogue does not exist.") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc}).") from exc
        return cls.from_dict(data, source=str(path), base=path.parent)

    @classmethod
    def from_dict(
        cls, data: dict, *, source: str = "<memory>", base: Path | None = None
    ) -> Catalogue:
        """The catalogue from TOML data; relative feed paths are read from ``base`` (the
        catalogue's folder)."""
        entries = data.get("analysts")
        if not isinstance(entries, list) or not entries:
            raise ConfigError(f"{source}: add at least one [[analysts]] table.")
        analysts = []
        for index, entry in enumerate(entries):
            who = entry.get("slug") or entry.get("name") or f"#{index + 1}"
            try:
                analyst = Analyst.model_validate(entry, context={"base": base})
            except ValidationError as exc:
                err = exc.errors()[0]
                field = ".".join(
                    f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"]
                ).replace(".[", "[")
                raise ConfigError(
                    f"{source}: analyst {who!r}, field {field!r}: {err['msg']}."
                ) from exc
            misplaced = [k for k in LOCAL_ONLY if analyst.provider != "local" and entry.get(k)]
            if misplaced:
                raise ConfigError(
                    f"{source}: analyst {who!r}, field {misplaced[0]!r}: only local analysts "
                    "have it; Calendly keeps this analyst's calendar."
                )
            if analyst.provider == "local" and not analyst.meeting_types:
                raise ConfigError(
                    f"{source}: analyst {who!r}, field 'meeting_types': "
                    "a local analyst needs at least one meeting type."
                )
            ids = [mt.id for mt in analyst.meeting_types]
            if len(ids) != len(set(ids)):
                raise ConfigError(
                    f"{source}: analyst {who!r}, field 'meeting_types': ids must be unique."
                )
            analysts.append(analyst)
        slugs = [a.slug for a in analysts]
        if len(slugs) != len(set(slugs)):
            raise ConfigError(f"{source}: two analysts share a slug; slugs must be unique.")
        return cls(tuple(analysts), source)
