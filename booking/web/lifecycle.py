"""Background jobs that live as long as the server: sandbox deliveries, email delivery,
lapsed checkouts, follow-ups, reminders, reading analysts' calendar feeds, reconciliation
and the retention of personal data."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager

from booking.calendly.sandbox import DeliveryWorker
from booking.desk import Desk

log = logging.getLogger(__name__)


class Periodic(threading.Thread):
    """Run ``job`` every ``seconds`` (the first time after ``first`` seconds, by default
    ``seconds`` too) until stopped; a failing run is logged, not fatal."""

    def __init__(
        self, name: str, seconds: float, job: Callable[[], object], *, first: float | None = None
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.seconds = seconds
        self.first = seconds if first is None else first
        self.job = job
        self.stopping = threading.Event()

    def run(self) -> None:
        wait = self.first
        while not self.stopping.wait(wait):
            wait = self.seconds
            try:
                result = self.job()
                if result:
                    log.info("%s: %s", self.name, dict(result))
            except Exception:
                log.exception("%s failed; will try again in %.0f s", self.name, self.seconds)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)


def lifespan_for(desk: Desk):
    """An ASGI lifespan for ``st.App`` that starts and stops the desk's background jobs."""

    @asynccontextmanager
    async def lifespan(_app):
        jobs: list = []
        if desk.sandbox is not None:
            jobs.append(DeliveryWorker(desk.sandbox))
        jobs.append(Periodic("mail", 10, desk.deliver_mail))
        jobs.append(Periodic("payments", 60, desk.checkout.sweep))
        if desk.settings.followup_minutes > 0:
            jobs.append(
                Periodic("followups", desk.settings.followup_minutes * 60, desk.followups.run)
            )
        if desk.settings.reminder_leads:
            jobs.append(Periodic("reminders", 60, desk.reminders.run))
        local = [a for a in desk.catalogue.analysts if a.busy_feeds]
        if local:  # read the analysts' calendars ahead of visitors (at once, then each TTL)
            every = max(desk.settings.feed_ttl_seconds, 30)
            jobs.append(
                Periodic("calendar-feeds", every, lambda: desk.feeds.refresh(local), first=0)
            )
        if desk.calendly is not None:  # what each event type asks, ahead of its webhooks
            jobs.append(
                Periodic("calendly-event-types", 3600, desk.offers.learn_calendly_forms, first=0)
            )
        if desk.settings.retention_days > 0:  # daily, and a minute after each start
            jobs.append(Periodic("retention", 24 * 3600, desk.privacy.retention_run, first=60))
        if desk.settings.reconcile_minutes > 0:
            jobs.append(
                Periodic(
                    "calendly-reconcile",
                    desk.settings.reconcile_minutes * 60,
                    desk.calendly_sync.reconcile,
                )
            )
        for job in jobs:
            job.start()
        try:
            yield
        finally:
            for job in jobs:
                job.stop()

    return lifespan
