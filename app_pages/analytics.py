"""The owner's funnel: where visitors drop off and what converts (owners only)."""

from datetime import timedelta

import streamlit as st

import ui_kit
from booking.analytics import Filters
from ui_kit import a11y
from ui_kit import dashboard as ui_dashboard
from ui_kit import privacy as ui_privacy

desk = ui_kit.desk()
a11y.page_title("Analytics", desk.settings.brand_name)
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
# -- the figures: the headline first (one query), drawn while the rest is counted ----------
data = desk.owner.headline(f)
ui_dashboard.kpis(data)
ui_dashboard.funnel(data)
with st.spinner("Counting…"):
    data |= desk.owner.details(f, tz)
ui_dashboard.breakdowns(data, analysts, names)
ui_dashboard.trends(data, tz, today)
ui_dashboard.revenue(data, analysts, names)
settings = desk.settings
ui_dashboard.incomplete(data, analysts, names, tz, settings.incomplete_after_hours)
ups = data["followups"]
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
ui_dashboard.refunds(desk.owner.refunds_due(), tz)

st.header("Email outbox")
outbox = desk.owner.outbox()
if not outbox:
    st.caption("No emails yet.")
for message in outbox:
    # The address, the subject (names) and a server's error text are the visitors' or
    # others' words: shown as typed, never as formatting or a link.
    title = f"{message['created_at'][:16]} · {message['status']} · {ui_kit.md(message['subject'])}"
    with st.expander(title):
        st.caption(f"To {ui_kit.md(message['to_addr'])} · tries {message['tries']}")
        if message["last_error"]:
            st.caption(f"Last error: {ui_kit.md(message['last_error'])}")
        st.text(message["text"])
if settings.mail_mode == "outbox":
    st.caption("No SMTP server is set (BOOKING_SMTP_HOST), so emails are kept here.")

st.header("Calendly webhooks")
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
st.header("Download")
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
