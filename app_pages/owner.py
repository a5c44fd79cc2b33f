"""Owner sign-in: the password form (served by our own route, which sets a signed,
HttpOnly session cookie) or Streamlit's OIDC login."""

import streamlit as st

import ui_kit
from ui_kit import a11y

desk = ui_kit.desk()
a11y.page_title("Owner sign-in", desk.settings.brand_name)

if ui_kit.is_owner():
    st.switch_page("app_pages/analytics.py")

st.title("Owner sign-in")
oidc = ui_kit.oidc_configured()
if not desk.settings.owner_password and not oidc:
    st.info(
        "No owner password is set yet. Set the environment variable `BOOKING_OWNER_PASSWORD` "
        "(or configure an OIDC login and `BOOKING_OWNER_EMAILS`) and restart the app.",
        icon=":material/key:",
    )
    st.stop()

if desk.settings.owner_password:
    st.markdown(
        '<a href="/owner/signin" target="_self">Sign in with the owner password</a>',
        unsafe_allow_html=True,
    )
if oidc:
    st.button("Sign in with your account", on_click=st.login, icon=":material/login:")
    if st.user.get("is_logged_in") and not ui_kit.is_owner():
        st.warning("This account is not one of the owners.")
