"""The owner's side: signing in, the analytics dashboard and its exports, the outbox,
refunds due, demo data and the health report."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from booking import analytics, demo
from booking.mail import outbox
from booking.store import calendly as calendly_records
from booking.store import parse_iso

if TYPE_CHECKING:
    from booking.desk import Desk

ALARM_AFTER = 3  # refused Calendly deliveries since the last verified one


class Owner:
    """What the owner (and the operator's health check) can ask of the desk."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def is_owner_password(self, given: str | None) -> bool:
        """Constant-time check of the owner password; never true when none is set."""
        expected = self.desk.settings.owner_password
        return bool(expected) and hmac.compare_digest((given or "").encode(), expected.encode())

    def is_owner_email(self, email: str | None) -> bool:
        allowed = {e.strip().lower() for e in self.desk.settings.owner_emails.split(",")}
        return bool(email) and email.strip().lower() in allowed - {""}

    def dashboard(self, f: analytics.Filters, tz: ZoneInfo) -> dict:
        """Everything the analytics page shows, each piece one small aggregate."""
        return {**self.headline(f), **self.details(f, tz)}

    def headline(self, f: analytics.Filters) -> dict:
        """The KPIs against the previous period, the funnel and the outcome rates: one
        query, so the page shows them before it asks for the rest."""
        counts = analytics.kpis_with_change(self.desk.store, f)
        reached = dict(zip(counts["step"], counts["count"], strict=True))
        return {
            "kpis": counts,
            "funnel": analytics.funnel_table(reached),
            "rates": analytics.booking_rates(reached),
        }

    def details(self, f: analytics.Filters, tz: ZoneInfo) -> dict:
        """The rest of the page: breakdowns, trends, revenue, incomplete attempts, health."""
        store = self.desk.store
        return {
            "by_analyst": analytics.breakdown(store, f, "analyst"),
            "by_meeting_type": analytics.breakdown(store, f, "meeting_type"),
            "by_provider": analytics.breakdown(store, f, "provider"),
            "daily": analytics.daily(store, f),
            "heatmap": analytics.booked_heatmap(store, f, tz),
            "time_to_book": analytics.time_to_book(store, f),
            **{f"revenue_{k}": v for k, v in analytics.revenue(store, f).items()},
            "incomplete": analytics.incomplete(
                store, f, now=self.desk.clock(), hours=self.desk.settings.incomplete_after_hours
            ),
            "webhooks": analytics.webhook_health(store, f),
            "followups": analytics.followups(store, f),
        }

    def export_csv(self, f: analytics.Filters, what: str) -> str:
        return analytics.export_csv(self.desk.store, f, what)

    def has_history(self) -> bool:
        return self.desk.store.has_history()

    def outbox(self, limit: int = 50) -> list[dict]:
        return outbox(self.desk.store, limit=limit)

    def refunds_due(self) -> list[dict]:
        return self.desk.store.refunds_due()

    def load_demo_data(self, attempts: int, *, seed: int = 1) -> int:
        """Write a synthetic history of ``attempts`` attempts (see booking.demo)."""
        offers = [(a, list(types)) for a, types in self.desk.offers.reachable() if types]
        return self.desk.store.import_history(
            demo.histories(attempts, seed=seed, now=self.desk.clock(), offers=offers)
        )

    def calendar_feeds(self) -> list[dict]:
        """Each local analyst's calendar feed as the owner reads it: 'ok', 'stale' (failing;
        the last good copy is used) or 'missing' (never read: that analyst is not offered),
        with a sentence saying so."""
        out = []
        for f in self.desk.feeds.status(self.desk.catalogue.analysts):
            at = f"{f.fetched_at:%d %b %H:%M} UTC" if f.fetched_at else ""
            since = f"{f.failed_at:%d %b %H:%M} UTC" if f.failed_at else ""
            if f.state == "ok":
                sentence = f"read {at}"
            elif f.state == "unread":
                sentence = "not read yet; it is read when a visitor first asks"
            elif f.state == "stale":
                sentence = (
                    f"failing since {since} ({f.error}); times are checked against the last "
                    f"good copy, read {at}"
                )
            else:
                sentence = (
                    f"never read ({f.error}); {f.analyst}'s times are not offered until it "
                    "can be read"
                )
            out.append({"analyst": f.analyst, "feed": f.feed, "state": f.state, "text": sentence})
        return out

    def signature_alarm(self) -> str | None:
        """The notice "webhooks failing signature checks since …": verified deliveries
        have stopped while refused ones go on (at least ``ALARM_AFTER`` refused since the
        last verified one): the signing key is wrong or missing, and Calendly disables a
        subscription after 24 hours of failures."""
        failing = calendly_records.signature_failures(self.desk.store.db)
        if failing is None or failing["refused"] < ALARM_AFTER:
            return None
        last = failing["last_verified"] or "never"
        return (
            f"Calendly webhooks failing signature checks since {failing['since'][:16]} UTC: "
            f"{failing['refused']:,} deliveries refused since the last verified one "
            f"({last[:16]}). Check that CALENDLY_WEBHOOK_SIGNING_KEY is the subscription's "
            "key, or make a new one with `booking webhooks register --url … --replace`; "
            "Calendly disables a subscription after 24 hours of failures, and "
            "reconciliation fills in what was missed."
        )

    def health(self) -> dict:
        """Whether the database takes a real write on the file it opened (else why not), the
        modes, and the time of the last verified webhook."""
        s = self.desk.settings
        problem = self.desk.store.health(now=self.desk.clock())
        last = self.desk.store.last_verified_delivery() if problem is None else None
        age = (self.desk.clock() - parse_iso(last)).total_seconds() if last else None
        return {
            "lastVerifiedWebhook": last,
            "lastVerifiedWebhookAgeSeconds": None if age is None else int(age),
            "status": "ok" if problem is None else "degraded",
            "database": "reachable" if problem is None else "unavailable",
            **({"reason": problem} if problem else {}),
            "mode": "offline" if s.calendly_mode == "sandbox" else "live",
            "services": {
                "calendly": s.calendly_mode,
                "payments": s.payments_mode,
                "email": s.mail_mode,
            },
        }
