"""Streamlit-side helpers shared by the pages: THE desk, the visitor's zone, where an
outcome leads (``follow``), and who the owner is.

This is the edge: caching decorators and session state live here, never in booking/.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Mapping
from zoneinfo import ZoneInfo

import streamlit as st
from streamlit import config

from booking.desk import Desk, Outcome
from booking.desk.signin import COOKIE
from booking.desk.wiring import desk_for, installed
from booking.domain import funnel
from booking.errors import BookingError
from booking.settings import Settings
from booking.web import clients
from ui_kit import zones

TZ_KEY = zones.TZ_KEY
log = logging.getLogger(__name__)


def desk() -> Desk:
    """The desk the server built (app.py), shared with the HTTP routes; without the server
    (Streamlit's AppTest), the process's desk for the same settings."""
    return installed() or desk_for(
        Settings.load(secret_files=tuple(config.get_option("secrets.files")))
    )


def visitor_zone(default: str) -> ZoneInfo:
    """The visitor's zone: their choice, else what the browser reports, else the default."""
    return zones.visitor_zone(default)


def timezone_picker() -> None:
    """The zone picker (finds "New York", "EST", "London"; shows UTC offsets)."""
    zones.timezone_picker(desk().clock())


def zone_and_clock() -> None:
    """The zone picker and, beside it, the 24-hour clock toggle."""
    picker, toggle = st.columns([3, 1], vertical_alignment="bottom")
    with picker:
        timezone_picker()
    with toggle:
        zones.clock_toggle()


# Markdown's own characters, plus ':' and '@' so no URL or address the visitor typed is
# ever turned into a live link (GFM links "https://…", "www.…" and "a@b.c" by itself).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:@])")


_WWW = re.compile(r"(?i)(www)(?=\\\.)")
JOINER = "\u2060"  # an invisible word joiner: GFM no longer sees "www." or "x@y" to link


def md(text: str) -> str:
    """Visitor-typed text made safe to place inside st.markdown: shown as typed, never
    formatted and never a link (escaping alone does not stop GFM linking www. and emails)."""
    escaped = _MD_SPECIAL.sub(r"\\\1", text)
    return _WWW.sub(rf"\1{JOINER}", escaped).replace("\\@", f"{JOINER}\\@")


def answer_text(value) -> str:
    """A question widget's value as the text the desk checks (several choices: one a line)."""
    if isinstance(value, list | tuple):
        return "\n".join(str(v) for v in value)
    return "" if value is None else str(value)


def redirect(url: str, attempt_id: str | None, *, label: str, step: str | None = None) -> None:
    """Send the visitor to ``url`` in this tab, with a visible fallback link.

    Only targets the desk allows (Calendly, Stripe Checkout or its sandboxes) are ever
    written into the page, and the URL goes into the script as a JSON string, never as raw
    text. ``step`` is recorded on the attempt first.
    """
    the_desk = desk()
    if not the_desk.modes.may_redirect_to(url):
        st.error("That link is not one we can send you to. Please try again.")
        return
    if step and attempt_id:
        the_desk.record(attempt_id, step)
    st.info(f"Taking you to {label}…", icon=":material/open_in_new:")
    target = json.dumps(url).replace("<", "\\u003c")  # a JS string that cannot end the tag
    st.html(f"<script>window.location.assign({target});</script>", unsafe_allow_javascript=True)
    st.markdown(
        f'If nothing happens, <a href="{html.escape(url, quote=True)}" target="_self">'
        f"continue to {html.escape(label)}</a>.",
        unsafe_allow_html=True,
    )


def follow(outcome: Outcome) -> None:
    """The one place an Outcome becomes a page move: the success page when booked, the
    embed page, the checkout, or Calendly's link."""
    modes = desk().modes
    if outcome.kind == "booked":
        show_booking(outcome.reference, outcome.manage_token)
    if outcome.kind == "embed":
        st.switch_page("app_pages/schedule.py", query_params={"attempt": outcome.attempt_id})
    if outcome.kind == "checkout":
        redirect(outcome.url, outcome.attempt_id, label=modes.checkout_label)
    else:
        redirect(
            outcome.url, outcome.attempt_id, label=modes.calendly_label, step=funnel.REDIRECTED
        )


def on_script_error(exc: Exception) -> bool:
    """No traceback ever reaches a page: a BookingError that escaped a page shows its own
    message (e.g. the database could not save, nothing was done); anything else a plain
    apology, its details going to the log."""
    if isinstance(exc, BookingError):
        st.error(str(exc), icon=":material/error:")
    else:
        log.error("page failed", exc_info=exc)
        st.error(
            "Something went wrong on our side and nothing was changed. Please reload the "
            "page; if it keeps happening, try again in a few minutes.",
            icon=":material/error:",
        )
    return True


def client_address() -> str:
    """The visitor's address by the same rule as the HTTP API (X-Forwarded-For believed only
    from BOOKING_TRUSTED_PROXIES); Streamlit reports none for a local connection."""
    peer = st.context.ip_address
    peer = peer if isinstance(peer, str) and peer else "127.0.0.1"
    headers = st.context.headers
    headers = dict(headers) if isinstance(headers, Mapping) else {}
    return clients.client_address(peer, headers, desk().settings.proxy_networks)


def show_booking(reference: str, token: str | None = None) -> None:
    """The success page of a booking this visitor just made (in this session): the link
    carries a manage token (a new one when the journey had none), never the reference
    alone, so the page survives a reload without letting the reference show anything."""
    token = token or desk().manage.issue(reference)
    st.session_state["focus"] = "booking-head"  # the success page starts the reading there
    st.switch_page("app_pages/success.py", query_params={"ref": reference, "token": token})


def is_owner() -> bool:
    """Signed in: the owner's session cookie (set by /owner/signin), or an allowed OIDC
    account. (Tests may set ``is_owner`` in session state directly.)"""
    if st.session_state.get("is_owner"):
        return True
    cookies = st.context.cookies
    token = cookies.get(COOKIE) if isinstance(cookies, Mapping) else None
    if isinstance(token, str) and desk().signin.valid(token):
        return True
    user = st.user
    return bool(user.get("is_logged_in")) and desk().owner.is_owner_email(user.get("email"))


def oidc_configured() -> bool:
    """Whether Streamlit's OIDC login is set up (`[auth]` in secrets.toml)."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # StreamlitSecretNotFoundError: no secrets file at all
        return False
