"""Calendly availability through the sandbox with 200 ms of latency per call.

Prints: one round trip; the first date list for a month, cold (empty availability cache)
and warm, as a ratio to one round trip (goal: cold <= 1.2x, warm <= 30 ms); and how many
availability calls 100 simulated visitors opening the same analyst within one TTL cause
(goal: 1).
"""

from __future__ import annotations

import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from booking.desk import build_desk  # noqa: E402
from booking.settings import Settings  # noqa: E402

LATENCY_MS = 200
TZ = ZoneInfo("Europe/London")


def fresh_desk():
    settings = Settings(
        db_path=str(Path(tempfile.mkdtemp()) / "bench.db"),
        catalogue_path=str(ROOT / "data/analysts.toml"),
        sandbox_latency_ms=LATENCY_MS,
    )
    return build_desk(settings)


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn()
    return (time.perf_counter() - t0) * 1000, result


def main() -> dict:
    desk = fresh_desk()
    assassin = desk.analyst("assassin")
    rtt, _ = timed(desk.calendly.me)
    types_ms, types = timed(
        lambda: desk.offers.meeting_types(assassin)
    )  # the visitor sees types first
    meeting = types[0]
    cold, days = timed(lambda: desk.offers.open_days("assassin", meeting.id, TZ))
    warm = min(
        timed(lambda: desk.offers.open_days("assassin", meeting.id, TZ))[0] for _ in range(20)
    )

    crowd = fresh_desk()
    crowd.offers.meeting_types(crowd.analyst("assassin"))
    before = crowd.sandbox.calls["event_type_available_times"]
    with ThreadPoolExecutor(max_workers=100) as pool:
        list(pool.map(lambda _: crowd.offers.open_days("assassin", meeting.id, TZ), range(100)))
    calls = crowd.sandbox.calls["event_type_available_times"] - before
    return {
        "rtt": rtt,
        "types": types_ms,
        "cold": cold,
        "warm": warm,
        "days": len(days),
        "calls": calls,
    }


if __name__ == "__main__":
    r = main()
    print(f"Calendly sandbox at {LATENCY_MS} ms per call: one round trip {r['rtt']:.0f} ms")
    print(f"  meeting types (users/me + event_types, cached {300} s): {r['types']:.0f} ms")
    print(
        f"  first date list for a month ({r['days']} dates), cold: {r['cold']:.0f} ms = "
        f"{r['cold'] / r['rtt']:.2f}x one round trip (goal <= 1.2x)"
    )
    print(f"  the same, warm: {r['warm']:.2f} ms (goal <= 30 ms)")
    print(
        f"  100 visitors opening the same analyst within one TTL: {r['calls']} Calendly "
        "availability call(s) (goal: 1)"
    )
