"""Proceed to Pay: hold the time (local analysts), open a checkout, and settle it exactly
once however often the visitor's return, the provider's webhook and the sweeper report it;
then book the held slot or continue to Calendly. Refunds due are marked here too."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote
from zoneinfo import ZoneInfo

from booking.domain import funnel
from booking.domain.funnel import BookingStatus
from booking.domain.records import Outcome
from booking.domain.request import BookingRequest
from booking.domain.wording import describe_time, money
from booking.errors import BookingError, NotBookable, NotFound, SlotTaken
from booking.mail import late_payment_refund
from booking.payments.provider import SESSION_PLACEHOLDER
from booking.store import iso, parse_iso, payments

if TYPE_CHECKING:
    from booking.desk import Desk

log = logging.getLogger(__name__)


def refunded(payment: dict) -> SlotTaken:
    """The error for a payment that arrived after its time was taken."""
    return SlotTaken(
        "The time you paid for was taken before your payment came through. Your payment of "
        f"{money(payment['amount'], payment['currency'])} will be refunded in full; please "
        "pick another time."
    )


def open_checkout(desk: Desk, attempt_id: str | None) -> dict | None:
    """The attempt's newest checkout still waiting for payment, as the book page offers
    it back: {url, start, until (the hold's end, or None without a hold), meeting type,
    analyst, amount, currency}; None when there is none or its hold has lapsed."""
    if not attempt_id:
        return None
    payment = next(iter(desk.store.payments_of(attempt_id)), None)
    if payment is None or payment["status"] != "open" or not payment["slot_start"]:
        return None
    until = None
    if payment["hold_ref"]:
        hold = desk.store.booking(payment["hold_ref"]) or {}
        if hold.get("status") != BookingStatus.HELD or not hold.get("hold_expires_at"):
            return None
        until = parse_iso(hold["hold_expires_at"])
        if until <= desk.clock():
            return None
    attempt = desk.store.attempt(attempt_id) or {}
    return {
        "id": payment["id"],
        "url": payment["url"],
        "start": parse_iso(payment["slot_start"]),
        "until": until,
        "analyst": attempt.get("analyst"),
        "meeting_type": payment["meeting_type"],
        "amount": payment["amount"],
        "currency": payment["currency"],
    }


def _tell_refund(desk: Desk, attempt: dict, payment: dict, held: dict) -> None:
    """Email the visitor that their late payment is due back (once per payment)."""
    who = desk.analyst(held["analyst"])
    tz = ZoneInfo(attempt["visitor_tz"] or desk.settings.default_timezone)
    kind = quote(payment["meeting_type"].rsplit("/", 1)[-1], safe="")
    desk.send(
        late_payment_refund,
        to=attempt["email"],
        name=attempt["name"] or "",
        payment_id=payment["id"],
        attempt_id=attempt["id"],
        amount=money(payment["amount"], payment["currency"]),
        what=f"{payment['description']} with {who.name}",
        when_text=f"{describe_time(parse_iso(held['start_utc']), tz)} ({tz.key})",
        book_url=desk.link(f"/?analyst={who.slug}&type={kind}"),
    )


class CheckoutJourney:
    """Paying before booking, for local and Calendly analysts alike."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def start(self, request: BookingRequest) -> str:
        """Check the time, hold it (local analysts) and open a checkout; returns the page
        to pay on. Asked again for the same attempt and time (a double click, a reload),
        it returns the same open checkout instead of a second one.

        Writes in two transactions around the provider call (the hold before, the payment
        record after), so no lock is held over the network and a crash between them leaves
        only a hold that lapses by itself."""
        desk = self.desk
        attempt_id = desk.attempt_for(request.attempt_id, request.source, request.timezone)
        with desk.failure_recorded(attempt_id, funnel.BOOKING_FAILED):
            desk.limits.booking_try(request.client)
            who = desk.analyst(request.analyst or "")
            meeting = desk.offers.meeting_type(who, request.meeting_type)
            if meeting.is_free:
                raise NotBookable(f"A {meeting.name} is free: there is nothing to pay.")
            details, start, tz = desk.take_details(attempt_id, who, meeting, request)
            earlier = desk.store.payments_of(attempt_id)
            for payment in earlier:
                if payment["status"] == "paid":
                    raise NotBookable(
                        "This booking is already paid. Please check your email, or start a "
                        "new booking for another session."
                    )
                if payment["status"] == "open" and (
                    payment["meeting_type"],
                    payment["slot_start"],
                ) == (meeting.id, iso(start)):
                    return payment["url"]
            for payment in earlier:
                if payment["status"] == "open":  # they went back and chose another time:
                    self._expire_quietly(payment)  # the old checkout cannot be paid now
            if who.provider != "local":
                desk.handoff.direct.take_answers(attempt_id, who, meeting, request)
                desk.offers.check_calendly_time(who, meeting, start, tz)
            else:  # may ask the calendar feed and the payment provider: no lock held
                desk.offers.check_local_time(who, meeting, start, tz)
                desk.local.close_lapsed(who, meeting, start)
            with desk.store.write():
                for payment in earlier:
                    if payment["status"] == "open":
                        self._abandon(payment)  # they went back and chose another time
                desk.limits.per_email(
                    details.email, who.slug, name=who.name, holding=who.provider == "local"
                )
                hold = None
                if who.provider == "local":
                    hold = desk.local.take_slot(
                        attempt_id, who, meeting, details, start, tz, hold=True
                    )
            base = desk.link(f"/paid?attempt={attempt_id}")
            try:
                checkout = desk.payments.create(
                    attempt_id=attempt_id,
                    amount=meeting.price,
                    currency=meeting.currency,
                    description=f"{meeting.name} with {who.name}, "
                    f"{describe_time(start, tz)} ({tz.key})",
                    email=details.email,
                    success_url=f"{base}&session={SESSION_PLACEHOLDER}",
                    cancel_url=f"{base}&canceled=1",
                    idempotency_key=f"{attempt_id}:{len(earlier)}",
                )
            except BookingError:
                if hold:
                    desk.local.release(hold)
                raise
        now = desk.clock()
        with desk.store.write():
            desk.store.add_payment(
                {
                    "id": checkout.id,
                    "attempt_id": attempt_id,
                    "provider": desk.payments.name,
                    "amount": str(meeting.price),
                    "currency": meeting.currency,
                    "description": meeting.name,
                    "meeting_type": meeting.id,
                    "slot_start": iso(start),
                    "status": "open",
                    "url": checkout.url,
                    "hold_ref": hold,
                },
                now=now,
            )
            desk.store.update_attempt(attempt_id, now=now, status="payment_pending")
            desk.store.add_event(
                attempt_id,
                funnel.PAYMENT_STARTED,
                now=now,
                detail={"provider": desk.payments.name, "amount": str(meeting.price)},
            )
        return checkout.url

    def payment_of(self, attempt_id: str, checkout_id: str | None) -> dict:
        """The attempt's checkout (that one, or its newest), or NotFound."""
        made = self.desk.store.payments_of(attempt_id or "")
        payment = next((p for p in made if p["id"] == checkout_id or not checkout_id), None)
        if payment is None:
            raise NotFound(
                "We could not find that payment. If you paid, check your email for the "
                "confirmation; otherwise please book again."
            )
        return payment

    def complete(self, attempt_id: str, checkout_id: str | None = None) -> Outcome:
        """Confirm a payment with its provider and carry on: book the held local slot, or
        create the Calendly link. Safe to call any number of times, from the visitor's
        return, the provider's webhook and the sweeper alike: only the first call that sees
        the payment paid records it, and a booked attempt stays booked."""
        desk = self.desk
        payment = self.payment_of(attempt_id, checkout_id)
        if payment["status"] in ("open", "abandoned"):
            checkout = desk.payments.retrieve(payment["id"])
            if checkout.status != "paid":
                kind = "pending" if checkout.status == "open" else "expired"
                return Outcome(kind, attempt_id=attempt_id)
            now = desk.clock()
            with desk.store.write():
                if desk.store.move_payment(
                    payment["id"], "paid", now=now, only_if=("open", "abandoned")
                ):
                    desk.store.update_attempt(attempt_id, now=now, status="paid")
                    desk.store.add_event(
                        attempt_id, funnel.PAID, now=now, detail={"amount": payment["amount"]}
                    )
            payment = desk.store.payment(payment["id"])
        if payment["status"] == "refund_due":
            raise refunded(payment)
        attempt = desk.store.attempt(attempt_id)
        if attempt["booking_ref"]:
            return Outcome("booked", reference=attempt["booking_ref"], attempt_id=attempt_id)
        if payment["hold_ref"]:
            return self._confirm_hold(attempt, payment)
        return desk.handoff.resume(attempt)

    def _confirm_hold(self, attempt: dict, payment: dict) -> Outcome:
        desk = self.desk
        held = desk.store.booking(payment["hold_ref"])
        buffer = timedelta(minutes=desk.analyst(held["analyst"]).buffer_minutes)
        with desk.store.write():  # the booking and its confirmation: together or not at all
            confirmed = desk.store.confirm_hold(
                held["reference"],
                clear_from=parse_iso(held["start_utc"]) - buffer,
                clear_to=parse_iso(held["end_utc"]) + buffer,
                now=desk.clock(),
                attempt_id=attempt["id"],
                event_detail={"reference": held["reference"]},
            )
            if confirmed:
                desk.local.confirmed(held["reference"])
        if confirmed:
            return Outcome("booked", reference=held["reference"], attempt_id=attempt["id"])
        if self._refund_due(payment, reason="slot_taken"):
            _tell_refund(self.desk, attempt, payment, held)
        raise refunded(payment)

    def abandon(self, attempt_id: str, checkout_id: str | None = None) -> Outcome | None:
        """The visitor cancelled at the checkout: close the checkout at the provider so it
        cannot be paid later, and release the held time. If the payment had gone through
        after all, carry on as paid instead and return where that leads."""
        payment = self.payment_of(attempt_id, checkout_id)
        if payment["status"] != "open":
            return None
        if self._expire_quietly(payment) == "paid":
            return self.complete(attempt_id, payment["id"])
        self._abandon(payment)
        return None

    def _expire_quietly(self, payment: dict) -> str | None:
        """Expire a checkout at its provider; its status after, or None if the provider
        could not be asked (the sweeper and a late payment's refund cover that case)."""
        try:
            return self.desk.payments.expire(payment["id"]).status
        except BookingError as exc:
            log.warning("checkout %s not expired: %s", payment["id"], exc)
            return None

    def open_checkout(self, attempt_id: str | None) -> dict | None:
        """The attempt's checkout still waiting for payment (see ``open_checkout``)."""
        return open_checkout(self.desk, attempt_id)

    def release(self, attempt_id: str) -> Outcome | None:
        """The visitor let go of the time they were paying for (the book page's Release);
        if they had paid after all (in another tab), where that leads instead."""
        held = self.open_checkout(attempt_id)
        if held:
            return self.abandon(attempt_id, held["id"])
        newest = next(iter(self.desk.store.payments_of(attempt_id or "")), None)
        if newest and newest["status"] in ("paid", "refund_due"):  # settled in the other tab
            return self.complete(attempt_id, newest["id"])
        return None

    def _abandon(self, payment: dict) -> None:
        desk = self.desk
        now = desk.clock()
        with desk.store.write():
            if desk.store.move_payment(payment["id"], "abandoned", now=now, only_if=("open",)):
                if payment["hold_ref"]:
                    desk.local.release(payment["hold_ref"])
                desk.store.update_attempt(
                    payment["attempt_id"], now=now, status="payment_abandoned"
                )
                desk.store.add_event(payment["attempt_id"], funnel.PAYMENT_ABANDONED, now=now)

    def refund_paid(self, attempt_id: str, *, reason: str) -> bool:
        """Mark the attempt's paid checkouts refund due (its booking was cancelled)."""
        refund = False
        for payment in self.desk.store.payments_of(attempt_id):
            if payment["status"] == "paid":
                self._refund_due(payment, reason=reason)
                refund = True
        return refund

    def _refund_due(self, payment: dict, *, reason: str) -> bool:
        """Mark a paid checkout refund due; True if this call moved it."""
        desk = self.desk
        now = desk.clock()
        with desk.store.write():
            if desk.store.move_payment(payment["id"], "refund_due", now=now, only_if=("paid",)):
                desk.store.add_event(
                    payment["attempt_id"], funnel.REFUND_DUE, now=now, detail={"reason": reason}
                )
                return True
        return False

    def settle_quietly(self, attempt_id: str, checkout_id: str) -> None:
        """Settle a checkout its provider reported paid; the visitor's return page shows
        any problem, so here it is only logged."""
        try:
            self.complete(attempt_id, checkout_id)
        except BookingError as exc:
            log.info("checkout %s settled with a problem: %s", checkout_id, exc)

    def sweep(self) -> Counter:
        """Checkouts left open longer than a hold: confirm the ones paid meanwhile (a lost
        webhook), call the rest abandoned so their held times are free again."""
        desk = self.desk
        done: Counter = Counter()
        before = desk.clock() - timedelta(minutes=desk.settings.hold_minutes)
        for payment in desk.store.stale_payments(before=before):
            if kind := self._settle_stale(payment):
                done[kind] += 1
        return done

    def close_lapsed(self, analyst: str, start: datetime, end: datetime) -> None:
        """Before a time is taken: close the checkouts of holds on it that have lapsed (the
        sweeper would, within a minute), so nobody can still pay for a time that is no
        longer theirs; a payment made before this settles first and keeps the time."""
        desk = self.desk
        for payment in payments.lapsed_on(desk.store.db, analyst, start, end, desk.clock()):
            self._settle_stale(payment)

    def _settle_stale(self, payment: dict) -> str | None:
        """Confirm a checkout left open past its hold if it was paid, else expire it and
        call it abandoned; what became of it (None: not settled yet)."""
        try:
            outcome = self.complete(payment["attempt_id"], payment["id"])
            if outcome.kind == "pending" and self._expire_quietly(payment) == "paid":
                outcome = self.complete(payment["attempt_id"], payment["id"])  # just paid
        except BookingError as exc:
            log.warning("payment %s not settled: %s", payment["id"], exc)
            return None
        if outcome.kind not in ("pending", "expired"):
            return outcome.kind
        self._abandon(payment)
        return "abandoned"
