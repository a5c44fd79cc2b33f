"""Webhook signatures: ``Calendly-Webhook-Signature: t=<unix>,v1=<hex>`` (and Stripe's).

``v1`` is the lowercase hex HMAC-SHA256, keyed with the subscription's signing key, of
the bytes ``b"<t>." + raw_body``. Verification works on the raw bytes, compares in
constant time, accepts several ``v1`` values (and several keys, for rotation) and rejects
timestamps further than the tolerance from now in either direction.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from booking.errors import BookingError

HEADER = "Calendly-Webhook-Signature"


class SignatureError(BookingError):
    """A delivery whose signature cannot be trusted."""

    code = "bad_signature"
    status = 401


class MissingSignature(SignatureError):
    code = "missing_signature"
    status = 400


class MalformedSignature(SignatureError):
    code = "malformed_signature"
    status = 400


class UnusableDelivery(BookingError):
    """A correctly signed delivery we cannot interpret: kept and acknowledged (200), since
    sending it again cannot help."""

    code = "unusable"
    status = 200


class NotJson(UnusableDelivery):
    """A correctly signed delivery whose body is not JSON: kept, and the sender told (400)."""

    code = "not_json"
    status = 400


class StaleSignature(SignatureError):
    code = "stale_signature"


def signature(body: bytes, key: str, timestamp: int) -> str:
    mac = hmac.new(key.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return mac.hexdigest()


def sign(body: bytes, key: str, timestamp: int) -> str:
    """The header value Calendly would send for this body at this time."""
    return f"t={timestamp},v1={signature(body, key, timestamp)}"


def verify(
    header: str | None,
    body: bytes,
    keys: Iterable[str],
    *,
    now: float,
    tolerance: float = 180,
    header_name: str = HEADER,
) -> int:
    """Check a delivery's signature; return its timestamp or raise a SignatureError.

    Stripe signs the same way (``Stripe-Signature``): ``header_name`` is only for messages.
    """
    if not header:
        raise MissingSignature(f"The {header_name} header is missing.")
    timestamp, candidates = None, []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise MalformedSignature(f"The {header_name} header is not 't=<unix>,v1=<hex>'.")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise MalformedSignature(f"The {header_name} timestamp is not a number.") from None
        elif name == "v1":
            candidates.append(value.strip().lower())
    if timestamp is None or not candidates:
        raise MalformedSignature(f"The {header_name} header needs both t= and v1=.")
    if abs(now - timestamp) > tolerance:
        raise StaleSignature(
            f"The signature timestamp is more than {tolerance:.0f} s from our clock."
        )
    tried = False
    for key in keys:  # lazily: a later key may cost a read
        if not key:
            continue
        tried = True
        expected = signature(body, key, timestamp)
        if any(hmac.compare_digest(expected, c) for c in candidates):
            return timestamp
    if not tried:
        raise SignatureError("No webhook signing key is configured on this desk.")
    raise SignatureError("The signature does not match this delivery.")
