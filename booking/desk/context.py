"""What every journey shares: the wiring (settings, catalogue, store, clock, the outside
parties), the modes decided once from it, and the few steps all journeys take (record a
funnel step, queue an email, read a booking)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from booking.cache import TTLCache
from booking.calendly.client import CalendlyClient
from booking.calendly.links import is_calendly_host
from booking.calendly.questions import BookingForm
from booking.calendly.sandbox import CalendlySandbox
from booking.domain import funnel
from booking.domain.catalogue import Analyst, Catalogue, MeetingType
from booking.domain.records import new_attempt_id
from booking.domain.request import BookingRequest, Details, check_details, zone
from booking.errors import BookingError
from booking.feeds import BusyFeeds
from booking.mail import Mail, SmtpTransport, deliver_due, enqueue
from booking.payments.provider import PaymentProvider
from booking.payments.sandbox import SandboxCheckout
from booking.payments.stripe import StripeCheckout
from booking.settings import Settings
from booking.store import Store, iso

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
STRIPE_CHECKOUT = "https://checkout.stripe.com/"


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Modes:
    """Which outside parties are real and which are this desk's sandboxes, decided once
    when the desk is built: where visitors may be sent, whose embed messages are believed,
    and how the pages name the places they send visitors to."""

    calendly_sandbox: bool
    checkout_sandbox: bool
    redirect_prefixes: tuple[str, ...]
    embed_origins: tuple[str, ...]

    @classmethod
    def of(cls, public_url: str, *, calendly_sandbox: bool, checkout_sandbox: bool, stripe: bool):
        ours = public_url.rstrip("/")
        prefixes = [f"{ours}/sandbox/calendly/"] if calendly_sandbox else []
        prefixes += [f"{ours}/sandbox/checkout/"] if checkout_sandbox else []
        prefixes += [STRIPE_CHECKOUT] if stripe else []
        return cls(
            calendly_sandbox,
            checkout_sandbox,
            tuple(prefixes),
            (ours,) if calendly_sandbox else ("https://calendly.com",),
        )

    def may_redirect_to(self, url: str) -> bool:
        """Only Calendly's and Stripe Checkout's own pages, or this desk's sandbox pages."""
        return url.startswith(self.redirect_prefixes) or is_calendly_host(url)

    @property
    def calendly_label(self) -> str:
        return "Calendly (sandbox)" if self.calendly_sandbox else "Calendly"

    @property
    def checkout_label(self) -> str:
        return "the checkout (sandbox)" if self.checkout_sandbox else "the checkout"


@dataclass
class Context:
    """The wiring every journey reads; ``build_desk`` fills it from settings."""

    settings: Settings
    catalogue: Catalogue
    store: Store
    clock: Clock = system_clock
    calendly: CalendlyClient | None = None
    sandbox: CalendlySandbox | None = None
    payments: PaymentProvider | None = None
    checkout_sandbox: SandboxCheckout | None = None
    stripe: StripeCheckout | None = None
    mail_transport: SmtpTransport | None = None
    availability_cache: TTLCache = field(default_factory=lambda: TTLCache(60))
    catalogue_cache: TTLCache = field(default_factory=lambda: TTLCache(300))
    # what each Calendly event type asks, as last read (for webhooks: read without a request)
    calendly_forms: dict[str, BookingForm] = field(default_factory=dict)
    modes: Modes = field(init=False)  # derived from the wiring above, once
    feeds: BusyFeeds | None = None  # local analysts' own calendars (busy_feeds)

    def __post_init__(self) -> None:
        if self.feeds is None:
            self.feeds = BusyFeeds(
                self.store, ttl_seconds=self.settings.feed_ttl_seconds, clock=self.clock
            )
        self.modes = Modes.of(
            self.settings.public_url,
            calendly_sandbox=self.sandbox is not None,
            checkout_sandbox=self.checkout_sandbox is not None,
            stripe=self.stripe is not None,
        )

    @property
    def brand(self) -> str:
        return self.settings.brand_name

    def link(self, path: str) -> str:
        """An address on this desk, e.g. ``link("/paid?attempt=…")``."""
        return self.settings.public_url.rstrip("/") + path

    def analyst(self, slug: str) -> Analyst:
        return self.catalogue.get(slug)

    # -- attempts and the funnel -------------------------------------------------------
    def start_attempt(self, *, source: str = "web", visitor_tz: str | None = None) -> str:
        """A new attempt (funnel step 'started'); returns its id."""
        attempt_id = new_attempt_id()
        self.store.create_attempt(
            attempt_id, now=self.clock(), source=source, visitor_tz=visitor_tz
        )
        return attempt_id

    def attempt_for(self, attempt_id: str | None, source: str, timezone: str) -> str:
        """The given attempt, or a new one when there is none yet."""
        return attempt_id or self.start_attempt(source=source, visitor_tz=timezone)

    def record(
        self, attempt_id: str, step: str, *, attempt_fields: dict | None = None, **detail
    ) -> None:
        """Append a funnel event, and optionally note what the visitor chose on the attempt."""
        now = self.clock()
        with self.store.write():
            if attempt_fields:
                self.store.update_attempt(attempt_id, now=now, **attempt_fields)
            self.store.add_event(attempt_id, step, now=now, detail=detail or None)

    def take_details(
        self, attempt_id: str, who: Analyst, meeting: MeetingType, request: BookingRequest
    ) -> tuple[Details, datetime, ZoneInfo]:
        """Check what the visitor sent and note it on the attempt (step details_submitted).

        Returns the normalised details, the start in UTC and the visitor's zone.
        """
        visitor_zone = zone(request.timezone)
        details = check_details(request.name, request.email, request.notes)
        start = request.utc_start()
        now = self.clock()
        with self.store.write():
            if not (self.store.attempt(attempt_id) or {}).get("slot_start"):
                # an API caller chose the time with its request: the step the pages note
                # when a time is picked, so the funnel never has more details than times
                self.store.add_event(attempt_id, funnel.SLOT_CHOSEN, now=now)
            self.store.update_attempt(
                attempt_id,
                now=now,
                analyst=who.slug,
                meeting_type=meeting.id,
                provider=who.provider,
                slot_start=iso(start),
                name=details.name,
                email=details.email,
                notes=details.notes,
                visitor_tz=request.timezone,
            )
            self.store.add_event(attempt_id, funnel.DETAILS_SUBMITTED, now=now)
        return details, start, visitor_zone

    @contextmanager
    def failure_recorded(self, attempt_id: str, step: str) -> Iterator[None]:
        """Record a BookingError raised inside as funnel ``step`` (with its reason), then
        let it go on to the caller."""
        try:
            yield
        except BookingError as exc:
            self.store.add_event(attempt_id, step, now=self.clock(), detail={"reason": exc.code})
            raise

    # -- email -------------------------------------------------------------------------
    def send(self, render: Callable[..., Mail], *args, **kwargs) -> None:
        """Write an email (``render`` is one of ``booking.mail``'s) and queue it; a failure
        here is logged and never undoes what was booked."""
        try:
            message = render(*args, brand=self.brand, **kwargs)
            enqueue(
                self.store,
                message,
                now=self.clock(),
                sender=self.settings.mail_from,
                brand=self.brand,
            )
        except Exception:
            log.exception("could not queue an email (%s)", render.__name__)

    def deliver_mail(self) -> Counter:
        """Send what is due in the outbox (kept for the owner when no SMTP is set)."""
        return deliver_due(self.store, self.mail_transport, now=self.clock())
