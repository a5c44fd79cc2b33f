"""Run every benchmark and print its figures: `python bench/run_all.py`."""

import runpy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # the webhook benches share a helper module

for script in (
    "slots.py",
    "booking_page.py",
    "startup.py",
    "calendly_availability.py",
    "feed_availability.py",
    "webhook_ingest.py",
    "webhook_chaos.py",
    "privacy.py",
):
    runpy.run_path(str(Path(__file__).parent / script), run_name="__main__")
