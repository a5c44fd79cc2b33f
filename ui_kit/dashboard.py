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

PERCENT = st.column_config.NumberColumn(format="percent")
STEP_COLUMNS = {
    "attempts": st.column_config.NumberColumn("Attempts", format="%d"),
    "slot_chosen": st.column_config.NumberColumn("Slot chosen", format="%d"),
    "details_submitted": st.column_config.NumberColumn("Details submitted", format="%d"),
    "booked": st.column_config.NumberColumn("Booked", format="%d"),
    "canceled": st.column_config.NumberColumn("Canceled", format="%d"),
    "no_show": st.column_config.NumberColumn("No-show", format="%d"),
    "conversion": st.column_config.NumberColumn("Booked of attempts", format="percent"),
}
MONEY = {
    "currency": "Currency",
    "paid": st.column_config.NumberColumn("Paid", format="%.2f"),
    "refunds_due": st.column_config.NumberColumn("Refunds due", format="%.2f"),
    "net": st.column_config.NumberColumn("Net", format="%.2f"),
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
    st.dataframe(
        data["funnel"],
        hide_index=True,
        column_config={
            "step": "Step",
            "count": st.column_config.NumberColumn("Attempts", format="%d"),
            "pct_of_start": st.column_config.NumberColumn("Of all attempts", format="percent"),
            "dropoff": st.column_config.NumberColumn(
                "Lost since the step before", format="percent"
            ),
        },
    )
    rates = data["rates"]
    a, b, c, d = st.columns(4)
    a.metric("Booked", f"{rates['bookings']:,}")
    b.metric("Canceled (of booked)", f"{rates['cancel_rate']:.1%}")
    c.metric("No-show (of booked)", f"{rates['no_show_rate']:.1%}")
    d.metric("Rescheduled", f"{rates['rescheduled']:,}")


def breakdowns(data: dict, analysts: dict, names: dict) -> None:
    st.header("Breakdowns")
    labels = {
        "by_analyst": ("analyst", "Analyst", analysts),
        "by_meeting_type": ("meeting_type", "Meeting type", names),
        "by_provider": ("provider", "Provider", {"calendly": "Calendly", "local": "Local"}),
    }
    tabs = st.tabs(["By analyst", "By meeting type", "By provider"])
    for tab, (key, (column, title, mapping)) in zip(tabs, labels.items(), strict=True):
        table = data[key].assign(
            **{column: data[key][column].map(lambda v, m=mapping: m.get(v, v))}
        )
        tab.altair_chart(charts.bars(table, column, "conversion", percent=True), width="stretch")
        tab.dataframe(
            table[[column, *STEP_COLUMNS]],
            hide_index=True,
            column_config={column: title, **STEP_COLUMNS},
        )


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


def revenue(data: dict, analysts: dict, names: dict) -> None:
    """Paid, refunds due and net, each currency on its own row (never added together)."""
    st.header("Revenue")
    money = {k: data[f"revenue_{k}"] for k in ("totals", "by_analyst", "by_meeting_type")}
    if money["totals"].empty:
        st.caption("No payments for the attempts of this period or the one before.")
        return
    st.dataframe(money["totals"], hide_index=True, column_config={"period": "Period", **MONEY})
    left, right = st.columns(2)
    by_analyst = money["by_analyst"].assign(analyst=lambda d: d["analyst"].map(analysts.get))
    left.dataframe(by_analyst, hide_index=True, column_config={"analyst": "Analyst", **MONEY})
    by_type = money["by_meeting_type"].assign(
        meeting_type=lambda d: d["meeting_type"].map(lambda v: names.get(v, v))
    )
    right.dataframe(
        by_type, hide_index=True, column_config={"meeting_type": "Meeting type", **MONEY}
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
