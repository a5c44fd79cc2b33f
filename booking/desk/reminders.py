"""Reminder emails before meetings, ``BOOKING_REMINDER_HOURS`` ahead (default 24 and 1).

A lead is counted in real elapsed hours (a 10:00 meeting the Monday after the clocks go
forward gets its 24-hour reminder at 09:00 on Sunday, 24 hours before, not 23), so a
reminder fires at the right instant whatever daylight saving does in between.

A reminder goes out only for a booking that still stands at that time: each one is
claimed in the same transaction that re-reads the booking and queues the mail, so two
runners never send one twice, and a cancelled or moved-away time is never reminded (a
moved booking is reminded of its new time). A reminder whose moment came before the
booking was made (or moved) is skipped; of several missed ones only the latest goes out.
Calendly reminds its own invitees: they get ours only with BOOKING_CALENDLY_CONFIRMATIONS.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING

from booking.errors import BookingError
from booking.mail import enqueue, reminder
from booking.store import parse_iso

if TYPE_CHECKING:
    from booking.desk import Desk

log = logging.getLogger(__name__)


class Reminders:
    """Emailing visitors ahead of their meetings."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def run(self) -> Counter:
        """Queue every reminder that is due now; counts 'sent' and 'claimed_elsewhere'."""
        desk = self.desk
        leads = desk.settings.reminder_leads
        done: Counter = Counter()
        if not leads:
            return done
        now = desk.clock()
        providers = ("local", "calendly") if desk.settings.calendly_confirmations else ("local",)
        for row in desk.diary.upcoming(
            after=now, until=now + timedelta(hours=max(leads)), providers=providers
        ):
            start, scheduled = parse_iso(row["start_utc"]), parse_iso(row["scheduled_at"])
            due = [
                hours
                for hours in leads
                if start - timedelta(hours=hours) <= now
                and scheduled < start - timedelta(hours=hours)
            ]
            sent = (row["sent"] or "").split(",")
            if due and f"{min(due):g}" not in sent:
                done[self._send(row["reference"], row["start_utc"], min(due))] += 1
        return done

    def _send(self, reference: str, start_utc: str, hours: float) -> str:
        desk = self.desk
        try:
            booking = desk.booking(reference)
        except BookingError as exc:
            log.warning("reminder for %s skipped: %s", reference, exc)
            return "skipped"
        now = desk.clock()
        with desk.store.write():
            if not desk.diary.claim_reminder(reference, start_utc, f"{hours:g}", now=now):
                return "claimed_elsewhere"
            mail = reminder(
                booking,
                brand=desk.brand,
                manage_url=desk.manage.url(reference, desk.manage.issue(reference)),
                hours=hours,
            )
            enqueue(desk.store, mail, now=now, sender=desk.settings.mail_from, brand=desk.brand)
        return "sent"
