"""Building THE desk from settings: which outside parties are real, which are sandboxes.

``build_desk`` is the factory the edges and the tests use. The server (app.py) builds one
desk per process and ``install``s it, so the pages and the HTTP routes share it (one
availability cache, one brand); ``desk_for`` serves edges that run without app.py (the
CLI, Streamlit's AppTest) with one desk per settings.
"""

from __future__ import annotations

import functools

import requests

from booking.cache import TTLCache
from booking.calendly.client import CalendlyClient
from booking.calendly.sandbox import CalendlySandbox
from booking.desk import Desk
from booking.desk.context import Clock, system_clock
from booking.domain.catalogue import Catalogue
from booking.errors import ConfigError
from booking.mail import from_settings
from booking.payments.sandbox import SandboxCheckout
from booking.payments.stripe import StripeCheckout
from booking.settings import Settings
from booking.store import Store

_installed: Desk | None = None


def build_desk(
    settings: Settings, *, clock: Clock = system_clock, session: requests.Session | None = None
) -> Desk:
    """Build the whole desk from settings. With no Calendly token the Calendly sandbox is
    mounted beneath the real client's session; with no Stripe key, the sandbox checkout."""
    catalogue = Catalogue.load(settings.catalogue_path)
    if settings.mode == "live":
        check_live(settings, catalogue)
    store = Store(settings.db_path)
    session = session or requests.Session()
    sandbox = None
    token = settings.calendly_token
    if not token:
        sandbox = CalendlySandbox(
            store,
            public_url=settings.public_url,
            api_url=settings.calendly_api_url,
            latency_ms=settings.sandbox_latency_ms,
            clock=clock,
        )
        session.mount(settings.calendly_api_url.rstrip("/") + "/", sandbox.adapter())
        sandbox.ensure_subscription(
            f"{settings.public_url.rstrip('/')}/api/calendly/webhook",
            settings.calendly_signing_key.split(",")[0].strip() or None,
        )
        token = "sandbox"  # noqa: S105 - not a secret: the sandbox takes any bearer token
    client = CalendlyClient(token, base_url=settings.calendly_api_url, session=session, clock=clock)
    stripe = checkout_sandbox = None
    if settings.stripe_secret_key:
        stripe = StripeCheckout(
            settings.stripe_secret_key,
            settings.stripe_webhook_secret,
            api_base=settings.stripe_api_url,
        )
    else:
        checkout_sandbox = SandboxCheckout(store, public_url=settings.public_url, clock=clock)
    desk = Desk(
        settings,
        catalogue,
        store,
        clock,
        calendly=client,
        sandbox=sandbox,
        payments=stripe or checkout_sandbox,
        checkout_sandbox=checkout_sandbox,
        stripe=stripe,
        mail_transport=from_settings(settings),
        availability_cache=TTLCache(settings.calendly_cache_seconds),
    )
    if checkout_sandbox is not None:  # paying in the sandbox settles at once, like a webhook
        checkout_sandbox.on_paid = desk.checkout.settle_quietly
    return desk


def check_live(settings: Settings, catalogue: Catalogue) -> None:
    """BOOKING_MODE=live refuses what only a demo may do, naming the setting to fix."""
    problems = []
    priced = any(m.price > 0 for a in catalogue.analysts for m in a.meeting_types) or any(
        price > 0 for a in catalogue.analysts for price in a.prices.values()
    )
    if priced and not settings.stripe_secret_key:
        problems.append(
            "priced sessions would be paid in the sandbox checkout: set STRIPE_SECRET_KEY "
            "(and STRIPE_WEBHOOK_SECRET)"
        )
    if any(a.provider == "calendly" for a in catalogue.analysts) and not settings.calendly_token:
        problems.append(
            "Calendly analysts would use the offline Calendly sandbox: set CALENDLY_TOKEN "
            "(and CALENDLY_WEBHOOK_SIGNING_KEY)"
        )
    if not settings.owner_password and not settings.owner_emails:
        problems.append("no owner can sign in: set BOOKING_OWNER_PASSWORD or BOOKING_OWNER_EMAILS")
    if problems:
        raise ConfigError("BOOKING_MODE=live, but " + "; ".join(problems) + ".")


@functools.lru_cache(maxsize=8)
def desk_for(settings: Settings) -> Desk:
    """One desk per settings in this process (edges that run without the server)."""
    return build_desk(settings)


def install(desk: Desk) -> Desk:
    """Make ``desk`` the one this process serves (app.py does, once)."""
    global _installed
    _installed = desk
    return desk


def installed() -> Desk | None:
    """The desk the server built, if this process is the server."""
    return _installed
