"""The desk's schema: the ``booking_desk`` migration set.

sqlite-utils records each applied migration by its function name in ``_sqlite_migrations``
(set ``booking_desk``), so these functions are never renamed: a renamed migration would
run again on every existing database. Add new ones at the end. Statuses are
written out literally (not taken from ``BookingStatus``): a migration is history.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

from booking.domain import funnel
from booking.store import rollup
from booking.store.rollup import ROLLUP_COUNTS, ROLLUP_DIMS

migrations = Migrations("booking_desk")


@migrations()
def m001_attempts_funnel_bookings(db: Database) -> None:
    db["attempts"].create(
        {
            "id": str,
            "created_at": str,
            "updated_at": str,
            "source": str,
            "analyst": str,
            "meeting_type": str,
            "provider": str,
            "visitor_tz": str,
            "slot_start": str,
            "name": str,
            "email": str,
            "notes": str,
            "status": str,
            "booking_ref": str,
        },
        pk="id",
        not_null={"created_at", "source", "status"},
        defaults={"status": "open"},
    )
    db["attempts"].create_index(["created_at"])
    db["funnel_events"].create(
        {"id": int, "attempt_id": str, "step": str, "at": str, "detail": str},
        pk="id",
        not_null={"attempt_id", "step", "at"},
        foreign_keys=[("attempt_id", "attempts", "id")],
    )
    db["funnel_events"].create_index(["attempt_id"])
    db["funnel_events"].create_index(["step", "at"])
    for action in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER funnel_events_append_only_{action.lower()} "
            f"BEFORE {action} ON funnel_events "
            "BEGIN SELECT RAISE(ABORT, 'funnel_events is append-only'); END"
        )
    db["bookings"].create(
        {
            "reference": str,
            "attempt_id": str,
            "provider": str,
            "analyst": str,
            "meeting_type": str,
            "start_utc": str,
            "end_utc": str,
            "status": str,
            "hold_expires_at": str,
            "name": str,
            "email": str,
            "notes": str,
            "visitor_tz": str,
            "price": str,
            "currency": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="reference",
        not_null={"provider", "analyst", "start_utc", "end_utc", "status", "created_at"},
    )
    db.execute(
        "CREATE UNIQUE INDEX bookings_occupancy ON bookings (analyst, start_utc) "
        "WHERE status IN ('confirmed', 'held')"
    )
    db["bookings"].create_index(["analyst", "start_utc"])
    db["bookings"].create_index(["attempt_id"])


@migrations()
def m002_calendly_webhooks(db: Database) -> None:
    db["webhook_deliveries"].create(
        {
            "id": int,
            "received_at": str,
            "source": str,
            "event": str,
            "payload_uri": str,
            "verified": int,
            "rejection": str,
            "body": str,
            "body_bytes": int,
            "outcome": str,
            "applied_at": str,
        },
        pk="id",
        not_null={"received_at", "source", "verified"},
    )
    db["webhook_deliveries"].create_index(["received_at"])
    db["webhook_deliveries"].create_index(["verified", "outcome"])
    db["webhook_applied"].create(
        {"event": str, "payload_uri": str, "delivery_id": int, "applied_at": str},
        pk=("event", "payload_uri"),
    )
    for column, kind in (
        ("invitee_uri", str),
        ("event_uri", str),
        ("cancel_url", str),
        ("reschedule_url", str),
        ("cancel_reason", str),
        ("canceled_by", str),
        ("canceler_type", str),
        ("rescheduled_from", str),
        ("rescheduled_to", str),
        ("no_show", int),
        ("no_show_at", str),
    ):
        db["bookings"].add_column(column, kind)
    db.execute(
        "CREATE UNIQUE INDEX bookings_invitee ON bookings (invitee_uri) "
        "WHERE invitee_uri IS NOT NULL"
    )


@migrations()
def m003_funnel_rollup(db: Database) -> None:
    """Analytics at scale: the first time each attempt reached each tracked step, and a
    daily roll-up of attempts per (day, analyst, meeting type, provider), kept exact by the
    store on every write, so the owner's dashboard reads a few thousand rows, not millions."""
    for step in funnel.TRACKED:
        db["attempts"].add_column(f"at_{step}", str)
        db.execute(
            f"UPDATE attempts SET at_{step} = (SELECT min(at) FROM funnel_events e "  # noqa: S608
            f"WHERE e.attempt_id = attempts.id AND e.step = ?)",
            [step],
        )
    db["funnel_daily"].create(
        {"day": str, **dict.fromkeys(ROLLUP_DIMS, str), **dict.fromkeys(ROLLUP_COUNTS, int)},
        pk=("day", *ROLLUP_DIMS),
    )
    totals: dict = {}
    for row in rollup.all_facts(db):
        rollup.add(totals, row)
    rollup.roll_totals(db, totals)
    db["bookings"].create_index(
        [
            "created_at",
            "status",
            "start_utc",
            *ROLLUP_DIMS,
            "rescheduled_from",
            "rescheduled_to",
            "no_show",
        ],
        index_name="bookings_by_created",
    )
    db["webhook_deliveries"].create_index(
        ["received_at", "verified", "outcome"], index_name="webhook_deliveries_health"
    )
    db["reconcile_runs"].create({"id": int, "at": str, "fixed": int, "detail": str}, pk="id")


@migrations()
def m004_payments_mail_followups(db: Database) -> None:
    """Checkout sessions, the email outbox, and what follow-ups need on an attempt."""
    for step in funnel.TRACKED:  # steps tracked since m003 ran on this database
        if f"at_{step}" not in db["attempts"].columns_dict:
            db["attempts"].add_column(f"at_{step}", str)
        if f"s_{step}" not in db["funnel_daily"].columns_dict:
            db["funnel_daily"].add_column(f"s_{step}", int, not_null_default=0)
    db["attempts"].create_index(["at_followup_sent"], index_name="attempts_followed_up")
    for column, kind in (
        ("handoff_url", str),
        ("followups_sent", int),
        ("last_followup_at", str),
        ("followups_stopped", int),
    ):
        db["attempts"].add_column(column, kind)
    db["payments"].create(
        {
            "id": str,
            "attempt_id": str,
            "provider": str,
            "amount": str,
            "currency": str,
            "description": str,
            "meeting_type": str,
            "slot_start": str,
            "status": str,  # open → paid | abandoned (→ paid, if paid late); paid → refund_due
            "url": str,
            "hold_ref": str,
            "created_at": str,
            "updated_at": str,
            "paid_at": str,
        },
        pk="id",
        not_null={"attempt_id", "provider", "amount", "currency", "status", "created_at"},
        foreign_keys=[("attempt_id", "attempts", "id")],
    )
    db["payments"].create_index(["attempt_id"])
    db["payments"].create_index(["status", "created_at"])
    db["outbox"].create(
        {
            "id": int,
            "key": str,  # what the mail is about, e.g. 'confirmation:BD-…'; sent once
            "kind": str,
            "attempt_id": str,
            "booking_ref": str,
            "to_addr": str,
            "subject": str,
            "message": str,  # the whole RFC 5322 message, as sent
            "status": str,  # queued → sent | kept (no SMTP: the owner reads it) | failed
            "tries": int,
            "next_try_at": str,
            "last_error": str,
            "created_at": str,
            "sent_at": str,
        },
        pk="id",
        not_null={"key", "kind", "to_addr", "subject", "message", "status", "created_at"},
        defaults={"tries": 0},
    )
    db["outbox"].create_index(["key"], unique=True)
    db["outbox"].create_index(["status", "next_try_at"])


@migrations()
def m005_one_booking_status(db: Database) -> None:
    """One status word for a booking that stands: Calendly's 'active' becomes 'confirmed',
    and the occupancy index covers local bookings only (Calendly keeps its own calendar, so
    its bookings never collide there)."""
    db.execute("DROP INDEX bookings_occupancy")
    db.execute("UPDATE bookings SET status = 'confirmed' WHERE status = 'active'")
    db.execute(
        "CREATE UNIQUE INDEX bookings_occupancy ON bookings (analyst, start_utc) "
        "WHERE provider = 'local' AND status IN ('confirmed', 'held')"
    )


@migrations()
def m006_local_calendars_manage_reminders(db: Database) -> None:
    """Local analysts for real: each booking's invitation sequence and when its time was
    set, private manage tokens (only their SHA-256 is kept), reminders sent (once each per
    booking, time and lead), and the last good copy of every analyst's calendar feed."""
    db["bookings"].add_column("sequence", int, not_null_default=0)
    db["bookings"].add_column("scheduled_at", str)
    db.execute("UPDATE bookings SET scheduled_at = created_at")
    db["bookings"].create_index(["status", "start_utc"], index_name="bookings_upcoming")
    db["manage_tokens"].create(
        {"token_hash": str, "reference": str, "created_at": str},
        pk="token_hash",
        not_null={"reference", "created_at"},
        foreign_keys=[("reference", "bookings", "reference")],
    )
    db["manage_tokens"].create_index(["reference"])
    db["reminders_sent"].create(
        {"reference": str, "start_utc": str, "hours": str, "sent_at": str},
        pk=("reference", "start_utc", "hours"),
        not_null={"sent_at"},
    )
    db["feed_copies"].create(
        {
            "feed_key": str,  # SHA-256 of the feed address: private addresses stay out
            "body": bytes,
            "etag": str,
            "last_modified": str,
            "fetched_at": str,  # when the body was last read anew
            "checked_at": str,  # when the feed was last asked (changed or not)
            "failed_at": str,  # when the last failure happened (None once it works again)
            "error": str,
        },
        pk="feed_key",
    )


@migrations()
def m010_limits_refusals_health(db: Database) -> None:
    """Ready for the public internet: per-client counters in fixed windows (pruned as
    windows pass, so they cannot fill the disk), exact counts of refused webhook
    deliveries (only a bounded sample of their bodies is kept), and the row a health check
    writes to prove the database still takes writes; failed owner sign-ins (for growing
    delays) and the desk's own signing secret (the owner's session cookie)."""
    db["rate_limits"].create(
        {"bucket": str, "client": str, "window": int, "count": int},
        pk=("bucket", "client", "window"),
    )
    db["rate_limits"].create_index(["window"])
    db["webhook_refusals"].create(
        {"day": str, "source": str, "rejection": str, "count": int},
        pk=("day", "source", "rejection"),
    )
    db.execute(
        "INSERT INTO webhook_refusals (day, source, rejection, count) "
        "SELECT substr(received_at, 1, 10), source, coalesce(rejection, 'refused'), count(*) "
        "FROM webhook_deliveries WHERE verified = 0 GROUP BY 1, 2, 3"
    )
    db["health_probe"].create({"id": int, "at": str}, pk="id")
    db["signin_throttle"].create({"key": str, "fails": int, "last_at": str}, pk="key")
    db["desk_secrets"].create({"name": str, "value": str}, pk="name")


@migrations()
def m007_calendly_answers_reconcile(db: Database) -> None:
    """What a direct Calendly booking needs kept between the details form and the booking
    (the answers to the event type's questions, the invitee's part of its location), and
    where a reconciliation run that spent its request budget stopped."""
    db["attempts"].add_column("calendly_answers", str)  # JSON: {"q<position>": answer, …}
    db["reconcile_runs"].add_column("resume_from", str)  # None: the run finished
    db["reconcile_runs"].add_column("requests", int)
    db["bookings"].create_index(["event_uri"], index_name="bookings_by_event")


@migrations()
def m008_erasure_and_retention(db: Database) -> None:
    """Privacy: when a person's data was erased from an attempt or a booking (the rows stay,
    so every count stays), indexes over what retention has still to look at, and a funnel
    whose events stay append-only except that an event's ``detail`` may be rewritten, to
    erase what it says about a person."""
    db["attempts"].add_column("erased_at", str)
    db["bookings"].add_column("erased_at", str)
    db.execute("CREATE INDEX attempts_unerased ON attempts (updated_at) WHERE erased_at IS NULL")
    db.execute("CREATE INDEX bookings_unerased ON bookings (end_utc) WHERE erased_at IS NULL")
    db.execute(
        "CREATE INDEX webhook_deliveries_with_body ON webhook_deliveries (received_at) "
        "WHERE body IS NOT NULL"
    )
    db.execute("DROP TRIGGER funnel_events_append_only_update")
    db.execute(
        "CREATE TRIGGER funnel_events_append_only_update BEFORE UPDATE ON funnel_events "
        "WHEN NEW.id IS NOT OLD.id OR NEW.attempt_id IS NOT OLD.attempt_id "
        "OR NEW.step IS NOT OLD.step OR NEW.at IS NOT OLD.at "
        "BEGIN SELECT RAISE(ABORT, 'funnel_events is append-only'); END"
    )


@migrations()
def m009_stalled_attempts_index(db: Database) -> None:
    """The dashboard's incomplete attempts (a link created or a payment started, not booked)
    through a partial index of just those: a period filtered to an analyst who has none
    read every attempt of the period (0.7 s at 1,000,000 attempts)."""
    db.execute(
        "CREATE INDEX attempts_stalled ON attempts (created_at) WHERE at_booked IS NULL "
        "AND coalesce(at_link_created, at_payment_started) IS NOT NULL"
    )


@migrations()
def m011_calendly_attempt_lookup(db: Database) -> None:
    """A Calendly invitee that arrives without our utm_content is matched to its attempt by
    event type, start and email: through a partial index of Calendly attempts, instead of a
    read of every attempt for each such delivery (17 deliveries/s at 200,000 attempts)."""
    db.execute(
        "CREATE INDEX attempts_calendly_slot ON attempts (slot_start, meeting_type) "
        "WHERE provider = 'calendly'"
    )
