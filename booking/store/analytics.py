"""The owner's analytics queries: small aggregates over ``funnel_daily`` (the roll-up),
``bookings`` (through the covering index ``bookings_by_created``), ``attempts`` and the
webhook tables. Each returns a few rows; ``booking.analytics`` shapes them.

Periods are cohorts by the attempt's start (``attempts.created_at``), in UTC dates;
``steps`` maps the names the caller wants to a tracked funnel step (None: all attempts).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlite_utils import Database

from booking.domain import funnel
from booking.domain.filters import DIMENSIONS, Filters
from booking.domain.funnel import BookingStatus
from booking.store.sql import Rows, iso, rows

Steps = Mapping[str, str | None]


def _where(f: Filters, table: str = "attempts", column: str = "created_at") -> tuple[str, list]:
    sql = [f"{table}.{column} >= ?", f"{table}.{column} < ?"]
    params: list = [f.first.isoformat(), f.end.isoformat()]
    for name, value in f.narrowed().items():
        sql.append(f"{table}.{name} = ?")
        params.append(value)
    return " AND ".join(sql), params


def _step_sums(steps: Steps) -> str:
    return ", ".join(
        f"coalesce(sum({f's_{step}' if step else 'attempts'}), 0) AS {name}"
        for name, step in steps.items()
    )


def step_counts(db: Database, f: Filters, steps: Steps) -> dict[str, int]:
    """How many attempts of the period reached each step."""
    where, params = _where(f, "funnel_daily", "day")
    row = db.execute(f"SELECT {_step_sums(steps)} FROM funnel_daily WHERE {where}", params)  # noqa: S608
    return {name: int(value or 0) for name, value in zip(steps, row.fetchone(), strict=True)}


def breakdown(db: Database, f: Filters, by: str, steps: Steps) -> Rows:
    """The step counts per analyst, meeting type or provider, most attempts first."""
    if by not in DIMENSIONS:
        raise KeyError(by)
    where, params = _where(f, "funnel_daily", "day")
    return rows(
        db,
        f"SELECT CASE {by} WHEN '' THEN '(none)' ELSE {by} END AS {by}, "  # noqa: S608
        f"{_step_sums(steps)} FROM funnel_daily WHERE {where} GROUP BY 1 ORDER BY attempts DESC",
        params,
    )


def daily(db: Database, f: Filters) -> Rows:
    """Attempts and bookings per day that had attempts."""
    where, params = _where(f, "funnel_daily", "day")
    return rows(
        db,
        f"SELECT day, sum(attempts) AS attempts, sum(s_booked) AS booked "  # noqa: S608
        f"FROM funnel_daily WHERE {where} GROUP BY 1",
        params,
    )


def booked_hours(db: Database, f: Filters) -> list[tuple[str, int]]:
    """Standing bookings per UTC hour of their start ('YYYY-MM-DDTHH', count)."""
    where, params = _where(f, "bookings")
    return db.execute(
        # Through the covering index by creation: the period's rows only, never the table.
        f"SELECT substr(start_utc, 1, 13), count(*) FROM bookings INDEXED BY "  # noqa: S608
        f"bookings_by_created WHERE {where} "
        f"AND status = '{BookingStatus.CONFIRMED}' GROUP BY 1",
        params,
    ).fetchall()


def time_to_book(db: Database, f: Filters) -> list[int]:
    """Booked attempts per time-to-book bucket (``funnel.TIME_TO_BOOK``)."""
    where, params = _where(f, "funnel_daily", "day")
    sums = ", ".join(f"coalesce(sum(ttb_{i}), 0)" for i in range(len(funnel.TIME_TO_BOOK)))
    row = db.execute(f"SELECT {sums} FROM funnel_daily WHERE {where}", params).fetchone()  # noqa: S608
    return [int(v) for v in row]


def payments(db: Database, f: Filters) -> list[tuple]:
    """The period's attempts' checkouts that took money, grouped exactly: (analyst, meeting
    type, currency, status, amount, how many). Amounts stay text (Decimal in Python)."""
    where, params = _where(f)
    return db.execute(
        f"SELECT attempts.analyst, attempts.meeting_type, p.currency, p.status, p.amount, "  # noqa: S608
        f"count(*) FROM payments p JOIN attempts ON attempts.id = p.attempt_id "
        f"WHERE p.status IN ('paid', 'refund_due') AND {where} "
        f"GROUP BY 1, 2, 3, 4, 5",
        params,
    ).fetchall()


def incomplete(db: Database, f: Filters, *, stuck_before: datetime, limit: int) -> Rows:
    """Attempts that got a Calendly link (or started paying) before ``stuck_before`` and
    were not booked, newest first."""
    where, params = _where(f)
    return rows(
        db,
        f"SELECT id AS attempt, created_at, analyst, meeting_type, provider, email, "  # noqa: S608
        f"coalesce(at_link_created, at_payment_started) AS stuck_since, "
        f"coalesce(followups_sent, 0) AS followups_sent "
        # Through the partial index of stalled attempts (m009): few, whatever the traffic.
        f"FROM attempts INDEXED BY attempts_stalled WHERE {where} AND at_booked IS NULL "
        f"AND coalesce(at_link_created, at_payment_started) IS NOT NULL "
        f"AND coalesce(at_link_created, at_payment_started) < ? "
        f"ORDER BY created_at DESC LIMIT ?",
        [*params, iso(stuck_before), limit],
    )


def followups(db: Database, f: Filters) -> dict[str, int]:
    """Attempts of the period that were followed up, and how many of them then booked."""
    where, params = _where(f)
    sent, recovered = db.execute(
        # Through the follow-up index: followed-up attempts are few, the period's are many.
        f"SELECT count(*), coalesce(sum(at_booked > at_followup_sent), 0) FROM attempts "  # noqa: S608
        f"INDEXED BY attempts_followed_up WHERE at_followup_sent IS NOT NULL AND {where}",
        params,
    ).fetchone()
    return {"followed_up": sent, "recovered": recovered}


def webhook_health(db: Database, f: Filters) -> dict:
    """Deliveries received in the period: rejected, repeated, the last one; reconciliation."""
    period = [f.first.isoformat(), f.end.isoformat()]
    received, duplicates, last = db.execute(
        "SELECT count(*), sum(outcome = 'duplicate'), max(received_at) "
        "FROM webhook_deliveries WHERE verified = 1 AND received_at >= ? AND received_at < ?",
        period,
    ).fetchone()
    rejected = db.execute(  # refusals are counted exactly; only a sample is kept
        "SELECT coalesce(sum(count), 0) FROM webhook_refusals WHERE day >= ? AND day < ?",
        [f.first.isoformat(), f.end.isoformat()],
    ).fetchone()[0]
    received = (received or 0) + rejected
    fixed, last_run = db.execute(
        "SELECT coalesce(sum(fixed), 0), max(at) FROM reconcile_runs WHERE at >= ? AND at < ?",
        period,
    ).fetchone()
    return {
        "deliveries": received or 0,
        "rejected": rejected or 0,
        "duplicates": duplicates or 0,
        "last_delivery": last,
        "reconciliation_fixes": fixed,
        "last_reconciliation": last_run,
    }


def export(db: Database, f: Filters, what: str) -> Rows:
    """The period's attempts or bookings (filtered), every column, oldest first."""
    table = "attempts" if what == "attempts" else "bookings"
    where, params = _where(f, table)
    return rows(db, f"SELECT * FROM {table} WHERE {where} ORDER BY created_at", params)  # noqa: S608
