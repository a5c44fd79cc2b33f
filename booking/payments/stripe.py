"""Stripe Checkout adapter: create a hosted Checkout Session, read its status, verify webhooks.

Transport: the official SDK's ``StripeClient`` over ``stripe.RequestsClient`` (so ``responses``
can fake Stripe in tests), with a per-attempt timeout and at most ``max_network_retries``
retries of connection failures, 409s and 5xx (safe: every create carries an Idempotency-Key).

Errors: every Stripe failure becomes ``PaymentError`` whose text a visitor can act on; the
technical detail goes to ``logging``. Webhook signatures are verified here rather than with
``stripe.Webhook`` because the SDK reads the wall clock and only rejects old timestamps; a
bad signature raises a ``booking.signatures.SignatureError`` subclass. The secret key never
appears in logs, reprs or error messages.

Idempotency of webhook handling is the caller's job: Stripe redelivers events, and a replayed
event parses to the same dict every time (key the effect on ``event['id']`` or the session id).
``checkout.session.completed`` can arrive with ``payment_status == 'unpaid'`` for delayed
payment methods; read ``Checkout.from_session(event['data']['object']).status``.
"""

from __future__ import annotations

import json
import logging
import time
from decimal import Decimal
from typing import Any

import stripe

from booking import signatures
from booking.errors import ConfigError, PaymentError
from booking.payments.provider import Checkout
from booking.signatures import NotJson, UnusableDelivery

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.stripe.com"
HEADER = "Stripe-Signature"
TOLERANCE = 300  # seconds, Stripe's default
HANDLED_EVENTS = frozenset({"checkout.session.completed", "checkout.session.expired"})

UNAVAILABLE = (
    "The payment service is not answering right now — nothing was charged. "
    "Please try again in a minute."
)
BUSY = "The payment service is busy right now — nothing was charged. Please try again in a minute."
AUTH = (
    "Card payments are unavailable right now: the desk's payment connection needs attention. "
    "Nothing was charged; please try again later."
)
REFUSED = (
    "The payment service could not start this payment — nothing was charged. "
    "Please try again, or contact us if it keeps happening."
)
DECLINED = "The card was declined — nothing was charged. Please try another card."
NOT_FOUND = "We could not find that payment. Please start the booking again."

# https://docs.stripe.com/currencies — amounts go to the API in the currency's minor unit.
ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga"}
    | {"pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})  # last minor digit must be 0
WHOLE_UNITS_ONLY = frozenset({"isk"})  # two-decimal in the API, but only whole krónur


def minor_units(amount: Decimal, currency: str) -> int:
    """The exact integer Stripe expects for ``amount`` in ``currency`` (149.50 GBP → 14950).

    Never rounds: a price the currency cannot express raises ``ConfigError``.
    """
    if isinstance(amount, float) or not isinstance(amount, Decimal | int):
        raise TypeError("amount must be a Decimal (or int), not a float")
    amount = Decimal(amount)
    code = currency.lower()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ConfigError(f"{currency!r} is not a three-letter currency code.")
    if not amount.is_finite() or amount <= 0:
        raise ConfigError(f"The price {amount} {currency.upper()} must be a positive amount.")
    exponent = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
    scaled = amount.scaleb(exponent)
    whole = scaled == scaled.to_integral_value()
    if code in THREE_DECIMAL:
        whole = whole and scaled % 10 == 0
    if code in WHOLE_UNITS_ONLY:
        whole = whole and amount == amount.to_integral_value()
    if not whole:
        raise ConfigError(
            f"The price {amount} {currency.upper()} has more decimal places than "
            f"{currency.upper()} payments allow."
        )
    return int(scaled)


class StripeCheckout:
    """Stripe Checkout as a payment provider (see ``booking.payments.PaymentProvider``)."""

    name = "stripe"

    def __init__(
        self,
        secret_key: str,
        webhook_secret: str = "",
        *,
        api_base: str = DEFAULT_API_URL,
        timeout: float = 10,
        max_network_retries: int = 2,
    ) -> None:
        self._key = secret_key or ""
        self._webhook_secret = webhook_secret or ""
        self.api_base = api_base.rstrip("/")
        self.timeout = timeout
        self._client = stripe.StripeClient(
            self._key or "sk_missing",  # calls are refused before they reach the SDK
            base_addresses={"api": self.api_base},
            http_client=stripe.RequestsClient(timeout=timeout),
            max_network_retries=max_network_retries,
        )

    def __repr__(self) -> str:
        mode = "live" if self._key.startswith(("sk_live_", "rk_live_")) else "test"
        return f"StripeCheckout(api_base={self.api_base!r}, mode={mode!r}, secret_key='***')"

    # -- API -------------------------------------------------------------------------
    def create(
        self,
        *,
        attempt_id: str,
        amount: Decimal,
        currency: str,
        description: str,
        email: str,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> Checkout:
        """Start a hosted payment; the same ``idempotency_key`` always yields the same session.

        ``success_url`` should contain Stripe's literal ``{CHECKOUT_SESSION_ID}`` placeholder.
        """
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": minor_units(amount, currency),
                        "product_data": {"name": description},
                    },
                    "quantity": 1,
                }
            ],
            "client_reference_id": attempt_id,
            "metadata": {"attempt_id": attempt_id},
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        if email:
            params["customer_email"] = email
        return self._call(
            "create a checkout session",
            lambda: self._client.v1.checkout.sessions.create(
                params, {"idempotency_key": idempotency_key}
            ),
        )

    def retrieve(self, checkout_id: str) -> Checkout:
        """The session's current state: 'paid', 'expired' or still 'open'."""
        if not checkout_id or not checkout_id.isprintable():
            raise PaymentError(NOT_FOUND)
        return self._call(
            f"retrieve checkout session {checkout_id}",
            lambda: self._client.v1.checkout.sessions.retrieve(checkout_id),
        )

    def expire(self, checkout_id: str) -> Checkout:
        """Expire an open session so it can no longer be paid (the visitor cancelled, or
        chose another time). Stripe refuses to expire a session that is not open (already
        complete or expired): then its current state is read and returned instead."""
        if not checkout_id or not checkout_id.isprintable():
            raise PaymentError(NOT_FOUND)
        try:
            return self._call(
                f"expire checkout session {checkout_id}",
                lambda: self._client.v1.checkout.sessions.expire(checkout_id),
                quiet=(stripe.InvalidRequestError,),
            )
        except _NotOpen:
            return self.retrieve(checkout_id)

    def _call(self, what: str, request, *, quiet: tuple = ()) -> Checkout:
        if not self._key:
            log.error("Stripe: cannot %s: no secret key is configured", what)
            raise PaymentError(AUTH)
        try:
            session = request()
            return Checkout.from_session(session.to_dict())
        except stripe.StripeError as exc:
            if isinstance(exc, quiet) and exc.http_status == 400:
                log.info("Stripe: cannot %s: %s", what, self._scrub(str(exc.code or "")))
                raise _NotOpen from None
            self._log_failure(what, exc)
            raise PaymentError(_message_for(exc)) from None
        except (AttributeError, TypeError, ValueError) as exc:
            log.error("Stripe: cannot %s: unexpected answer (%s)", what, self._scrub(str(exc)))
            raise PaymentError(UNAVAILABLE) from None

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "sk_***") if self._key else text

    def _log_failure(self, what: str, exc: stripe.StripeError) -> None:
        log.warning(
            "Stripe: cannot %s: %s (http %s, code %s, request %s): %s",
            what,
            type(exc).__name__,
            exc.http_status,
            exc.code,
            exc.request_id,
            self._scrub(exc.user_message or str(exc) or ""),
        )

    # -- webhooks --------------------------------------------------------------------
    def construct_event(
        self, body: bytes, signature_header: str | None, *, now: float | None = None
    ) -> dict | None:
        """Verify a delivery to the webhook endpoint and read it, in one call (as stripe's
        own ``Webhook.construct_event``): the event dict for checkout.session.completed /
        .expired, None for other types. Raises a ``SignatureError`` when the delivery cannot
        be trusted, ``NotJson`` / ``UnusableDelivery`` when a signed body cannot be read."""
        verify(
            signature_header,
            body,
            self._webhook_secret,
            now=time.time() if now is None else now,
        )
        try:
            event = json.loads(body)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
            raise NotJson("The webhook body is not JSON.") from None
        if (
            not isinstance(event, dict)
            or not isinstance(event.get("type"), str)
            or not isinstance(event.get("data"), dict)
            or not isinstance(event["data"].get("object"), dict)
            or not isinstance(event["data"]["object"].get("id", ""), str)
            or not isinstance(event["data"]["object"].get("client_reference_id") or "", str)
        ):
            raise UnusableDelivery("The webhook body is not a Stripe event.")
        if event["type"] not in HANDLED_EVENTS:
            log.info("Stripe webhook %s ignored (%s)", event.get("id"), event["type"])
            return None
        return event


class _NotOpen(Exception):
    """Stripe refused to expire a session because it is no longer open."""


def _message_for(exc: stripe.StripeError) -> str:
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        return AUTH
    if isinstance(exc, stripe.RateLimitError):
        return BUSY
    if isinstance(exc, stripe.CardError):
        return DECLINED
    if isinstance(exc, stripe.InvalidRequestError):
        return NOT_FOUND if exc.http_status == 404 else REFUSED
    return UNAVAILABLE  # APIConnectionError, APIError (5xx, unreadable answers), others


def verify(
    header: str | None, body: bytes, secret: str, *, now: float, tolerance: float = TOLERANCE
) -> int:
    """Check a ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=…][,v0=…]`` header on the raw body.

    ``v1`` is the hex HMAC-SHA256 of ``b"<t>." + body`` keyed with the endpoint secret.
    Constant-time compare, any matching ``v1`` accepted, and the timestamp must be within
    ``tolerance`` seconds of ``now`` in either direction. Returns the timestamp.
    """
    return signatures.verify(
        header, body, [secret], now=now, tolerance=tolerance, header_name=HEADER
    )
