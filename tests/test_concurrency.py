"""Visitors racing for one slot: exactly one wins, over real HTTP and across processes."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime

import requests
from starlette.applications import Starlette

from booking.desk import Desk
from booking.domain.catalogue import Catalogue
from booking.domain.request import BookingRequest
from booking.errors import SlotTaken
from booking.settings import Settings
from booking.store import Store
from booking.web.routes import create_routes
from tests.conftest import CATALOGUE, FakeClock, booking_args
from tests.servers import serve


def test_fifty_threads_over_http_get_one_201_and_forty_nine_409(desk):
    """Fifty simultaneous POSTs for one slot through uvicorn: one booking, 49 conflicts."""
    desk.settings = replace(desk.settings, limit_bookings_per_hour=0)  # the race, not limits
    body = {
        "analyst": "maya",
        "meetingType": "intro",
        "startTime": "2026-12-07T10:00:00Z",
        "name": "Racer",
        "notes": "",
        "timezone": "Europe/London",
    }
    with serve(Starlette(routes=create_routes(desk))) as url:

        def post(i: int) -> int:
            r = requests.post(
                f"{url}/api/bookings", json={**body, "email": f"r{i}@example.com"}, timeout=30
            )
            return r.status_code

        with ThreadPoolExecutor(max_workers=50) as pool:
            statuses = list(pool.map(post, range(50)))
    assert sorted(statuses) == [201] + [409] * 49
    assert desk.store.db["bookings"].count == 1


def _race(db_path: str, index: int, barrier) -> str:
    desk = Desk(
        Settings(db_path=db_path), Catalogue.from_dict(CATALOGUE), Store(db_path), FakeClock()
    )
    barrier.wait()
    try:
        desk.local.book(BookingRequest(**booking_args(email=f"p{index}@example.com")))
        return "booked"
    except SlotTaken:
        return "taken"


def test_separate_processes_cannot_both_take_a_slot(tmp_path):
    """Six processes with their own connections race; the database lets exactly one in."""
    db_path = str(tmp_path / "race.db")
    Store(db_path)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(6)
        with ctx.Pool(6) as pool:
            results = pool.starmap(_race, [(db_path, i, barrier) for i in range(6)])
    assert sorted(results) == ["booked"] + ["taken"] * 5
    rows = list(Store(db_path).db.query("SELECT start_utc FROM bookings"))
    assert rows == [{"start_utc": datetime(2026, 12, 7, 10, tzinfo=UTC).isoformat()}]
