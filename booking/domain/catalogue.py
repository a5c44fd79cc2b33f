"""The analysts catalogue (TOML), validated at start-up into frozen objects."""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import tomllib
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from booking.domain.wording import money
from booking.errors import ConfigError, NotFound

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


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


class MeetingType(BaseModel):
    """A kind of session an analyst offers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=300)  # a slug, or a Calendly event type URI
    name: str = Field(min_length=1, max_length=120)
    duration_minutes: int = Field(ge=5, le=480)
    price: Decimal = Field(default=Decimal(0), ge=0)
    currency: str = Field(default="GBP", pattern=r"^[A-Z]{3}$")
    description: str = ""

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
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")

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
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict, *, source: str = "<memory>") -> Catalogue:
        entries = data.get("analysts")
        if not isinstance(entries, list) or not entries:
            raise ConfigError(f"{source}: add at least one [[analysts]] table.")
        analysts = []
        for index, entry in enumerate(entries):
            who = entry.get("slug") or entry.get("name") or f"#{index + 1}"
            try:
                analyst = Analyst.model_validate(entry)
            except ValidationError as exc:
                err = exc.errors()[0]
                field = ".".join(
                    f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"]
                ).replace(".[", "[")
                raise ConfigError(
                    f"{source}: analyst {who!r}, field {field!r}: {err['msg']}."
                ) from exc
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
