"""One server for the pages and the HTTP API: `streamlit run app.py` or `uvicorn app:app`."""

import logging
import os
import sys

import streamlit as st
from streamlit import config

from booking.calendly.sandbox.pages import sandbox_routes
from booking.desk import desk_for
from booking.errors import ConfigError
from booking.settings import Settings
from booking.web.api import create_routes
from booking.web.lifecycle import lifespan_for

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

# Links back to us (Calendly's redirect, the sandbox pages) need our address; without a
# setting it is this server's own port. The pages (ui.py) read the same environment.
os.environ.setdefault("BOOKING_PUBLIC_URL", f"http://localhost:{config.get_option('server.port')}")

try:
    desk = desk_for(Settings.from_env())
except ConfigError as exc:
    sys.exit(f"Booking Desk cannot start: {exc}")

routes = create_routes(desk)
if desk.sandbox is not None:
    routes += sandbox_routes(desk.sandbox)
app = st.App("ui.py", routes=routes, lifespan=lifespan_for(desk))
