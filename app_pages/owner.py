"""Owner sign-in: a password (checked in constant time) or Streamlit's OIDC login."""

import streamlit as st

import ui_kit

desk = ui_kit.desk()
S = st.session_state

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
    with st.form("owner", enter_to_submit=True):
        password = st.text_input("Password", type="password", autocomplete="current-password")
        if st.form_submit_button("Sign in", type="primary"):
            if desk.owner.is_owner_password(password):
                S["is_owner"] = True
                st.rerun()
            st.error("That password is not right.", icon=":material/error:")
if oidc:
    st.button("Sign in with your account", on_click=st.login, icon=":material/login:")
    if st.user.get("is_logged_in") and not ui_kit.is_owner():
        st.warning("This account is not one of the owners.")
