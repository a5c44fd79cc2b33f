"""The owner's funnel: aggregations in SQL over attempts, bookings and webhook deliveries.

Every query returns a small result (counts per step, per day, per group) and pandas only
shapes those. The funnel numbers come from ``funnel_daily``, a roll-up the store keeps
exact on every write (attempts and the steps they reached, per day, analyst, meeting type
and provider), so a period costs a few thousand rows whatever the traffic. Booking
outcomes come from an index that covers the bookings' columns used here.

Periods are cohorts by the attempt's start (``attempts.created_at``), in UTC dates.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from booking.domain import funnel

# The funnel as the owner reads it: each step counted once per attempt.
STEPS = (
    ("attempts", "Attempts", None),
    ("slot_chosen", "Slot chosen", funnel.SLOT_CHOSEN),
    ("details_submitted", "Details submitted", funnel.DETAILS_SUBMITTED),
    ("paid", "Paid", funnel.PAID),
    ("link_created", "Link created", funnel.LINK_CREATED),
    ("redirected", "Redirected", funnel.REDIRECTED),
    ("booked", "Booked", funnel.BOOKED),
    ("canceled", "Canceled", funnel.CANCELED),
    ("rescheduled", "Rescheduled", funnel.RESCHEDULED),
    ("no_show", "No-show", funnel.NO_SHOW),
)
# The ordered conversion path (the rest are outcomes after booking).
PATH = ("attempts", "slot_chosen", "details_submitted", "booked")
DIMENSIONS = {"analyst": "analyst", "meeting_type": "meeting_type", "provider": "provider"}


@dataclass(frozen=True)
class Filters:
    first: date
    last: date  # inclusive
    analyst: str | None = None
    meeting_type: str | None = None
    provider: str | None = None

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> Filters:
        """The period of the same length just before this one."""
        return replace(
            self, first=self.first - timedelta(days=self.days), last=self.first - timedelta(days=1)
        )

    def where(self, table: str = "attempts", column: str = "created_at") -> tuple[str, list]:
        sql = [f"{table}.{column} >= ?", f"{table}.{column} < ?"]
        params: list = [self.first.isoformat(), (self.last + timedelta(days=1)).isoformat()]
        for name in DIMENSIONS:
            value = getattr(self, name)
            if value:
                sql.append(f"{table}.{name} = ?")
                params.append(value)
        return " AND ".join(sql), params


def _step_sums() -> str:
    return ", ".join(
        "coalesce(sum(attempts), 0) AS attempts"
        if key == "attempts"
        else f"coalesce(sum(s_{step}), 0) AS {key}"
        for key, _, step in STEPS
    )


def kpis(db, f: Filters) -> dict[str, int]:
    """How many attempts of the period reached each step."""
    where, params = f.where("funnel_daily", "day")
    row = db.execute(f"SELECT {_step_sums()} FROM funnel_daily WHERE {where}", params).fetchone()  # noqa: S608
    return {key: int(value or 0) for (key, _, _), value in zip(STEPS, row, strict=True)}


def kpis_with_change(db, f: Filters) -> pd.DataFrame:
    """Each step this period, the previous period and the change."""
    now, before = kpis(db, f), kpis(db, f.previous())
    rows = []
    for key, label, _ in STEPS:
        change = None if before[key] == 0 else (now[key] - before[key]) / before[key]
        rows.append(
            {
                "step": key,
                "label": label,
                "count": now[key],
                "previous": before[key],
                "change": change,
            }
        )
    return pd.DataFrame(rows)


def funnel_table(counts: dict[str, int]) -> pd.DataFrame:
    """The conversion path with % of start and the drop-off from the step before."""
    rows, start, before = [], counts["attempts"], None
    for key in PATH:
        label = next(lbl for k, lbl, _ in STEPS if k == key)
        n = counts[key]
        rows.append(
            {
                "step": label,
                "count": n,
                "pct_of_start": n / start if start else 0.0,
                "dropoff": (1 - n / before) if before else 0.0,
            }
        )
        before = n
    return pd.DataFrame(rows)


def breakdown(db, f: Filters, by: str) -> pd.DataFrame:
    """Attempts and outcomes per analyst, meeting type or provider."""
    column = DIMENSIONS[by]
    where, params = f.where("funnel_daily", "day")
    df = pd.read_sql_query(
        f"SELECT CASE {column} WHEN '' THEN '(none)' ELSE {column} END AS {by}, "  # noqa: S608
        f"{_step_sums()} FROM funnel_daily WHERE {where} GROUP BY 1 ORDER BY attempts DESC",
        db,
        params=params,
    )
    df["conversion"] = (df["booked"] / df["attempts"]).where(df["attempts"] > 0, 0.0)
    return df


def daily(db, f: Filters) -> pd.DataFrame:
    """Attempts and bookings per day of the period (days without attempts as zeros)."""
    where, params = f.where("funnel_daily", "day")
    df = pd.read_sql_query(
        f"SELECT day, sum(attempts) AS attempts, sum(s_booked) AS booked "  # noqa: S608
        f"FROM funnel_daily WHERE {where} GROUP BY 1",
        db,
        params=params,
    )
    days = pd.DataFrame({"day": [(f.first + timedelta(days=i)).isoformat() for i in range(f.days)]})
    return days.merge(df, on="day", how="left").fillna(0).astype({"attempts": int, "booked": int})


def booked_heatmap(db, f: Filters, tz: ZoneInfo) -> pd.DataFrame:
    """Booked start times as weekday × hour in the owner's zone.

    SQL counts per UTC hour; each hour bucket is then placed in the owner's zone, which
    keeps daylight-saving right without loading single bookings.
    """
    where, params = f.where("bookings")
    rows = db.execute(
        f"SELECT substr(start_utc, 1, 13), count(*) FROM bookings WHERE {where} "  # noqa: S608
        "AND status IN ('confirmed', 'active') GROUP BY 1",
        params,
    ).fetchall()
    cells: dict[tuple[int, int], int] = {}
    for hour, n in rows:
        local = datetime.fromisoformat(f"{hour}:00:00+00:00").astimezone(tz)
        cells[(local.weekday(), local.hour)] = cells.get((local.weekday(), local.hour), 0) + n
    return pd.DataFrame(
        [
            {"weekday": d, "hour": h, "bookings": cells.get((d, h), 0)}
            for d in range(7)
            for h in range(24)
        ]
    )


def time_to_book(db, f: Filters) -> pd.DataFrame:
    """How long booked attempts took from start to booking, in buckets."""
    where, params = f.where("funnel_daily", "day")
    sums = ", ".join(f"coalesce(sum(ttb_{i}), 0)" for i in range(len(funnel.TIME_TO_BOOK)))
    row = db.execute(f"SELECT {sums} FROM funnel_daily WHERE {where}", params).fetchone()  # noqa: S608
    return pd.DataFrame(
        {
            "time_to_book": [label for label, _ in funnel.TIME_TO_BOOK],
            "attempts": [int(v) for v in row],
        }
    )


def booking_rates(db, f: Filters) -> dict[str, float | int]:
    """Bookings made in the period: how many were canceled (not moved), how many are the new
    half of a reschedule, how many were no-shows."""
    where, params = f.where("bookings")
    total, canceled, moved, no_show = db.execute(
        f"SELECT count(*), sum(status = 'canceled' AND rescheduled_to IS NULL), "  # noqa: S608
        f"sum(rescheduled_from IS NOT NULL), sum(coalesce(no_show, 0)) FROM bookings WHERE {where}",
        params,
    ).fetchone()
    total = total or 0
    return {
        "bookings": total,
        "canceled": canceled or 0,
        "rescheduled": moved or 0,
        "no_show": no_show or 0,
        "cancel_rate": (canceled or 0) / total if total else 0.0,
        "no_show_rate": (no_show or 0) / total if total else 0.0,
    }


def incomplete(db, f: Filters, *, now: datetime, hours: int, limit: int = 200) -> pd.DataFrame:
    """Attempts that got a Calendly link (or started paying) but no booking after ``hours``."""
    where, params = f.where()
    cutoff = (now - timedelta(hours=hours)).isoformat(timespec="seconds")
    return pd.read_sql_query(
        f"SELECT id AS attempt, created_at, analyst, meeting_type, provider, email, "  # noqa: S608
        f"coalesce(at_link_created, at_payment_started) AS stuck_since, "
        f"coalesce(followups_sent, 0) AS followups_sent "
        f"FROM attempts WHERE {where} "
        f"AND at_booked IS NULL AND coalesce(at_link_created, at_payment_started) < ? "
        f"ORDER BY created_at DESC LIMIT ?",
        db,
        params=[*params, cutoff, limit],
    )


def followups(db, f: Filters) -> dict:
    """Attempts of the period that were followed up, and how many of them then booked."""
    where, params = f.where()
    sent, recovered = db.execute(
        # Through the follow-up index: followed-up attempts are few, the period's are many.
        f"SELECT count(*), coalesce(sum(at_booked > at_followup_sent), 0) FROM attempts "  # noqa: S608
        f"INDEXED BY attempts_followed_up WHERE at_followup_sent IS NOT NULL AND {where}",
        params,
    ).fetchone()
    return {"followed_up": sent, "recovered": recovered}


def webhook_health(db, f: Filters) -> dict:
    """Deliveries received in the period: rejected, repeated, the last one; reconciliation."""
    period = [f.first.isoformat(), (f.last + timedelta(days=1)).isoformat()]
    received, rejected, duplicates, last = db.execute(
        "SELECT count(*), sum(verified = 0), sum(outcome = 'duplicate'), max(received_at) "
        "FROM webhook_deliveries WHERE received_at >= ? AND received_at < ?",
        period,
    ).fetchone()
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


def export_csv(db, f: Filters, what: str) -> str:
    """The period's attempts or bookings (filtered) as CSV."""
    if what == "attempts":
        where, params = f.where()
        sql = f"SELECT * FROM attempts WHERE {where} ORDER BY created_at"  # noqa: S608
    else:
        where, params = f.where("bookings")
        sql = f"SELECT * FROM bookings WHERE {where} ORDER BY created_at"  # noqa: S608
    cursor = db.execute(sql, params)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c[0] for c in cursor.description])
    writer.writerows(cursor)
    return out.getvalue()
