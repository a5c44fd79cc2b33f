"""What a payment provider is to the desk: a checkout created for an attempt, read back later.

Two providers exist: the offline sandbox checkout (``booking.payments.sandbox``, the default)
and Stripe Checkout (``booking.payments.stripe``) when a secret key is configured. Both hand
back a ``Checkout``; the desk keeps its own record of every checkout in its ``payments`` table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

SESSION_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"  # Stripe's, replaced in the success URL


def checkout_status(session: Mapping[str, Any]) -> str:
    """'paid' | 'expired' | 'open' for a Checkout Session object."""
    if session.get("payment_status") in ("paid", "no_payment_required"):
        return "paid"
    if session.get("status") == "expired":
        return "expired"
    return "open"


@dataclass(frozen=True)
class Checkout:
    """A provider's checkout, as the desk needs it: where to pay and whether it was paid."""

    id: str  # the checkout session id
    url: str  # where to send the visitor to pay ('' once the session is complete/expired)
    status: str  # 'open' | 'paid' | 'expired'
    attempt_id: str | None = None  # client_reference_id

    @classmethod
    def from_session(cls, session: Mapping[str, Any]) -> Checkout:
        """Read a Checkout Session object (API answer or webhook ``data.object``)."""
        session_id = session.get("id")
        if not isinstance(session_id, str) or not session_id:
            raise ValueError("not a Checkout Session object (no id)")
        return cls(
            id=session_id,
            url=session.get("url") or "",
            status=checkout_status(session),
            attempt_id=session.get("client_reference_id"),
        )


class PaymentProvider(Protocol):
    """Creates a hosted checkout for an attempt and later says whether it was paid."""

    name: str

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
        """Open a hosted checkout; the same ``idempotency_key`` must give back the same one."""
        ...

    def retrieve(self, checkout_id: str) -> Checkout:
        """The checkout's state now, so the desk can settle a payment it missed hearing of."""
        ...

    def expire(self, checkout_id: str) -> Checkout:
        """Close an open checkout so it can no longer be paid (the visitor cancelled or
        chose another time); returns its state after, which is 'paid' when the payment had
        already gone through."""
        ...
