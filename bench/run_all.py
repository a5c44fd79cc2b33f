"""Run every benchmark and print its figures: `python bench/run_all.py`."""

import runpy
from pathlib import Path

for script in ("slots.py", "booking_page.py", "startup.py", "calendly_availability.py"):
    runpy.run_path(str(Path(__file__).parent / script), run_name="__main__")
