"""Follow-ups: email each stalled attempt a fresh way back, a few times at most, and stop
when the visitor asks."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING

from booking.domain import funnel
from booking.domain.request import Details, zone
from booking.errors import BookingError
from booking.mail import followup
from booking.store import parse_iso

if TYPE_CHECKING:
    from booking.desk import Desk

log = logging.getLogger(__name__)


class Followups:
    """Chasing incomplete attempts (a link created or a payment started, then nothing)."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def run(self) -> Counter:
        """Email each stalled attempt a fresh link, at most BOOKING_FOLLOWUP_MAX times,
        BOOKING_FOLLOWUP_SPACING_HOURS apart, the first BOOKING_INCOMPLETE_AFTER_HOURS after
        it stalled. Each send is claimed first (compare-and-set on the attempt's count), so
        runners working at once never send one twice."""
        desk, s = self.desk, self.desk.settings
        done: Counter = Counter()
        if s.followup_max <= 0:
            return done
        now = desk.clock()
        names = None
        for attempt in desk.store.stalled_attempts(
            stalled_before=now - timedelta(hours=s.incomplete_after_hours),
            last_before=now - timedelta(hours=s.followup_spacing_hours),
            max_sent=s.followup_max,
        ):
            number = (attempt["followups_sent"] or 0) + 1
            if not desk.store.claim_followup(attempt["id"], number, now=now):
                done["claimed_elsewhere"] += 1
                continue
            try:
                resume = self._resume_url(attempt)
            except BookingError as exc:
                log.warning("follow-up of %s postponed: %s", attempt["id"], exc)
                desk.store.unclaim_followup(attempt["id"], number)
                done["postponed"] += 1
                continue
            names = names if names is not None else desk.offers.meeting_type_names()
            desk.send(
                followup,
                to=attempt["email"],
                name=attempt["name"],
                attempt_id=attempt["id"],
                number=number,
                analyst_name=desk.analyst(attempt["analyst"]).name,
                meeting_name=names.get(attempt["meeting_type"], "session"),
                resume_url=resume,
                stop_url=desk.link(f"/followups/stop?attempt={attempt['id']}"),
            )
            desk.store.add_event(
                attempt["id"], funnel.FOLLOWUP_SENT, now=now, detail={"number": number}
            )
            done["sent"] += 1
        return done

    def _resume_url(self, attempt: dict) -> str:
        """Where a follow-up sends the visitor: a fresh single-use Calendly link (the old
        one may have expired or been spent), or our booking page with the analyst chosen."""
        if attempt["provider"] == "calendly":
            start = max(parse_iso(attempt["slot_start"]), self.desk.clock())
            return self.desk.handoff.new_link(
                attempt["id"],
                attempt["meeting_type"],
                Details.of(attempt),
                start,
                zone(attempt["visitor_tz"]),
                handoff=False,
            )
        return self.desk.link(f"/?analyst={attempt['analyst']}")

    def stop(self, attempt_id: str) -> bool:
        """The visitor opted out through the link in a follow-up; True if it was theirs."""
        desk = self.desk
        if not attempt_id.startswith("att_") or desk.store.attempt(attempt_id) is None:
            return False
        with desk.store.write():
            if desk.store.stop_followups(attempt_id, now=desk.clock()):
                desk.store.add_event(attempt_id, funnel.FOLLOWUPS_STOPPED, now=desk.clock())
        return True
