"""The owner's funnel: where visitors drop off and what converts (owners only)."""

from datetime import timedelta

import pandas as pd
import streamlit as st

import ui_kit
from booking.analytics import Filters
from ui_kit import charts as ui_charts
from ui_kit import privacy as ui_privacy

desk = ui_kit.desk()
S = st.session_state
if not ui_kit.is_owner():  # the page is only registered for owners; belt and braces
    st.error("This page is for the owner. Please sign in first.")
    st.stop()

tz = ui_kit.visitor_zone(desk.settings.default_timezone)
st.title("Bookings funnel")
if alarm := desk.owner.signature_alarm():  # shown first: bookings are being missed
    st.error(alarm, icon=":material/gpp_bad:")

if not desk.owner.has_history():
    st.info(
        "No booking attempts yet. Load a synthetic history to see the dashboard at work.",
        icon=":material/dataset:",
    )
    if st.button("Load demo data (5,000 attempts)", type="primary"):
        with st.spinner("Writing a realistic history…"):
            desk.owner.load_demo_data(5000)
        st.rerun()
    st.stop()

# -- filters -----------------------------------------------------------------------------
today = desk.clock().astimezone(tz).date()
analysts = {a.slug: a.name for a in desk.catalogue.analysts}
names = desk.offers.meeting_type_names()
with st.container(border=True):
    left, right = st.columns(2)
    period = left.date_input(
        "Attempts started between",
        (today - timedelta(days=29), today),
        max_value=today,
        key="period",
    )
    provider = right.segmented_control(
        "Provider", ["calendly", "local"], key="provider", format_func=str.capitalize
    )
    left, right = st.columns(2)
    analyst = left.selectbox(
        "Analyst",
        list(analysts),
        index=None,
        placeholder="All analysts",
        format_func=analysts.get,
        key="analyst_filter",
    )
    meeting = right.selectbox(
        "Meeting type",
        list(names),
        index=None,
        placeholder="All meeting types",
        format_func=names.get,
        key="meeting_filter",
    )
if not isinstance(period, tuple) or len(period) != 2:
    st.info("Choose the last day of the period too.")
    st.stop()
f = Filters(period[0], period[1], analyst=analyst, meeting_type=meeting, provider=provider)
with st.spinner("Counting…"):
    data = desk.owner.dashboard(f, tz)

# -- KPIs ----------------------------------------------------------------------------------
st.subheader("This period against the previous one")
kpis = data["kpis"]
for chunk in (kpis.iloc[:5], kpis.iloc[5:]):
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

st.subheader("Funnel")
st.altair_chart(ui_charts.funnel_chart(data["funnel"]), width="stretch")
st.dataframe(
    data["funnel"],
    hide_index=True,
    column_config={
        "step": "Step",
        "count": st.column_config.NumberColumn("Attempts", format="%d"),
        "pct_of_start": st.column_config.NumberColumn("% of start", format="percent"),
        "dropoff": st.column_config.NumberColumn("Drop-off from previous", format="percent"),
    },
)

rates = data["rates"]
a, b, c, d = st.columns(4)
a.metric("Bookings made", f"{rates['bookings']:,}")
b.metric("Cancellation rate", f"{rates['cancel_rate']:.1%}")
c.metric("No-show rate", f"{rates['no_show_rate']:.1%}")
d.metric("Rescheduled", f"{rates['rescheduled']:,}")

# -- breakdowns and trends -------------------------------------------------------------------
st.subheader("Breakdowns")
labels = {
    "by_analyst": ("analyst", analysts),
    "by_meeting_type": ("meeting_type", names),
    "by_provider": ("provider", {"calendly": "Calendly", "local": "Local"}),
}
for tab, key in zip(st.tabs(["By analyst", "By meeting type", "By provider"]), labels, strict=True):
    column, mapping = labels[key]
    table = data[key].assign(**{column: data[key][column].map(lambda v, m=mapping: m.get(v, v))})
    tab.altair_chart(ui_charts.bars(table, column, "conversion"), width="stretch")
    tab.dataframe(
        table[
            [
                column,
                "attempts",
                "slot_chosen",
                "details_submitted",
                "booked",
                "canceled",
                "no_show",
                "conversion",
            ]
        ],
        hide_index=True,
        column_config={"conversion": st.column_config.NumberColumn(format="percent")},
    )

st.subheader("Daily trend")
st.altair_chart(ui_charts.daily_chart(data["daily"]), width="stretch")
left, right = st.columns(2)
with left:
    st.markdown(f"**Booked start times** ({tz.key})")
    st.altair_chart(ui_charts.heatmap_chart(data["heatmap"]), width="stretch")
with right:
    st.markdown("**From first step to booking**")
    st.altair_chart(
        ui_charts.bars(
            data["time_to_book"],
            "time_to_book",
            "attempts",
            sort=list(data["time_to_book"]["time_to_book"]),
        ),
        width="stretch",
    )

# -- incomplete attempts and webhook health ----------------------------------------------------
st.subheader(f"Incomplete for over {desk.settings.incomplete_after_hours} h")
incomplete = data["incomplete"]
if incomplete.empty:
    st.caption("None: every hand-off in this period ended in a booking or is still fresh.")
else:
    st.dataframe(incomplete, hide_index=True)
ups = data["followups"]
settings = desk.settings
if settings.followup_max:
    st.caption(
        f"Follow-ups: up to {settings.followup_max} per attempt, "
        f"{settings.followup_spacing_hours} h apart. In this period {ups['followed_up']:,} "
        f"attempts were followed up and {ups['recovered']:,} of them then booked."
    )
else:
    st.caption("Automated follow-ups are switched off (BOOKING_FOLLOWUP_MAX = 0).")

# -- analysts' own calendars ------------------------------------------------------------------
feeds = desk.owner.calendar_feeds()
if feeds:
    st.subheader("Analysts' calendars")
    for feed in feeds:
        line = f"**{ui_kit.md(feed['analyst'])}** · `{feed['feed']}`: {ui_kit.md(feed['text'])}"
        if feed["state"] in ("stale", "missing"):
            st.warning(line, icon=":material/event_busy:")
        else:
            st.caption(line)

# -- money and mail ----------------------------------------------------------------------------
st.subheader("Refunds due")
refunds = desk.owner.refunds_due()
if refunds:
    st.dataframe(
        pd.DataFrame(refunds)[
            ["updated_at", "name", "email", "amount", "currency", "provider", "id"]
        ],
        hide_index=True,
    )
    st.caption("Paid bookings that were cancelled, or whose time went before payment arrived.")
else:
    st.caption("None.")

st.subheader("Email outbox")
outbox = desk.owner.outbox()
if not outbox:
    st.caption("No emails yet.")
for message in outbox:
    title = f"{message['created_at'][:16]} · {message['status']} · {message['subject']}"
    with st.expander(title):
        st.caption(f"To {message['to_addr']} · tries {message['tries']}")
        if message["last_error"]:
            st.caption(f"Last error: {message['last_error']}")
        st.text(message["text"])
if settings.mail_mode == "outbox":
    st.caption("No SMTP server is set (BOOKING_SMTP_HOST), so emails are kept here.")

st.subheader("Calendly webhooks")
hooks = data["webhooks"]
a, b, c, d = st.columns(4)
a.metric("Deliveries", f"{hooks['deliveries']:,}")
b.metric("Rejected signatures", f"{hooks['rejected']:,}")
c.metric("Repeats ignored", f"{hooks['duplicates']:,}")
d.metric("Filled in by reconciliation", f"{hooks['reconciliation_fixes']:,}")
st.caption(
    f"Last delivery: {hooks['last_delivery'] or 'none in this period'} · "
    f"last reconciliation: {hooks['last_reconciliation'] or 'none in this period'}"
)

ui_privacy.panel(desk)

# -- export ----------------------------------------------------------------------------------
st.subheader("Download")
left, right = st.columns(2)
for column, what in ((left, "attempts"), (right, "bookings")):
    if column.button(f"Prepare {what} CSV", key=f"prepare_{what}", icon=":material/table:"):
        S[f"csv_{what}"] = (f, desk.owner.export_csv(f, what))
    ready = S.get(f"csv_{what}")
    if ready and ready[0] == f:
        column.download_button(
            f"Download {what}.csv",
            ready[1],
            file_name=f"{what}.csv",
            mime="text/csv",
            icon=":material/download:",
            key=f"dl_{what}",
        )

if st.user.get("is_logged_in"):
    if st.button("Sign out", icon=":material/logout:"):
        S.pop("is_owner", None)
        st.logout()
else:  # the password session lives in an HttpOnly cookie: our own route clears it
    st.markdown('<a href="/owner/signout" target="_self">Sign out</a>', unsafe_allow_html=True)
