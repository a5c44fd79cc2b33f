"""Altair chart specs for the analytics page (pure: data frame in, chart out)."""

from __future__ import annotations

import altair as alt
import pandas as pd

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def funnel_chart(funnel: pd.DataFrame) -> alt.Chart:
    """Ordered horizontal bars: count, % of start and the drop-off from the step before."""
    data = funnel.assign(
        label=[
            f"{c:,} · {p:.0%} of start" + (f" · −{d:.0%}" if i else "")
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


def daily_chart(daily: pd.DataFrame) -> alt.Chart:
    long = daily.melt("day", ["attempts", "booked"], var_name="series", value_name="count")
    return (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("day:T", title=None),
            y=alt.Y("count:Q", title=None),
            color="series:N",
            tooltip=["day:T", "series", "count"],
        )
    )


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


def bars(df: pd.DataFrame, category: str, value: str, *, sort: list | None = None) -> alt.Chart:
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X(f"{category}:N", sort=sort or "-y", title=None),
            y=alt.Y(f"{value}:Q", title=None),
            tooltip=[category, value],
        )
    )
