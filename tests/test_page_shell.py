"""The pages' HTML shell, the visitor's zones and clock, and the month calendar's input,
without a browser (the browser suite drives them in Chromium)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import streamlit
from starlette.applications import Starlette
from starlette.testclient import TestClient

from ui_kit import deep_links, zones

STATIC = Path(streamlit.__file__).parent / "static"


def test_each_page_shell_points_streamlit_at_the_root_and_preloads_real_modules():
    """/paid (and the others) load Streamlit's page told the site's root, so it never probes
    /paid/_stcore/…; every preloaded module exists in Streamlit's build."""
    client = TestClient(Starlette(routes=deep_links.routes(("paid", "analytics"))))
    for path in ("/", "/paid", "/analytics"):
        page = client.get(path)
        assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
        assert "BACKEND_BASE_URL: window.location.origin + '/'" in page.text
        assert 'id="root"' in page.text
    hrefs = deep_links.shell("analytics").split('rel="modulepreload" href="./')[1:]
    files = [h.split('"', 1)[0] for h in hrefs]
    assert any(f.startswith("static/js/Metric.") for f in files)
    assert any(f.startswith("static/js/ArrowVegaLiteChart.") for f in files)
    assert all((STATIC / f).is_file() for f in files)
    assert client.get("/nowhere").status_code == 404  # only the pages' own paths


def test_the_zone_picker_offers_places_with_offsets_and_no_legacy_aliases():
    """'New York (America) · UTC−05:00 · EST' in winter; no US/Pacific or Brazil/West."""
    names = zones.canonical_zones()
    assert {"America/New_York", "Europe/London", "Asia/Kolkata", "UTC"} <= set(names)
    assert not {"US/Pacific", "Brazil/West", "Asia/Calcutta", "GB"} & set(names)
    winter = datetime(2026, 12, 1, 12, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 12, tzinfo=UTC)
    assert zones.zone_label("America/New_York", winter) == "New York (America) · UTC−05:00 · EST"
    assert zones.zone_label("Europe/London", summer) == "London (Europe) · UTC+01:00 · BST"
    assert zones.zone_label("Asia/Kolkata", winter) == "Kolkata (Asia) · UTC+05:30 · IST"
    assert zones.zone_label("America/Argentina/Buenos_Aires", winter).startswith(
        "Buenos Aires (America, Argentina) · UTC−03:00"
    )
    assert zones.zone_label("UTC", winter) == "UTC · UTC±00:00"


def test_times_read_in_the_twelve_or_twenty_four_hour_clock():
    """2:05 PM for a 12-hour reader, 14:05 otherwise."""
    when = datetime(2026, 12, 1, 14, 5, tzinfo=UTC)
    assert zones.clock(when, twelve=True) == "2:05 PM"
    assert zones.clock(when, twelve=False) == "14:05"


def test_the_desks_times_are_reread_in_a_12_hour_visitors_clock():
    """The desk words times '14:30 on Tue 8 Dec' (24-hour); a 12-hour reader gets
    '2:30 PM on Tue 8 Dec', midnight as 12:05 AM, and other text is left as it was."""
    from zoneinfo import ZoneInfo

    from booking.desk.offers import slot_taken

    message = str(slot_taken(datetime(2026, 12, 8, 14, 30, tzinfo=UTC), ZoneInfo("UTC")))
    assert message.startswith("14:30 on Tue 8 Dec was just taken")  # the desk's own wording
    assert zones.in_clock(message, twelve=True).startswith("2:30 PM on Tue 8 Dec was just")
    assert zones.in_clock(message, twelve=False) == message
    assert zones.in_clock("00:05 on Mon 7 Dec 2026 has passed", twelve=True) == (
        "12:05 AM on Mon 7 Dec 2026 has passed"
    )
    typed = "Call at 14:30 tomorrow, or 09:00 on Monday"
    assert zones.in_clock(typed, twelve=True) == typed
