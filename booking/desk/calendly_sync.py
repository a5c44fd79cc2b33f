"""Keeping our bookings in step with Calendly: apply an invitee change (from a webhook, a
direct booking or reconciliation) through one idempotent path, then do what follows it;
reconcile within a share of Calendly's rate limit, resuming where the last run stopped."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from booking.calendly import webhooks
from booking.calendly.client import CalendlyClient, events_query, parse_calendly_time
from booking.domain.funnel import BookingStatus
from booking.domain.records import new_reference
from booking.errors import CalendlyRateLimited
from booking.mail import calendly_confirmation
from booking.store import calendly as records
from booking.store import iso, parse_iso

if TYPE_CHECKING:
    from booking.desk import Desk

log = logging.getLogger(__name__)
RESERVE = 0.5  # of the per-minute limit, left for visitors whatever reconciliation needs


class Budget:
    """A reconciliation run's share of Calendly's per-minute request limit, read from the
    ``X-RateLimit-*`` headers the client keeps (every Calendly answer carries them)."""

    def __init__(self, client: CalendlyClient, share: float) -> None:
        self.client = client
        self.share = share
        self.first = client.requests_made

    @property
    def spent(self) -> int:
        return self.client.requests_made - self.first

    def allows(self) -> bool:
        """Whether one more request fits: within the run's share, and leaving the reserve."""
        limit = self.client.rate_limit.get("limit") or 500
        if self.spent + 1 > max(2, int(limit * self.share)):
            return False
        seen = self.client.rate_limit
        remaining = seen.get("remaining")
        if remaining is None or self.client.clock().timestamp() >= seen["at"] + seen.get(
            "reset", 60
        ):
            return True  # nothing known of this minute yet
        return remaining - 1 >= limit * RESERVE


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
        event = delivery.payload.get("scheduled_event")  # its shape is checked in apply
        event_type = event.get("event_type") if isinstance(event, dict) else None
        return webhooks.apply(
            self.desk.store,
            delivery,
            delivery_id=delivery_id,
            analyst=self.analyst_slug(),
            now=self.desk.clock(),
            new_reference=new_reference,
            form=self.desk.offers.known_form(str(event_type)),
        )

    def apply(self, delivery: webhooks.Delivery, *, quiet: bool = False) -> str:
        """Write one invitee change, then (after its commit) do what follows from it;
        ``quiet``: a booking first learned of when already over or canceled (no emails)."""
        outcome = self.record(delivery)
        if outcome == "applied":
            self.after(delivery.event, delivery.payload, quiet=quiet)
        return outcome

    def after(self, event: str, payload: dict, *, quiet: bool = False) -> None:
        """What follows a newly applied Calendly change: fresh availability, our branded
        confirmation (when switched on, for a booking that still stands and is still to
        come), and for a cancellation a refund due if it was paid (and our notice, unless
        ``quiet``: nobody is told of a cancellation they never heard booked)."""
        if event not in (webhooks.CREATED, webhooks.CANCELED):
            return
        desk = self.desk
        desk.offers.forget_availability(
            (payload.get("scheduled_event") or {}).get("event_type", "")
        )
        if event == webhooks.CREATED and (quiet or not desk.settings.calendly_confirmations):
            return  # nothing is sent for it
        if event == webhooks.CANCELED and payload.get("rescheduled"):
            return  # the new booking's own delivery says what follows
        row = desk.store.booking_by_invitee(payload.get("uri") or "")
        if row is None:
            return
        if event == webhooks.CREATED:
            upcoming = parse_iso(row["start_utc"]) > desk.clock()
            if upcoming and row["status"] == BookingStatus.CONFIRMED:
                desk.send(
                    calendly_confirmation,
                    desk.booking(row["reference"]),
                    cancel_url=row["cancel_url"] or "",
                    reschedule_url=row["reschedule_url"] or "",
                )
        elif quiet:
            if row["attempt_id"]:
                desk.checkout.refund_paid(row["attempt_id"], reason="canceled")
        else:
            desk.local.after_cancel(row["reference"])

    def reconcile(self, since: datetime | None = None) -> Counter:
        """Read Calendly's scheduled events and apply what the webhooks missed, through the
        same idempotent path, within a request budget.

        The window runs from ``since`` (default: where the last run stopped, else a week
        ago) to the Calendly analysts' horizon. Events we already hold a consistent booking
        for cost nothing more; the rest cost one ``GET …/invitees`` each. A run spends at
        most CALENDLY_RECONCILE_SHARE_PERCENT of the per-minute limit and stops while less
        than half of it remains (read from ``X-RateLimit-*``), keeping it for visitors; the
        next run resumes where it stopped. Nothing is emailed for a booking first learned
        of when it is already over or canceled."""
        desk = self.desk
        client = desk.offers.calendly()
        now = desk.clock()
        resume = None if since is not None else records.resume_from(desk.store.db)
        start = parse_iso(resume) if resume else since or now - timedelta(days=7)
        horizon = max(
            (a.horizon_days for a in desk.catalogue.analysts if a.provider == "calendly"),
            default=60,
        )
        budget = Budget(client, desk.settings.reconcile_share_percent / 100)
        fixed: Counter = Counter()
        stopped: datetime | None = None
        at = start  # the start of the event being read
        try:
            user = desk.offers.calendly_user()
            query = events_query(user["uri"], start, now + timedelta(days=horizon))
            pages = client.pages("/scheduled_events", query)
            while stopped is None:
                if not budget.allows():  # no budget for the next page
                    stopped = at
                    break
                page = next(pages, None)
                if page is None:
                    break
                for event in page:
                    at = parse_calendly_time(event["start_time"])
                    if self._consistent(event):
                        continue
                    if not budget.allows():
                        stopped = at
                        break
                    self._reconcile_event(client, event, now, fixed)
        except CalendlyRateLimited as exc:
            log.warning("reconciliation stopped, Calendly rate limited it: %s", exc)
            stopped = stopped or at
        with desk.store.write() as db:
            records.record_run(db, now=now, fixed=fixed, resume_from=stopped, requests=budget.spent)
        return fixed

    def _consistent(self, event: dict) -> bool:
        """Whether we already hold this event as Calendly does (no need to read it)."""
        ours = records.bookings_of_event(self.desk.store.db, event["uri"])
        if not ours:
            return False
        start = iso(parse_calendly_time(event["start_time"]))
        if event.get("status") == "canceled":
            return all(b["status"] == BookingStatus.CANCELED for b in ours)
        return any(b["status"] == BookingStatus.CONFIRMED and b["start_utc"] == start for b in ours)

    def _reconcile_event(self, client, event: dict, now: datetime, fixed: Counter) -> None:
        """Apply what one event's invitees stand for; quietly for ones new to us that are
        over or canceled already."""
        over = parse_calendly_time(event.get("end_time") or event["start_time"]) <= now
        for invitee in client.invitees(event["uri"]):
            payload = {**invitee, "scheduled_event": event}
            known = self.desk.store.booking_by_invitee(invitee.get("uri") or "") is not None
            quiet = not known and (over or invitee.get("status") == "canceled")
            for kind, at in _changes(invitee):
                if self.apply(webhooks.Delivery(kind, at, payload), quiet=quiet) == "applied":
                    fixed[kind] += 1

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
