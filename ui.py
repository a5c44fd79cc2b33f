"""The Streamlit router: page config, brand and navigation."""

import streamlit as st

import ui_kit
from ui_kit import a11y

settings = ui_kit.desk().settings
st.set_page_config(
    page_title=settings.brand_name,
    page_icon="static/logo.svg",
    layout="centered",
    menu_items={"About": f"{settings.brand_name}: book a session with an analyst."},
)
st.logo("static/logo.svg", size="large", link=None)
a11y.style()  # legible captions and 44 px touch targets on every page

pages = [
    st.Page(
        "app_pages/book.py", title="Book a session", icon=":material/event_available:", default=True
    ),
    st.Page(
        "app_pages/success.py",
        title="Booking confirmed",
        icon=":material/check_circle:",
        url_path="success",
        visibility="hidden",
    ),
    st.Page(
        "app_pages/manage.py",
        title="Your booking",
        icon=":material/edit_calendar:",
        url_path="manage",
        visibility="hidden",
    ),
    st.Page(
        "app_pages/paid.py",
        title="Payment",
        icon=":material/payments:",
        url_path="paid",
        visibility="hidden",
    ),
    st.Page(
        "app_pages/schedule.py",
        title="Confirm your time",
        icon=":material/calendar_month:",
        url_path="schedule",
        visibility="hidden",
    ),
    st.Page(
        "app_pages/confirmation.py",
        title="Waiting for Calendly",
        icon=":material/hourglass_top:",
        url_path="confirmation",
        visibility="hidden",
    ),
]
pages.append(
    st.Page(
        "app_pages/owner.py",
        title="Owner sign-in",
        icon=":material/lock:",
        url_path="owner",
        visibility="hidden",
    )
)
if ui_kit.is_owner():  # the analytics page exists only for the owner
    pages.append(
        st.Page(
            "app_pages/analytics.py",
            title="Analytics",
            icon=":material/insights:",
            url_path="analytics",
        )
    )
else:  # a visitor who opens /analytics lands on the book page (no "Page not found" modal)
    pages.append(
        st.Page(
            lambda: st.switch_page("app_pages/book.py"),
            title="Book a session",
            url_path="analytics",
            visibility="hidden",
        )
    )
st.navigation(pages, position="top").run()
