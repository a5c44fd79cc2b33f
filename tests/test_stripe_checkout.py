"""The Stripe Checkout adapter against `responses` faking api.stripe.com (never the network)."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
import requests
import responses
import stripe
from responses.registries import OrderedRegistry

from booking.errors import ConfigError, PaymentError
from booking.payments.provider import Checkout
from booking.payments.stripe import UNAVAILABLE, StripeCheckout, minor_units
from booking.signatures import MissingSignature, SignatureError, StaleSignature

API = "https://api.stripe.com"
SESSIONS = f"{API}/v1/checkout/sessions"
KEY = "sk_test_51SECRETdoNotLeak0123456789"
WEBHOOK_SECRET = "whsec_test_secret"
SESSION_ID = "cs_test_a1B2c3D4e5F6g7H8i9J0"
SUCCESS_URL = "https://desk.example/booking/paid?session_id={CHECKOUT_SESSION_ID}"
CANCEL_URL = "https://desk.example/booking/cancelled"

# Known-answer vector: HMAC-SHA256(key=WEBHOOK_SECRET, msg=b"1765000000." + PAYLOAD), computed
# once outside this code base and pasted; also matches stripe.WebhookSignature's header.
T = 1765000000
PAYLOAD = (
    b'{"id":"evt_test_1","object":"event","type":"checkout.session.completed",'
    b'"data":{"object":{"id":"cs_test_a1","object":"checkout.session",'
    b'"client_reference_id":"att_1","payment_status":"paid","status":"complete"}}}'
)
V1 = "1eb421e3e3ca7510aa7e4f30e6af720a71c694934593deb2dae10600ab124112"


def session(**overrides) -> dict:
    """A Checkout Session object shaped like Stripe's API answer (abridged)."""
    body = {
        "id": SESSION_ID,
        "object": "checkout.session",
        "amount_subtotal": 14950,
        "amount_total": 14950,
        "cancel_url": CANCEL_URL,
        "client_reference_id": "att_42",
        "created": 1765000000,
        "currency": "gbp",
        "customer_email": "ada@example.com",
        "expires_at": 1765086400,
        "livemode": False,
        "metadata": {"attempt_id": "att_42"},
        "mode": "payment",
        "payment_intent": None,
        "payment_status": "unpaid",
        "status": "open",
        "success_url": SUCCESS_URL,
        "url": f"https://checkout.stripe.com/c/pay/{SESSION_ID}#fidkdWxOYHwnPyd1blpxYHZxWjA0",
    }
    body.update(overrides)
    return body


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    """The SDK sleeps ≥0.5 s between retries; tests keep the retries but not the wait."""
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0)


@pytest.fixture
def fake():
    with responses.RequestsMock(registry=OrderedRegistry) as rsps:
        yield rsps


@pytest.fixture
def checkout() -> StripeCheckout:
    return StripeCheckout(KEY, WEBHOOK_SECRET, timeout=2)


def create(checkout: StripeCheckout, **overrides) -> Checkout:
    kwargs = {
        "attempt_id": "att_42",
        "amount": Decimal("149.50"),
        "currency": "GBP",
        "description": "Portfolio review with Maya Chen",
        "email": "ada@example.com",
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
        "idempotency_key": "checkout-att_42",
    }
    kwargs.update(overrides)
    return checkout.create(**kwargs)


def form(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


# -- creating and reading sessions -------------------------------------------------------


def test_create_sends_the_session_fields_and_idempotency_key(fake, checkout):
    """Stripe must get minor units, the attempt and both URLs, and dedupe double clicks."""
    fake.post(SESSIONS, json=session())
    result = create(checkout)
    assert result == Checkout(SESSION_ID, session()["url"], "open", "att_42")
    call = fake.calls[0]
    assert call.request.headers["Idempotency-Key"] == "checkout-att_42"
    assert call.request.headers["Authorization"] == f"Bearer {KEY}"
    assert form(call) == {
        "mode": "payment",
        "line_items[0][price_data][currency]": "gbp",
        "line_items[0][price_data][unit_amount]": "14950",
        "line_items[0][price_data][product_data][name]": "Portfolio review with Maya Chen",
        "line_items[0][quantity]": "1",
        "client_reference_id": "att_42",
        "metadata[attempt_id]": "att_42",
        "customer_email": "ada@example.com",
        "success_url": SUCCESS_URL,  # the {CHECKOUT_SESSION_ID} placeholder arrives intact
        "cancel_url": CANCEL_URL,
    }


def test_create_sends_zero_decimal_currencies_unscaled(fake, checkout):
    """¥5000 is unit_amount 5000, not 500000."""
    fake.post(SESSIONS, json=session(currency="jpy", amount_total=5000))
    create(checkout, amount=Decimal("5000"), currency="JPY")
    assert form(fake.calls[0])["line_items[0][price_data][unit_amount]"] == "5000"
    assert form(fake.calls[0])["line_items[0][price_data][currency]"] == "jpy"


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("149.50", "GBP", 14950),
        ("0.10", "usd", 10),
        ("120", "EUR", 12000),
        ("5000", "JPY", 5000),
        ("1500", "krw", 1500),
        ("12.340", "KWD", 12340),
        ("500", "ISK", 50000),
    ],
)
def test_minor_units_are_exact(amount, currency, minor):
    """Amounts are scaled exactly by the currency's minor unit, never through a float."""
    assert minor_units(Decimal(amount), currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("149.505", "GBP"), ("5000.5", "JPY"), ("12.345", "KWD"), ("500.50", "ISK"), ("0", "GBP")],
)
def test_minor_units_refuse_to_round_a_price(amount, currency):
    """A price the currency cannot express is a catalogue mistake, not something to round."""
    with pytest.raises(ConfigError):
        minor_units(Decimal(amount), currency)


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"status": "complete", "payment_status": "paid", "url": None}, "paid"),
        ({"status": "complete", "payment_status": "no_payment_required", "url": None}, "paid"),
        ({"status": "open", "payment_status": "unpaid"}, "open"),
        ({"status": "complete", "payment_status": "unpaid", "url": None}, "open"),
        ({"status": "expired", "payment_status": "unpaid", "url": None}, "expired"),
    ],
)
def test_retrieve_maps_session_status(fake, checkout, fields, status):
    """The desk only needs paid / open / expired; a delayed payment stays open."""
    fake.get(f"{SESSIONS}/{SESSION_ID}", json=session(**fields))
    result = checkout.retrieve(SESSION_ID)
    assert (result.id, result.status, result.attempt_id) == (SESSION_ID, status, "att_42")


# -- failures ----------------------------------------------------------------------------


def test_a_500_is_retried_with_the_same_idempotency_key(fake, checkout):
    """A transient Stripe error must not reach the visitor, nor create a second session."""
    fake.post(SESSIONS, status=500, json={"error": {"type": "api_error", "message": "oops"}})
    fake.post(SESSIONS, json=session())
    assert create(checkout).status == "open"
    keys = [call.request.headers["Idempotency-Key"] for call in fake.calls]
    assert keys == ["checkout-att_42", "checkout-att_42"]


def test_persistent_5xx_becomes_a_payment_error_after_bounded_retries(fake, checkout):
    """After the retries run out the visitor is told nothing was charged."""
    for _ in range(3):
        fake.post(SESSIONS, status=503, json={"error": {"type": "api_error"}})
    with pytest.raises(PaymentError) as caught:
        create(checkout)
    assert str(caught.value) == UNAVAILABLE
    assert len(fake.calls) == 3


def test_invalid_key_becomes_payment_error_without_the_key(fake, checkout, caplog):
    """A 401 is an owner problem: the visitor gets plain words, and the key leaks nowhere."""
    caplog.set_level(logging.DEBUG)
    fake.post(
        SESSIONS,
        status=401,
        json={
            "error": {
                "type": "invalid_request_error",
                "message": "Invalid API Key provided: sk_test_**********************6789",
            }
        },
    )
    with pytest.raises(PaymentError) as caught:
        create(checkout)
    assert len(fake.calls) == 1  # 4xx is not retried
    assert "nothing was charged" in str(caught.value).lower()
    for text in (str(caught.value), repr(caught.value), repr(checkout), caplog.text):
        assert KEY not in text
    assert caught.value.__cause__ is None
    assert "AuthenticationError" in caplog.text  # the detail is in the log


def test_connection_error_becomes_payment_error(fake, checkout):
    """Stripe unreachable (after retries) reads as 'not answering, nothing charged'."""
    for _ in range(3):
        fake.post(SESSIONS, body=requests.ConnectionError("connection refused"))
    with pytest.raises(PaymentError) as caught:
        create(checkout)
    assert str(caught.value) == UNAVAILABLE
    assert len(fake.calls) == 3


def test_unreadable_answer_becomes_payment_error(fake, checkout):
    """An HTML error page from a proxy is not a session."""
    fake.get(f"{SESSIONS}/{SESSION_ID}", body="<html>Bad gateway</html>", status=200)
    with pytest.raises(PaymentError) as caught:
        checkout.retrieve(SESSION_ID)
    assert str(caught.value) == UNAVAILABLE


def test_repr_masks_the_secret_key(checkout):
    """Settings and adapters end up in logs and tracebacks; the key must not."""
    assert KEY not in repr(checkout)
    assert "***" in repr(checkout)


# -- webhooks ----------------------------------------------------------------------------


def test_known_answer_signature_is_accepted(checkout):
    """Stripe's scheme: hex HMAC-SHA256 of b'<t>.' + raw body with the endpoint secret."""
    event = checkout.construct_event(PAYLOAD, f"t={T},v1={V1}", now=T)
    assert event["type"] == "checkout.session.completed"
    assert event["data"]["object"]["client_reference_id"] == "att_1"
    assert Checkout.from_session(event["data"]["object"]).status == "paid"


def test_stale_signature_is_rejected(checkout):
    """A captured delivery replayed 1000 s later is outside the 300 s tolerance."""
    with pytest.raises(StaleSignature):
        checkout.construct_event(PAYLOAD, f"t={T},v1={V1}", now=T + 1000)


def test_tampered_body_is_rejected(checkout):
    """Changing one byte of the body breaks the signature."""
    tampered = PAYLOAD.replace(b'"paid"', b'"PAID"')
    with pytest.raises(SignatureError):
        checkout.construct_event(tampered, f"t={T},v1={V1}", now=T)


@pytest.mark.parametrize("header", [None, ""])
def test_missing_signature_is_rejected(checkout, header):
    """An unsigned delivery is never trusted."""
    with pytest.raises(MissingSignature):
        checkout.construct_event(PAYLOAD, header, now=T)


def test_second_v1_entry_may_match(checkout):
    """During secret rotation Stripe sends one v1 per secret; any match is enough."""
    header = f"t={T},v1={'0' * 64},v1={V1},v0=6ffbb59b2300aae63f272406069a9788598b792a"
    assert checkout.construct_event(PAYLOAD, header, now=T) is not None


def test_other_event_types_are_ignored(checkout):
    """Only completed/expired sessions matter to the desk (signature still checked first)."""
    body = json.dumps(
        {"id": "evt_2", "object": "event", "type": "payment_intent.created", "data": {"object": {}}}
    ).encode()
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), WEBHOOK_SECRET, T)
    assert checkout.construct_event(body, header, now=T) is None


def test_replayed_event_parses_the_same_twice(checkout):
    """Parsing is pure; deduplicating redeliveries (by event id) is the caller's job."""
    header = f"t={T},v1={V1}"
    first = checkout.construct_event(PAYLOAD, header, now=T)
    second = checkout.construct_event(PAYLOAD, header, now=T + 10)
    assert first == second
    assert first["id"] == "evt_test_1"


def test_expire_closes_an_open_session(fake, checkout):
    """Cancel → POST …/expire: the session can no longer be paid."""
    fake.post(f"{SESSIONS}/{SESSION_ID}/expire", json=session(status="expired", url=None))
    assert checkout.expire(SESSION_ID) == Checkout(SESSION_ID, "", "expired", "att_42")
    assert fake.calls[0].request.headers["Authorization"] == f"Bearer {KEY}"


def test_expiring_a_session_paid_meanwhile_reads_it_back_as_paid(fake, checkout):
    """Stripe answers 400 for a session that is no longer open; the desk learns it was paid."""
    fake.post(
        f"{SESSIONS}/{SESSION_ID}/expire",
        status=400,
        json={
            "error": {
                "type": "invalid_request_error",
                "message": 'Only Checkout Sessions with a status in ["open"] can be expired.',
            }
        },
    )
    fake.get(
        f"{SESSIONS}/{SESSION_ID}",
        json=session(status="complete", payment_status="paid", url=None),
    )
    assert checkout.expire(SESSION_ID).status == "paid"
    assert len(fake.calls) == 2


def test_expire_when_stripe_is_down_is_a_payment_error(fake, checkout):
    """Unreachable Stripe: a PaymentError the desk logs (the sweeper tries again)."""
    for _ in range(3):
        fake.post(f"{SESSIONS}/{SESSION_ID}/expire", status=503, json={"error": {}})
    with pytest.raises(PaymentError):
        checkout.expire(SESSION_ID)
