"""One server for the pages and the HTTP API: `streamlit run app.py` or `uvicorn app:app`.

Settings are read once, here (environment and Streamlit's secrets files), THE desk is built
from them and installed, and the pages (ui.py) and the HTTP routes both use that desk.
"""

import os
import sys

import streamlit as st
from streamlit import config

import ui_kit
from booking.desk.wiring import desk_for, install
from booking.errors import ConfigError
from booking.settings import Settings
from booking.web import logs
from booking.web.lifecycle import lifespan_for
from booking.web.routes import create_middleware, create_routes
from ui_kit import deep_links

# Links back to us (Calendly's redirect, the sandbox pages) need our address; without a
# setting it is this server's own port.
os.environ.setdefault("BOOKING_PUBLIC_URL", f"http://localhost:{config.get_option('server.port')}")

try:
    settings = Settings.load(secret_files=tuple(config.get_option("secrets.files")))
    logs.configure(settings)
    desk = install(desk_for(settings))
except ConfigError as exc:
    sys.exit(f"Booking Desk cannot start: {exc}")

# The pages' own addresses load Streamlit's page pointed at the site's root (no 404s).
app = st.App(
    "ui.py",
    routes=[*create_routes(desk), *deep_links.routes()],
    middleware=create_middleware(),
    lifespan=lifespan_for(desk),
    on_script_error=ui_kit.on_script_error,
)
