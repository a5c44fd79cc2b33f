"""Altair chart specs for the analytics page (pure: data frame in, chart out)."""

from __future__ import annotations

import altair as alt
import pandas as pd

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def _change(share: float) -> str:
    """A signed share with a true minus: '−25%', '+10%', and '0%' (no '−0%')."""
    text = f"{share:+.0%}"
    return "0%" if text in ("+0%", "-0%") else text.replace("-", "−")


def funnel_chart(funnel: pd.DataFrame) -> alt.Chart:
    """Ordered horizontal bars: count, % of start and the drop-off from the step before."""
    data = funnel.assign(
        label=[
            f"{c:,} · {p:.0%} of start" + (f" · {_change(-d)}" if i else "")
            for i, (c, p, d) in enumerate(
                zip(funnel["count"], funnel["pct_of_start"], funnel["dropoff"], strict=True)
            )
        ]
    )
    order = list(funnel["step"])
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("step:N", sort=order, title=None),
            x=alt.X("count:Q", title="Attempts"),
            tooltip=[
                "step",
                "count",
                alt.Tooltip("pct_of_start:Q", format=".1%"),
                alt.Tooltip("dropoff:Q", format=".1%", title="drop-off"),
            ],
        )
    )
    text = bars.mark_text(align="left", dx=4).encode(text="label:N")
    return (bars + text).properties(height=40 * len(order))


def daily_chart(daily: pd.DataFrame, *, today: str | None = None) -> alt.Chart:
    """Attempts and bookings per day; today (still going) is a hollow point, not a drop."""
    long = daily.melt("day", ["attempts", "booked"], var_name="series", value_name="count")
    long["series"] = long["series"].map({"attempts": "Attempts", "booked": "Booked"})
    whole = long[long["day"] != today] if today else long
    base = alt.Chart(whole).encode(
        x=alt.X("day:T", title=None),
        y=alt.Y("count:Q", title=None),
        color=alt.Color("series:N", title=None),
        tooltip=[alt.Tooltip("day:T", title="Day"), alt.Tooltip("series", title=""), "count"],
    )
    chart = base.mark_line(point=True)
    if today and (long["day"] == today).any():
        partial = (
            alt.Chart(long[long["day"] == today].assign(note="today so far"))
            .mark_point(filled=False, size=80)
            .encode(
                x="day:T",
                y="count:Q",
                color=alt.Color("series:N", title=None),
                tooltip=[alt.Tooltip("day:T", title="Day"), "series", "count", "note"],
            )
        )
        chart = chart + partial
    return chart


def heatmap_chart(heat: pd.DataFrame) -> alt.Chart:
    data = heat.assign(day=[WEEKDAYS[d] for d in heat["weekday"]])
    return (
        alt.Chart(data)
        .mark_rect()
        .encode(
            x=alt.X("hour:O", title="Hour"),
            y=alt.Y("day:N", sort=WEEKDAYS, title=None),
            color=alt.Color("bookings:Q", title="Bookings"),
            tooltip=["day", "hour", "bookings"],
        )
    )


def bars(
    df: pd.DataFrame,
    category: str,
    value: str,
    *,
    sort: list | None = None,
    percent: bool = False,
) -> alt.Chart:
    """Bars of ``value`` per ``category``; ``percent`` reads a 0–1 share as a percentage."""
    axis = alt.Axis(format="%") if percent else alt.Axis()
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X(f"{category}:N", sort=sort or "-y", title=None),
            y=alt.Y(f"{value}:Q", title=None, axis=axis),
            tooltip=[category, alt.Tooltip(f"{value}:Q", format=".1%" if percent else ",")],
        )
    )
