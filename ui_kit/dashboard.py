"""The owner's dashboard, drawn from ``desk.owner.dashboard()``: each section a function,
every table with headers a person reads (no snake_case, no raw Calendly URIs, times in the
owner's zone), every count under one stated definition (``booking.analytics.DEFINITION``).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from booking.analytics import DEFINITION
from ui_kit import charts

STEP_LABELS = {
    "attempts": "Attempts",
    "slot_chosen": "Slot chosen",
    "details_submitted": "Details submitted",
    "booked": "Booked",
    "canceled": "Canceled",
    "no_show": "No-show",
    "conversion": "Booked of attempts",
}


def local_time(value: str | None, tz: ZoneInfo) -> str:
    """A stored UTC timestamp as the owner reads it: 'Tue 24 Nov 14:05'."""
    if not value:
        return ""
    when = datetime.fromisoformat(value).astimezone(tz)
    return f"{when:%a} {when.day} {when:%b} {when:%H:%M}"


def kpis(data: dict) -> None:
    st.header("This period against the previous one")
    rows = data["kpis"]
    for chunk in (rows.iloc[:5], rows.iloc[5:]):
        for column, row in zip(st.columns(5), chunk.itertuples(), strict=False):
            delta = None if pd.isna(row.change) else f"{row.change:+.0%}"
            column.metric(
                row.label,
                f"{row.count:,}",
                delta,
                delta_color="off"
                if row.change == 0
                else "inverse"
                if row.step in ("canceled", "no_show")
                else "normal",
            )
    st.caption(DEFINITION)


def funnel(data: dict) -> None:
    st.header("Funnel")
    st.altair_chart(charts.funnel_chart(data["funnel"]), width="stretch")
    rows = data["funnel"]
    st.table(
        pd.DataFrame(
            {
                "Step": rows["step"],
                "Attempts": [f"{n:,}" for n in rows["count"]],
                "Of all attempts": [f"{p:.1%}" for p in rows["pct_of_start"]],
                "Lost since the step before": [f"{d:.1%}" for d in rows["dropoff"]],
            }
        ).set_index("Step")
    )
    rates = data["rates"]
    a, b, c, d = st.columns(4)
    a.metric("Booked", f"{rates['bookings']:,}")
    b.metric("Canceled (of booked)", f"{rates['cancel_rate']:.1%}")
    c.metric("No-show (of booked)", f"{rates['no_show_rate']:.1%}")
    d.metric("Rescheduled", f"{rates['rescheduled']:,}")


def _readable(table: pd.DataFrame, first: str, title: str) -> pd.DataFrame:
    """A breakdown as a static table: named headers, counts with separators, percent."""
    out = pd.DataFrame({title: table[first]})
    for key, label in STEP_LABELS.items():
        values = table[key]
        out[label] = (
            [f"{v:.1%}" for v in values] if key == "conversion" else [f"{int(v):,}" for v in values]
        )
    return out.set_index(title)


@st.fragment  # switching breakdowns redraws this, not every figure of the page
def breakdowns(data: dict, analysts: dict, names: dict) -> None:
    """One breakdown at a time (a chart and its table), chosen by the owner."""
    st.header("Breakdowns")
    labels = {
        "by_analyst": ("analyst", "Analyst", analysts),
        "by_meeting_type": ("meeting_type", "Meeting type", names),
        "by_provider": ("provider", "Provider", {"calendly": "Calendly", "local": "Local"}),
    }
    key = st.segmented_control(
        "Break down by",
        list(labels),
        default="by_analyst",
        format_func=lambda k: labels[k][1],
        key="breakdown",
        required=True,
    )
    column, title, mapping = labels[key or "by_analyst"]
    named = data[key][column].map(lambda v, m=mapping: m.get(v, v))
    table = data[key].assign(**{column: named})
    st.altair_chart(charts.bars(table, column, "conversion", percent=True), width="stretch")
    st.table(_readable(table, column, title))


def trends(data: dict, tz: ZoneInfo, today: date) -> None:
    st.header("Daily trend")
    st.altair_chart(charts.daily_chart(data["daily"], today=today.isoformat()), width="stretch")
    st.caption("Today is still going: its point is drawn hollow, not as a drop.")
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Booked start times** ({tz.key})")
        st.altair_chart(charts.heatmap_chart(data["heatmap"]), width="stretch")
    with right:
        st.markdown("**From first step to booking**")
        st.altair_chart(
            charts.bars(
                data["time_to_book"],
                "time_to_book",
                "attempts",
                sort=list(data["time_to_book"]["time_to_book"]),
            ),
            width="stretch",
        )


def incomplete(data: dict, analysts: dict, names: dict, tz: ZoneInfo, hours: int) -> None:
    st.header(f"Incomplete for over {hours} h")
    rows = data["incomplete"]
    if rows.empty:
        st.caption("None: every hand-off in this period ended in a booking or is still fresh.")
        return
    table = pd.DataFrame(
        {
            "Started": [local_time(v, tz) for v in rows["created_at"]],
            "Analyst": [analysts.get(v, v) for v in rows["analyst"]],
            "Meeting type": [names.get(v, "(no longer offered)") for v in rows["meeting_type"]],
            "Booked via": [str(v or "").capitalize() for v in rows["provider"]],
            "Email": rows["email"],
            "Stuck since": [local_time(v, tz) for v in rows["stuck_since"]],
            "Follow-ups sent": rows["followups_sent"],
            "Attempt": rows["attempt"],
        }
    )
    st.dataframe(table, hide_index=True)
    st.caption(f"Times in {tz.key}.")


def _money_table(frame: pd.DataFrame, first: str, title: str, mapping=None) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            title: [mapping.get(v, v) if mapping else v for v in frame[first]],
            "Currency": frame["currency"],
            "Paid": [f"{v:,.2f}" for v in frame["paid"]],
            "Refunds due": [f"{v:,.2f}" for v in frame["refunds_due"]],
            "Net": [f"{v:,.2f}" for v in frame["net"]],
        }
    )
    return out.set_index(title)


def revenue(data: dict, analysts: dict, names: dict) -> None:
    """Paid, refunds due and net, each currency on its own row (never added together)."""
    st.header("Revenue")
    totals = data["revenue_totals"]
    if totals.empty:
        st.caption("No payments for the attempts of this period or the one before.")
        return
    st.table(_money_table(totals, "period", "Period"))
    left, right = st.columns(2)
    left.table(_money_table(data["revenue_by_analyst"], "analyst", "Analyst", analysts))
    right.table(
        _money_table(data["revenue_by_meeting_type"], "meeting_type", "Meeting type", names)
    )
    st.caption(
        "Money taken for the attempts started in the period; refunds due are still owed back "
        "(cancelled paid bookings, and payments that came after their time was taken)."
    )


def refunds(rows: list[dict], tz: ZoneInfo) -> None:
    st.header("Refunds due")
    if not rows:
        st.caption("None.")
        return
    table = pd.DataFrame(
        {
            "Since": [local_time(r["updated_at"], tz) for r in rows],
            "Name": [r["name"] for r in rows],
            "Email": [r["email"] for r in rows],
            "Amount": [float(r["amount"]) for r in rows],
            "Currency": [r["currency"] for r in rows],
            "Paid through": [str(r["provider"]).capitalize() for r in rows],
            "Payment": [r["id"] for r in rows],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        column_config={"Amount": st.column_config.NumberColumn(format="%.2f")},
    )
    st.caption("Paid bookings that were cancelled, or whose time went before payment arrived.")
