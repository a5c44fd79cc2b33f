"""Webhook deliveries from Calendly and Stripe, through one receive skeleton:

    construct (verify + parse) → record → apply → finish → Receipt

Deliveries that arrive together are taken as a group (group commit: one transaction, one
fsync, a savepoint per delivery); each still gets its own receipt.
Every delivery is stored before anything is applied — refused ones too (as a bounded
sample) — and each is answered with a ``Receipt``; ``web/`` alone turns that into a status
code. A signed delivery we cannot read is kept and acknowledged (or, when it is not even
JSON, answered 400), never a server error that would make the sender retry for a day.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from booking.calendly import webhooks
from booking.domain.records import Receipt
from booking.errors import BookingError
from booking.signatures import SignatureError, UnusableDelivery, verify

if TYPE_CHECKING:
    from booking.desk import Desk

log = logging.getLogger(__name__)
Then = Callable[[], str | None]  # what follows after the commit; may give a final outcome
Follow = Callable[[], Receipt]
Apply = Callable[["Parsed", int], tuple[str, Then | None]]
Item = tuple[bytes, Callable[[datetime], "Parsed"], Apply]
NOT_STORED = "We could not store this delivery just now; please send it again."
NOT_APPLIED = "We stored this delivery but could not apply it just now; please send it again."


@dataclass(frozen=True)
class Parsed:
    """A verified, readable delivery: its event name, the resource it is about, the data."""

    event: str | None
    uri: str | None
    data: object


class Inbox:
    """Receives the outside parties' webhook deliveries."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    # -- Calendly ------------------------------------------------------------------------
    def signing_keys(self) -> Iterator[str]:
        """The keys a Calendly delivery may be signed with: the configured ones, then (only
        if none of those matched, since it costs a read) the sandbox's subscriptions'."""
        yield from self.desk.settings.calendly_signing_keys
        if self.desk.sandbox:
            yield from self.desk.sandbox.signing_keys()

    def calendly(self, body: bytes, signature: str | None) -> Receipt:
        """One Calendly delivery, applied once per (event, invitee) whatever the order."""
        return self.calendly_batch([(body, signature)])[0]

    def calendly_batch(self, deliveries: list[tuple[bytes, str | None]]) -> list[Receipt]:
        """Calendly deliveries that arrived together, stored and applied in one commit."""
        return self._receive_all("calendly", [self._calendly_item(b, s) for b, s in deliveries])

    def _calendly_item(self, body: bytes, signature: str | None) -> Item:
        def construct(now: datetime) -> Parsed:
            verify(
                signature,
                body,
                self.signing_keys(),
                now=now.timestamp(),
                tolerance=self.desk.settings.webhook_tolerance_seconds,
            )
            delivery = webhooks.parse(body)
            return Parsed(delivery.event, delivery.uri, delivery)

        sync = self.desk.calendly_sync

        def apply(parsed: Parsed, delivery_id: int) -> tuple[str, Then | None]:
            delivery = parsed.data
            outcome = sync.record(delivery, delivery_id=delivery_id)
            if outcome != "applied":
                return outcome, None
            return outcome, lambda: sync.after(delivery.event, delivery.payload)

        return body, construct, apply

    # -- Stripe --------------------------------------------------------------------------
    def stripe(self, body: bytes, signature: str | None) -> Receipt:
        """One Stripe delivery: settle (or abandon) the checkout it is about."""
        stripe = self.desk.stripe
        if stripe is None:
            return Receipt("not_found", ("not_found", "Stripe is not set up on this desk."), 404)

        def construct(now: datetime) -> Parsed:
            event = stripe.construct_event(body, signature, now=now.timestamp())
            session = (event or {}).get("data", {}).get("object", {})
            return Parsed((event or {}).get("type"), session.get("id"), event)

        def apply(parsed: Parsed, delivery_id: int) -> tuple[str, Then | None]:
            event = parsed.data
            if not event or not self.desk.store.payment(parsed.uri or ""):
                return "ignored", None
            return "received", lambda: self._settle(event)

        return self._receive("stripe", body, construct, apply)

    def _settle(self, event: dict) -> str:
        """Carry a Stripe event through the checkout journey; its outcome for the record."""
        session = event["data"]["object"]
        attempt_id = session.get("client_reference_id") or ""
        checkout = self.desk.checkout
        try:
            if event["type"] == "checkout.session.completed":
                return checkout.complete(attempt_id, session["id"]).kind
            checkout.abandon(attempt_id, session["id"])
            return "abandoned"
        except BookingError as exc:  # e.g. the slot went meanwhile: refund is due
            return exc.code

    # -- the skeleton --------------------------------------------------------------------
    def _receive(
        self,
        source: str,
        body: bytes,
        construct: Callable[[datetime], Parsed],
        apply: Apply,
    ) -> Receipt:
        """One delivery through the skeleton (a group of one)."""
        return self._receive_all(source, [(body, construct, apply)])[0]

    def _receive_all(self, source: str, items: list[Item]) -> list[Receipt]:
        """Group commit: every delivery goes construct → record → apply → finish inside ONE
        transaction, each in a savepoint of its own (a delivery that fails rolls back only
        itself and is answered for itself, 503 so its sender retries), then the transaction
        commits once — with synchronous=FULL, only then is anyone told it is on disk. What
        follows an applied delivery runs after the commit, never holding the write lock."""
        store = self.desk.store
        taken: list[tuple[Receipt, Follow | None]] = []
        with store.write():
            for body, construct, apply in items:
                try:
                    with store.write():
                        taken.append(self._take(source, body, construct, apply))
                except Exception:  # one bad delivery must not sink the others
                    log.exception("%s webhook not stored; the sender will retry", source)
                    taken.append((Receipt("error", ("not_stored", NOT_STORED), 503), None))
        return [follow() if follow else receipt for receipt, follow in taken]

    def _take(
        self,
        source: str,
        body: bytes,
        construct: Callable[[datetime], Parsed],
        apply: Apply,
    ) -> tuple[Receipt, Follow | None]:
        """Store one delivery and apply it (in a savepoint of its own, so a failure there
        keeps the stored delivery); returns its receipt and what follows after the commit."""
        store, now = self.desk.store, self.desk.clock()
        parsed: Parsed | None = None
        try:
            parsed = construct(now)
            failure: BookingError | None = None
        except (SignatureError, UnusableDelivery) as exc:
            failure = exc
        refused = isinstance(failure, SignatureError)
        then = None
        delivery_id = store.record_delivery(
            received_at=now,
            body=body,
            verified=not refused,
            rejection=failure.code if refused else None,
            event=parsed.event if parsed else None,
            payload_uri=parsed.uri if parsed else None,
            source=source,
        )
        if parsed is not None:
            try:
                with store.write():
                    outcome, then = apply(parsed, delivery_id)
            except UnusableDelivery as exc:
                failure = exc
            except Exception:  # a fault of ours: keep the delivery, let the sender retry
                log.exception("%s webhook %s stored but not applied", source, delivery_id)
                store.finish_delivery(delivery_id, outcome="failed", now=now)
                return Receipt("failed", ("not_applied", NOT_APPLIED), 503), None
        if failure is not None:
            log.warning("%s webhook %s %s: %s", source, delivery_id, failure.code, failure)
            if not refused:
                store.finish_delivery(delivery_id, outcome=failure.code, now=now)
            if failure.status >= 400:
                return Receipt(failure.code, (failure.code, str(failure)), failure.status), None
            return Receipt(failure.code), None
        store.finish_delivery(delivery_id, outcome=outcome, now=now)
        if then is None:
            return Receipt(outcome), None

        def follow() -> Receipt:
            final = then()
            if final and final != outcome:
                store.finish_delivery(delivery_id, outcome=final, now=now)
            return Receipt(final or outcome)

        return Receipt(outcome), follow
