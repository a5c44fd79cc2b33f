"""Keeping our bookings in step with Calendly: apply an invitee change (from a webhook, a
direct booking or reconciliation) through one idempotent path, then do what follows it."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from booking.calendly import webhooks
from booking.calendly.client import parse_calendly_time
from booking.domain.records import new_reference
from booking.mail import calendly_confirmation

if TYPE_CHECKING:
    from booking.desk import Desk


class CalendlySync:
    """Apply Calendly's invitee changes once, and reconcile what the webhooks missed."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def analyst_slug(self) -> str:
        """The catalogue's Calendly analyst (the desk's Calendly account is one host)."""
        return next(
            (a.slug for a in self.desk.catalogue.analysts if a.provider == "calendly"), "calendly"
        )

    def record(self, delivery: webhooks.Delivery, *, delivery_id: int | None = None) -> str:
        """Write one invitee change ('applied', 'duplicate' or 'ignored') in one transaction;
        UnusableDelivery for payloads that cannot be applied."""
        return webhooks.apply(
            self.desk.store,
            delivery,
            delivery_id=delivery_id,
            analyst=self.analyst_slug(),
            now=self.desk.clock(),
            new_reference=new_reference,
        )

    def apply(self, delivery: webhooks.Delivery) -> str:
        """Write one invitee change, then (after its commit) do what follows from it."""
        outcome = self.record(delivery)
        if outcome == "applied":
            self.after(delivery.event, delivery.payload)
        return outcome

    def after(self, event: str, payload: dict) -> None:
        """What follows a newly applied Calendly change: fresh availability, our branded
        confirmation (when switched on), and for a cancellation a refund due if it was paid."""
        if event not in (webhooks.CREATED, webhooks.CANCELED):
            return
        desk = self.desk
        desk.offers.forget_availability(
            (payload.get("scheduled_event") or {}).get("event_type", "")
        )
        uri = payload.get("uri") or ""
        if event == webhooks.CREATED:
            if desk.settings.calendly_confirmations and (row := desk.store.booking_by_invitee(uri)):
                desk.send(
                    calendly_confirmation,
                    desk.booking(row["reference"]),
                    cancel_url=row["cancel_url"] or "",
                    reschedule_url=row["reschedule_url"] or "",
                )
        elif not payload.get("rescheduled") and (row := desk.store.booking_by_invitee(uri)):
            desk.local.after_cancel(row["reference"])

    def reconcile(self, since: datetime | None = None) -> Counter:
        """Read Calendly's scheduled events and invitees since ``since`` (default: a week
        ago) and apply what the webhooks missed, through the same idempotent path."""
        desk = self.desk
        client = desk.offers.calendly()
        now = desk.clock()
        user = desk.catalogue_cache.get("calendly-user", client.me)
        fixed: Counter = Counter()
        for event in client.scheduled_events(
            user["uri"], min_start=since or now - timedelta(days=7)
        ):
            for invitee in client.invitees(event["uri"]):
                payload = {**invitee, "scheduled_event": event}
                for kind, at in _changes(invitee):
                    if self.apply(webhooks.Delivery(kind, at, payload)) == "applied":
                        fixed[kind] += 1
        desk.store.record_reconcile(now=now, fixed=fixed)
        return fixed

    def booking_of(self, invitee_uuid: str) -> dict | None:
        """The stored Calendly booking of an invitee (as confirmed by webhook), if any."""
        if not invitee_uuid or "/" in invitee_uuid:
            return None
        return self.desk.store.booking_by_invitee_suffix(f"/invitees/{invitee_uuid}")


def _changes(invitee: dict) -> list[tuple[str, datetime]]:
    """The deliveries an invitee as read from the API stands for, with their times."""
    kinds = [(webhooks.CREATED, parse_calendly_time(invitee["created_at"]))]
    if invitee.get("status") == "canceled":
        at = (invitee.get("cancellation") or {}).get("created_at") or invitee["updated_at"]
        kinds.append((webhooks.CANCELED, parse_calendly_time(at)))
    if invitee.get("no_show"):
        kinds.append(
            (webhooks.NO_SHOW_CREATED, parse_calendly_time(invitee["no_show"]["created_at"]))
        )
    return kinds
