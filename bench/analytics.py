"""Owner analytics at scale: 1,000,000 attempts and about 5,000,000 funnel events.

Builds the history once (cached in a temp file between runs), then, in a fresh process,
times each dashboard query and the whole page's data load over the default 30-day window
and over the full 90 days, and reports that process's peak RSS.
Goal: every query <= 300 ms, peak RSS <= 400 MB.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from booking import analytics  # noqa: E402
from booking.desk import build_desk  # noqa: E402
from booking.settings import Settings  # noqa: E402

ATTEMPTS = 1_000_000
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
DB = Path(tempfile.gettempdir()) / f"booking-bench-analytics-{ATTEMPTS}.db"


def desk():
    settings = Settings(
        db_path=str(DB), catalogue_path=str(ROOT / "data/analysts.toml"), reconcile_minutes=0
    )
    return build_desk(settings, clock=lambda: NOW)


def build() -> float:
    t0 = time.perf_counter()
    d = desk()
    d.owner.load_demo_data(ATTEMPTS, seed=2026)
    d.store.db.execute("ANALYZE")
    return time.perf_counter() - t0


def measure() -> dict:
    """Run in a fresh process: query timings and this process's peak RSS."""
    d = desk()
    store = d.store
    tz = ZoneInfo("Europe/London")
    out = {}
    for label, days in (("30 days", 30), ("90 days", 90)):
        f = analytics.Filters(NOW.date() - timedelta(days=days - 1), NOW.date())
        queries = {
            "kpis (this and previous period)": lambda f=f: analytics.kpis_with_change(store, f),
            "breakdown by analyst": lambda f=f: analytics.breakdown(store, f, "analyst"),
            "breakdown by meeting type": lambda f=f: analytics.breakdown(store, f, "meeting_type"),
            "breakdown by provider": lambda f=f: analytics.breakdown(store, f, "provider"),
            "daily trend": lambda f=f: analytics.daily(store, f),
            "booked heat map": lambda f=f: analytics.booked_heatmap(store, f, tz),
            "time to booking": lambda f=f: analytics.time_to_book(store, f),
            "booking rates": lambda f=f: analytics.booking_rates(analytics.kpis(store, f)),
            "revenue (this and previous period)": lambda f=f: analytics.revenue(store, f),
            "incomplete attempts": lambda f=f: analytics.incomplete(store, f, now=NOW, hours=24),
            "webhook health": lambda f=f: analytics.webhook_health(store, f),
            "follow-ups": lambda f=f: analytics.followups(store, f),
            "filtered: one analyst, kpis": lambda f=f: analytics.kpis(
                store, analytics.Filters(f.first, f.last, analyst="maya-chen")
            ),
        }
        times = {}
        for name, run in queries.items():
            run()  # warm the page cache
            t0 = time.perf_counter()
            run()
            times[name] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        d.owner.dashboard(f, tz)
        times["whole page data load"] = (time.perf_counter() - t0) * 1000
        out[label] = times
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["counts"] = {
        t: store.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
        for t in ("attempts", "funnel_events", "bookings")
    }
    return out


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        print(json.dumps(measure()))
        sys.exit(0)
    built = None if DB.exists() else build()
    result = json.loads(
        subprocess.run(
            [sys.executable, __file__, "--measure"], check=True, capture_output=True, text=True
        ).stdout
    )
    counts = result.pop("counts")
    rss = result.pop("peak_rss_mb")
    print(
        f"analytics at {counts['attempts']:,} attempts, {counts['funnel_events']:,} funnel "
        f"events, {counts['bookings']:,} bookings"
        + (f" (built in {built:.0f} s)" if built else " (cached database)")
    )
    for window, times in result.items():
        worst = max(times.values())
        print(f"  window {window}: worst {worst:.0f} ms (goal <= 300 ms per query)")
        for name, ms in times.items():
            print(f"    {name:<34} {ms:7.1f} ms")
    print(f"  peak RSS of the measuring process: {rss:.0f} MB (goal <= 400 MB)")
