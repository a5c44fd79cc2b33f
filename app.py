"""One server for the pages and the HTTP API: `streamlit run app.py` or `uvicorn app:app`."""

import logging
import sys

import streamlit as st

from booking.api import create_routes
from booking.config import Settings
from booking.errors import ConfigError
from booking.services import build_desk

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

try:
    desk = build_desk(Settings.from_env())
except ConfigError as exc:
    sys.exit(f"Booking Desk cannot start: {exc}")

app = st.App("ui.py", routes=create_routes(desk))
