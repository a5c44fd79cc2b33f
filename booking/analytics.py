"""The owner's funnel: the numbers of the analytics page, shaped for reading.

The queries live in the store (``booking.store.analytics``) and each returns a small
result (counts per step, per day, per group); this module names the steps, works out
rates and changes, and shapes pandas frames and CSV. The funnel numbers come from
``funnel_daily``, a roll-up the store keeps exact on every write, so a period costs a few
thousand rows whatever the traffic.

Periods are cohorts by the attempt's start (``attempts.created_at``), in UTC dates.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd

from booking.domain import funnel
from booking.domain.filters import DIMENSIONS, Filters
from booking.store import Store
from booking.store import analytics as queries
from booking.store.sql import Rows

__all__ = [
    "DEFINITION",
    "DIMENSIONS",
    "PATH",
    "STEPS",
    "Filters",
    "booked_heatmap",
    "booking_rates",
    "breakdown",
    "daily",
    "export_csv",
    "followups",
    "funnel_table",
    "incomplete",
    "kpis",
    "kpis_with_change",
    "revenue",
    "time_to_book",
    "webhook_health",
]

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
_STEPS = {key: step for key, _, step in STEPS}


def _frame(result: Rows) -> pd.DataFrame:
    """A query's rows as a frame (as ``pandas.read_sql_query`` builds it)."""
    return pd.DataFrame.from_records(list(result.rows), columns=result.columns, coerce_float=True)


def kpis(store: Store, f: Filters) -> dict[str, int]:
    """How many attempts of the period reached each step."""
    return queries.step_counts(store.db, f, _STEPS)


def kpis_with_change(store: Store, f: Filters) -> pd.DataFrame:
    """Each step this period, the previous period and the change."""
    now, before = kpis(store, f), kpis(store, f.previous())
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


def breakdown(store: Store, f: Filters, by: str) -> pd.DataFrame:
    """Attempts and outcomes per analyst, meeting type or provider."""
    df = _frame(queries.breakdown(store.db, f, by, _STEPS))
    df["conversion"] = (df["booked"] / df["attempts"]).where(df["attempts"] > 0, 0.0)
    return df


def daily(store: Store, f: Filters) -> pd.DataFrame:
    """Attempts and bookings per day of the period (days without attempts as zeros)."""
    df = _frame(queries.daily(store.db, f))
    days = pd.DataFrame({"day": [(f.first + timedelta(days=i)).isoformat() for i in range(f.days)]})
    return days.merge(df, on="day", how="left").fillna(0).astype({"attempts": int, "booked": int})


def booked_heatmap(store: Store, f: Filters, tz: ZoneInfo) -> pd.DataFrame:
    """Booked start times as weekday × hour in the owner's zone.

    SQL counts per UTC hour; each hour bucket is then placed in the owner's zone, which
    keeps daylight-saving right without loading single bookings.
    """
    cells: dict[tuple[int, int], int] = {}
    for hour, n in queries.booked_hours(store.db, f):
        local = datetime.fromisoformat(f"{hour}:00:00+00:00").astimezone(tz)
        cells[(local.weekday(), local.hour)] = cells.get((local.weekday(), local.hour), 0) + n
    return pd.DataFrame(
        [
            {"weekday": d, "hour": h, "bookings": cells.get((d, h), 0)}
            for d in range(7)
            for h in range(24)
        ]
    )


def time_to_book(store: Store, f: Filters) -> pd.DataFrame:
    """How long booked attempts took from start to booking, in buckets."""
    return pd.DataFrame(
        {
            "time_to_book": [label for label, _ in funnel.TIME_TO_BOOK],
            "attempts": queries.time_to_book(store.db, f),
        }
    )


# One definition for every count on the page, said once in its caption: an attempt started in
# the period counts once for each step it reached (a booking moved twice is one booked and one
# rescheduled attempt; a cancellation that was part of a move is not a cancellation).
DEFINITION = (
    "Counted per booking attempt started in the period, each step once: an attempt booked and "
    "then moved counts once as booked and once as rescheduled; a cancellation that was part "
    "of a move is not counted as cancelled."
)


def booking_rates(counts: dict[str, int]) -> dict[str, float | int]:
    """The outcomes after booking, from the same step counts as the KPIs: bookings, those
    cancelled (not moved), rescheduled and no-show, and the rates of the two."""
    booked = counts["booked"]
    return {
        "bookings": booked,
        "canceled": counts["canceled"],
        "rescheduled": counts["rescheduled"],
        "no_show": counts["no_show"],
        "cancel_rate": counts["canceled"] / booked if booked else 0.0,
        "no_show_rate": counts["no_show"] / booked if booked else 0.0,
    }


def revenue(store: Store, f: Filters) -> dict[str, pd.DataFrame]:
    """Money taken for the period's attempts, in each currency: paid, refunds due and net,
    for this period and the one before, and per analyst and per meeting type."""
    empty = {"paid": Decimal(0), "refunds_due": Decimal(0)}

    def add(into: dict, key: tuple, status: str, amount: Decimal) -> None:
        sums = into.setdefault(key, dict(empty))
        sums["paid"] += amount  # refund-due money was taken too, and is owed back
        if status == "refund_due":
            sums["refunds_due"] += amount

    def frame(sums: dict, names: tuple[str, ...]) -> pd.DataFrame:
        rows = [
            {
                **dict(zip(names, key, strict=True)),
                "paid": float(v["paid"]),
                "refunds_due": float(v["refunds_due"]),
                "net": float(v["paid"] - v["refunds_due"]),
            }
            for key, v in sorted(sums.items(), key=lambda kv: tuple(map(str, kv[0])))
        ]
        return pd.DataFrame(rows, columns=[*names, "paid", "refunds_due", "net"])

    totals: dict = {}
    by_analyst: dict = {}
    by_type: dict = {}
    for label, period in (("This period", f), ("Previous period", f.previous())):
        for analyst, meeting, currency, status, amount, n in queries.payments(store.db, period):
            money_in = Decimal(amount) * n
            add(totals, (label, currency), status, money_in)
            if period is f:
                add(by_analyst, (analyst or "", currency), status, money_in)
                add(by_type, (meeting or "", currency), status, money_in)
    return {
        "totals": frame(totals, ("period", "currency")),
        "by_analyst": frame(by_analyst, ("analyst", "currency")),
        "by_meeting_type": frame(by_type, ("meeting_type", "currency")),
    }


def incomplete(
    store: Store, f: Filters, *, now: datetime, hours: int, limit: int = 200
) -> pd.DataFrame:
    """Attempts that got a Calendly link (or started paying) but no booking after ``hours``."""
    stuck_before = now - timedelta(hours=hours)
    return _frame(queries.incomplete(store.db, f, stuck_before=stuck_before, limit=limit))


def followups(store: Store, f: Filters) -> dict:
    """Attempts of the period that were followed up, and how many of them then booked."""
    return queries.followups(store.db, f)


def webhook_health(store: Store, f: Filters) -> dict:
    """Deliveries received in the period: rejected, repeated, the last one; reconciliation."""
    return queries.webhook_health(store.db, f)


# A cell a spreadsheet would read as a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A CSV cell that no spreadsheet runs: text starting like a formula gets a leading
    single quote, as OWASP advises; everything else is left as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def export_csv(store: Store, f: Filters, what: str) -> str:
    """The period's attempts or bookings (filtered) as CSV, formula-like cells neutralised
    (visitors type names and notes)."""
    result = queries.export(store.db, f, what)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(result.columns)
    writer.writerows([safe_cell(v) for v in row] for row in result.rows)
    return out.getvalue()
