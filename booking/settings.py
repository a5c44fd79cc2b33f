"""Settings, read once at the edge into a frozen object whose secrets print masked.

Every setting is an environment variable (Streamlit secrets of the same name work too,
see ``app.py``); ``Settings.describe()`` is the list the README's configuration table is
checked against.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from booking.errors import ConfigError

# Where Streamlit looks for secrets by default (its `secrets.files` option).
SECRET_FILES = ("~/.streamlit/secrets.toml", ".streamlit/secrets.toml")

# ---------------------------------------------------------------------------- settings


def reminder_leads(text: str) -> tuple[float, ...]:
    """BOOKING_REMINDER_HOURS ('24,1', or 'none') as hours, largest first, or ConfigError."""
    if text.strip().lower() in ("none", "off", "0"):
        return ()
    try:
        leads = {float(part) for part in text.split(",") if part.strip()}
    except ValueError:
        leads = {-1.0}
    if any(not 0 < hours <= 24 * 30 for hours in leads):
        raise ConfigError(
            f"BOOKING_REMINDER_HOURS={text!r} should be hours before the meeting between 0 and "
            "720, comma-separated, such as 24,1 (or none)."
        )
    return tuple(sorted(leads, reverse=True))


def _setting(env: str, default, help: str, *, secret: bool = False):
    return dataclasses.field(default=default, metadata={"env": env, "help": help, "secret": secret})


@dataclasses.dataclass(frozen=True)
class _Declared:
    """Every setting: its field, environment variable, default and help text (the README's
    configuration table is checked against these)."""

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
    reconcile_share_percent: int = _setting(
        "CALENDLY_RECONCILE_SHARE_PERCENT",
        30,
        "Share of Calendly's per-minute request limit one reconciliation run may spend; it "
        "also stops while fewer than half the minute's requests remain (kept for visitors) "
        "and the next run resumes where it stopped.",
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
    refund_policy: str = _setting(
        "BOOKING_REFUND_POLICY",
        "Cancel any time before the session and your payment is refunded in full.",
        "The cancellation and refund policy shown beside Proceed to Pay (empty: none shown).",
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
    feed_ttl_seconds: int = _setting(
        "BOOKING_FEED_TTL_SECONDS",
        300,
        "How long a local analyst's calendar feed (`busy_feeds`) is shared between visitors "
        "before it is asked again (a 304 when unchanged).",
    )
    reminder_hours: str = _setting(
        "BOOKING_REMINDER_HOURS",
        "24,1",
        "Comma-separated hours before a local meeting to email the visitor a reminder "
        "(`none`: no reminders); Calendly bookings only with BOOKING_CALENDLY_CONFIRMATIONS=1.",
    )
    retention_days: int = _setting(
        "BOOKING_RETENTION_DAYS",
        365,
        "Days a visitor's personal data is kept after their meeting (or the attempt's last "
        "activity); then it is erased as `booking erase` does, counts kept (0: keep forever).",
    )
    sandbox_latency_ms: int = _setting(
        "CALENDLY_SANDBOX_LATENCY_MS",
        0,
        "Artificial delay per sandbox API call, to imitate the network (benchmarks).",
    )
    mode: str = _setting(
        "BOOKING_MODE",
        "demo",
        "`demo`: the sandboxes may stand in for Calendly and payments (plainly labelled). "
        "`live`: the desk refuses to start while a priced session would be paid in the "
        "sandbox, a Calendly analyst would use the Calendly sandbox, or no owner sign-in is set.",
    )
    trusted_proxies: str = _setting(
        "BOOKING_TRUSTED_PROXIES",
        "",
        "Comma-separated addresses or networks of your reverse proxies; only their "
        "`X-Forwarded-For` names the client. Empty: the connection's own address.",
    )
    limit_bookings_per_hour: int = _setting(
        "BOOKING_LIMIT_BOOKINGS_PER_HOUR",
        10,
        "Booking tries (bookings, held times, Calendly hand-offs) per client address per hour "
        "(0: no limit).",
    )
    limit_calendly_per_hour: int = _setting(
        "BOOKING_LIMIT_CALENDLY_PER_HOUR",
        30,
        "Requests that spend the business's Calendly quota (availability not yet cached, "
        "single-use links, direct bookings) per client address per hour (0: no limit).",
    )
    limit_active_per_email: int = _setting(
        "BOOKING_LIMIT_ACTIVE_PER_EMAIL",
        3,
        "Upcoming bookings (and held times) one email address may have with one analyst; "
        "also, one email holds at most one time at once while paying (0: no limit).",
    )
    max_body_bytes: int = _setting(
        "BOOKING_MAX_BODY_BYTES",
        16_384,
        "Largest JSON request body the API reads; larger ones get 413 before being read.",
    )
    owner_session_hours: int = _setting(
        "BOOKING_OWNER_SESSION_HOURS",
        12,
        "How long the owner's sign-in (a signed, HttpOnly, SameSite=Strict cookie) lasts.",
    )


@dataclasses.dataclass(frozen=True, repr=False)
class Settings(_Declared):
    """Everything that can be configured (see ``_Declared``), read once at the edge and
    checked. Secrets print masked."""

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

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        secret_files: tuple[str | os.PathLike, ...] = SECRET_FILES,
    ) -> Settings:
        """The environment overlaid with Streamlit's secrets files (later files win, and a
        secret wins over the environment, as Streamlit itself does when it loads them), so
        the server, its pages and the CLI all read the same settings."""
        merged = dict(os.environ if environ is None else environ)
        for path in secret_files:
            try:
                data = tomllib.loads(Path(path).expanduser().read_text())
            except FileNotFoundError:
                continue
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"{path}: cannot read the secrets file ({exc}).") from exc
            merged.update({k: str(v) for k, v in data.items() if type(v) in (str, int, float)})
        return cls.from_env(merged)

    def secret_values(self) -> list[str]:
        """The values of every secret setting that is set (for the log filter)."""
        return [
            str(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.metadata["secret"] and getattr(self, f.name)
        ] + list(self.calendly_signing_keys)

    @property
    def calendly_signing_keys(self) -> tuple[str, ...]:
        """CALENDLY_WEBHOOK_SIGNING_KEY's comma-separated keys (the new one and a retiring one)."""
        return tuple(k.strip() for k in self.calendly_signing_key.split(",") if k.strip())

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """BOOKING_TRUSTED_PROXIES as networks (ValueError when one is not an address); an
        IPv4-mapped one (::ffff:10.0.0.1) as the IPv4 network it is, as peers are read."""
        parts = [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]
        return tuple(_unmapped(ipaddress.ip_network(p, strict=False)) for p in parts)

    @property
    def payments_mode(self) -> str:
        return "stripe" if self.stripe_secret_key else "sandbox"

    @property
    def mail_mode(self) -> str:
        return "smtp" if self.smtp_host else "outbox"

    @property
    def reminder_leads(self) -> tuple[float, ...]:
        return reminder_leads(self.reminder_hours)

    def validate(self) -> None:
        if self.mode not in ("demo", "live"):
            raise ConfigError(f"BOOKING_MODE={self.mode!r} should be demo or live.")
        try:
            _ = self.proxy_networks
        except ValueError as exc:
            raise ConfigError(
                f"BOOKING_TRUSTED_PROXIES={self.trusted_proxies!r}: {exc}; use addresses or "
                "networks such as 10.0.0.1, 172.16.0.0/12."
            ) from exc
        if self.smtp_security not in ("starttls", "ssl", "none"):
            raise ConfigError(
                f"BOOKING_SMTP_SECURITY={self.smtp_security!r} should be starttls, ssl or none."
            )
        reminder_leads(self.reminder_hours)
        if self.retention_days < 0:
            raise ConfigError("BOOKING_RETENTION_DAYS should be 0 (keep forever) or more days.")
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


def _unmapped(network: ipaddress.IPv4Network | ipaddress.IPv6Network):
    """An IPv4-mapped IPv6 network (inside ::ffff:0:0/96) as its IPv4 network."""
    mapped = ipaddress.ip_network("::ffff:0:0/96")
    if network.version == 6 and network.prefixlen >= 96 and network.subnet_of(mapped):
        low = int(network.network_address) & 0xFFFFFFFF
        return ipaddress.ip_network((low, network.prefixlen - 96))
    return network
