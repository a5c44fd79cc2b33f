"""The sandbox's tables: the ``calendly_sandbox`` migration set.

sqlite-utils records each applied migration by its function name (set
``calendly_sandbox``), so these functions are never renamed; new ones go at the end.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("calendly_sandbox")


@migrations()
def s001_sandbox_tables(db: Database) -> None:
    """Links, scheduled events, invitees and webhook subscriptions."""
    db["sandbox_links"].create(
        {
            "code": str,
            "event_type_uuid": str,
            "max_event_count": int,
            "used": int,
            "created_at": str,
        },
        pk="code",
    )
    db["sandbox_events"].create(
        {
            "uuid": str,
            "event_type_uuid": str,
            "start_time": str,
            "end_time": str,
            "status": str,
            "created_at": str,
            "updated_at": str,
            "cancellation": str,
        },
        pk="uuid",
    )
    db["sandbox_events"].create_index(["status", "start_time"])
    db["sandbox_invitees"].create(
        {
            "uuid": str,
            "event_uuid": str,
            "link_code": str,
            "name": str,
            "email": str,
            "timezone": str,
            "answer": str,
            "tracking": str,
            "status": str,
            "rescheduled": int,
            "old_invitee": str,
            "new_invitee": str,
            "cancellation": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="uuid",
    )
    db["sandbox_invitees"].create_index(["event_uuid"])
    db["sandbox_webhooks"].create(
        {
            "uuid": str,
            "callback_url": str,
            "events": str,
            "signing_key": str,
            "scope": str,
            "state": str,
            "created_at": str,
        },
        pk="uuid",
    )


@migrations()
def s002_deliveries_and_no_shows(db: Database) -> None:
    """A delivery outbox, so webhooks are retried like Calendly's, and no-show marks."""
    db["sandbox_deliveries"].create(
        {
            "id": int,
            "subscription_uuid": str,
            "event": str,
            "body": str,
            "attempts": int,
            "next_attempt_at": str,
            "delivered_at": str,
            "failed_at": str,
            "last_status": str,
            "created_at": str,
        },
        pk="id",
    )
    db["sandbox_deliveries"].create_index(["delivered_at", "failed_at", "next_attempt_at"])
    db["sandbox_invitees"].add_column("no_show", str)


@migrations()
def s003_answers_locations_retries(db: Database) -> None:
    """Every answer and the chosen location of a booking, and when a subscription's
    deliveries started failing (Calendly's ``retry_started_at``)."""
    db["sandbox_invitees"].add_column("answers", str)
    db["sandbox_events"].add_column("location", str)
    db["sandbox_webhooks"].add_column("retry_started_at", str)
