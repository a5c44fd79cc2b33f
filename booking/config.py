"""Settings and the analysts catalogue, read once at the edge into frozen objects.

Every setting is an environment variable (Streamlit secrets of the same name work too,
see ``ui_kit``); ``Settings.describe()`` is the list the README's configuration table is
checked against.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from booking.errors import ConfigError, NotFound

# ---------------------------------------------------------------------------- settings


def _setting(env: str, default, help: str, *, secret: bool = False):
    return dataclasses.field(default=default, metadata={"env": env, "help": help, "secret": secret})


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything that can be configured. Secrets print masked."""

    db_path: str = _setting(
        "BOOKING_DB_PATH", "data/booking.db", "SQLite file holding attempts, funnel and bookings."
    )
    catalogue_path: str = _setting(
        "BOOKING_CATALOGUE", "data/analysts.toml", "The analysts catalogue (TOML)."
    )
    brand_name: str = _setting(
        "BOOKING_BRAND_NAME", "Booking Desk", "Name shown in the header, titles and .ics files."
    )
    default_timezone: str = _setting(
        "BOOKING_DEFAULT_TIMEZONE",
        "Europe/London",
        "Time zone used when the visitor's browser does not report one.",
    )

    public_url: str = _setting(
        "BOOKING_PUBLIC_URL",
        "http://localhost:8501",
        "The address visitors reach the app at; Calendly's way back and the sandbox use it. "
        "`streamlit run app.py --server.port N` sets it to `http://localhost:N` when unset.",
    )
    calendly_token: str = _setting(
        "CALENDLY_TOKEN",
        "",
        "Calendly personal access token. Empty: the built-in offline Calendly sandbox.",
        secret=True,
    )
    calendly_signing_key: str = _setting(
        "CALENDLY_WEBHOOK_SIGNING_KEY",
        "",
        "Signing key(s) of the Calendly webhook subscription, comma-separated while rotating "
        "(`booking webhooks register` prints one). The sandbox makes its own when empty.",
        secret=True,
    )
    webhook_tolerance_seconds: int = _setting(
        "CALENDLY_WEBHOOK_TOLERANCE_SECONDS",
        180,
        "How far a webhook signature's timestamp may be from our clock.",
    )
    reconcile_minutes: int = _setting(
        "CALENDLY_RECONCILE_MINUTES",
        15,
        "How often the app reads Calendly's scheduled events to fill in missed webhooks "
        "(0: never; `booking reconcile` runs it by hand).",
    )
    owner_password: str = _setting(
        "BOOKING_OWNER_PASSWORD",
        "",
        "Password for the owner's analytics page (secret). Empty: only OIDC owners "
        "(BOOKING_OWNER_EMAILS) can sign in.",
        secret=True,
    )
    owner_emails: str = _setting(
        "BOOKING_OWNER_EMAILS",
        "",
        "Comma-separated emails allowed in as owner through Streamlit's OIDC login "
        "(`[auth]` in .streamlit/secrets.toml).",
    )
    incomplete_after_hours: int = _setting(
        "BOOKING_INCOMPLETE_AFTER_HOURS",
        24,
        "An attempt with a Calendly link (or a payment started) and no booking after this "
        "many hours counts as incomplete.",
    )
    calendly_api_url: str = _setting(
        "CALENDLY_API_URL", "https://api.calendly.com", "Base URL of Calendly's API."
    )
    calendly_cache_seconds: int = _setting(
        "CALENDLY_AVAILABILITY_TTL_SECONDS",
        60,
        "How long Calendly availability is shared between visitors before it is asked again.",
    )
    hold_minutes: int = _setting(
        "BOOKING_HOLD_MINUTES",
        10,
        "How long a local slot is held for a visitor who is paying; an abandoned payment "
        "releases it then.",
    )
    stripe_secret_key: str = _setting(
        "STRIPE_SECRET_KEY",
        "",
        "Stripe secret key: priced sessions are paid through Stripe Checkout. Empty: the "
        "built-in sandbox checkout page.",
        secret=True,
    )
    stripe_webhook_secret: str = _setting(
        "STRIPE_WEBHOOK_SECRET",
        "",
        "Signing secret (`whsec_…`) of the Stripe webhook endpoint `/api/stripe/webhook`.",
        secret=True,
    )
    stripe_api_url: str = _setting(
        "STRIPE_API_URL", "https://api.stripe.com", "Base URL of Stripe's API."
    )
    smtp_host: str = _setting(
        "BOOKING_SMTP_HOST",
        "",
        "SMTP server for emails. Empty: emails are kept in the outbox on the owner page.",
    )
    smtp_port: int = _setting("BOOKING_SMTP_PORT", 587, "SMTP port.")
    smtp_security: str = _setting(
        "BOOKING_SMTP_SECURITY", "starttls", "`starttls`, `ssl` or `none`."
    )
    smtp_username: str = _setting("BOOKING_SMTP_USERNAME", "", "SMTP user name, if any.")
    smtp_password: str = _setting(
        "BOOKING_SMTP_PASSWORD", "", "SMTP password, if any.", secret=True
    )
    mail_from: str = _setting(
        "BOOKING_MAIL_FROM", "bookings@localhost", "Sender address of the desk's emails."
    )
    calendly_confirmations: int = _setting(
        "BOOKING_CALENDLY_CONFIRMATIONS",
        0,
        "1: also send our own branded confirmation for Calendly bookings (Calendly sends its own).",
    )
    followup_max: int = _setting(
        "BOOKING_FOLLOWUP_MAX",
        2,
        "Follow-up emails at most per incomplete attempt (0: none), the first "
        "BOOKING_INCOMPLETE_AFTER_HOURS after it stalled.",
    )
    followup_spacing_hours: int = _setting(
        "BOOKING_FOLLOWUP_SPACING_HOURS", 48, "Hours between two follow-ups of one attempt."
    )
    followup_minutes: int = _setting(
        "BOOKING_FOLLOWUP_RUN_MINUTES",
        15,
        "How often the app looks for incomplete attempts to follow up (0: never; "
        "`booking followups run` does it from cron).",
    )
    sandbox_latency_ms: int = _setting(
        "CALENDLY_SANDBOX_LATENCY_MS",
        0,
        "Artificial delay per sandbox API call, to imitate the network (benchmarks).",
    )

    @property
    def calendly_mode(self) -> str:
        return "live" if self.calendly_token else "sandbox"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        values = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(f.metadata["env"])
            if raw not in (None, ""):
                try:
                    values[f.name] = type(f.default)(raw)
                except ValueError as exc:
                    raise ConfigError(
                        f"{f.metadata['env']}={raw!r} should be a whole number."
                    ) from exc
        settings = cls(**values)
        settings.validate()
        return settings

    @property
    def payments_mode(self) -> str:
        return "stripe" if self.stripe_secret_key else "sandbox"

    @property
    def mail_mode(self) -> str:
        return "smtp" if self.smtp_host else "outbox"

    def validate(self) -> None:
        if self.smtp_security not in ("starttls", "ssl", "none"):
            raise ConfigError(
                f"BOOKING_SMTP_SECURITY={self.smtp_security!r} should be starttls, ssl or none."
            )
        try:
            ZoneInfo(self.default_timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"BOOKING_DEFAULT_TIMEZONE={self.default_timezone!r} is not an IANA time zone "
                "such as Europe/London."
            ) from exc

    @classmethod
    def describe(cls) -> list[dict]:
        """One row per setting: env name, default, help, secret flag."""
        return [
            {
                "env": f.metadata["env"],
                "default": f.default,
                "help": f.metadata["help"],
                "secret": f.metadata["secret"],
            }
            for f in dataclasses.fields(cls)
        ]

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            shown = "'***'" if f.metadata["secret"] and value else repr(value)
            parts.append(f"{f.name}={shown}")
        return f"Settings({', '.join(parts)})"

    __str__ = __repr__


# --------------------------------------------------------------------------- catalogue

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
CURRENCY_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€"}


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
        if self.is_free:
            return "Free"
        symbol = CURRENCY_SYMBOLS.get(self.currency)
        amount = f"{self.price:,.2f}".removesuffix(".00")
        return f"{symbol}{amount}" if symbol else f"{amount} {self.currency}"


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
