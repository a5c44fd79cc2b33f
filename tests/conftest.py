"""Shared fixtures: a fixed clock, a small catalogue, and a desk over a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from booking.desk import Desk, build_desk
from booking.domain.catalogue import Catalogue
from booking.domain.request import BookingRequest
from booking.settings import Settings
from booking.store import Store
from tests.servers import free_port

# A Monday, 08:00 UTC, well away from any DST change.
T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)

CATALOGUE = {
    "analysts": [
        {
            "slug": "assassin",
            "name": "Assassin",
            "provider": "calendly",
            "timezone": "America/New_York",
        },
        {
            "slug": "maya",
            "name": "Maya Chen",
            "provider": "local",
            "timezone": "Europe/London",
            "buffer_minutes": 15,
            "min_notice_hours": 2,
            "horizon_days": 30,
            "slot_step_minutes": 30,
            "hours": {"mon": ["09:00-12:00", "13:00-17:00"], "tue": ["09:00-17:00"]},
            "meeting_types": [
                {"id": "intro", "name": "Intro call", "duration_minutes": 30, "price": 0},
                {
                    "id": "review",
                    "name": "Portfolio review",
                    "duration_minutes": 60,
                    "price": 120,
                    "currency": "GBP",
                },
            ],
        },
    ]
}


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue.from_dict(CATALOGUE, source="test-catalogue")


ROOT = Path(__file__).parents[1]


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        db_path=str(tmp_path / "booking.db"),
        catalogue_path=str(ROOT / "data/analysts.toml"),
        public_url="http://testserver",
    )


@pytest.fixture
def store(settings) -> Store:
    return Store(settings.db_path)


@pytest.fixture
def desk(settings, catalogue, store, clock) -> Desk:
    return Desk(settings, catalogue, store, clock)


@pytest.fixture
def sandbox_desk(settings, clock) -> Desk:
    """The shipped catalogue with Calendly served by the sandbox, on the fixed clock."""
    return build_desk(settings, clock=clock)


def book_maya_intro(desk, start: datetime, name: str = "Other", email: str = "o@example.com"):
    """Maya Chen's intro call (the shipped catalogue) booked at ``start`` by a visitor in
    London: someone else taking a time first, or a booking to manage."""
    return desk.local.book(
        BookingRequest(
            analyst="maya-chen",
            meeting_type="intro",
            start=start,
            name=name,
            email=email,
            timezone="Europe/London",
        )
    )


def booking_args(**overrides) -> dict:
    """A valid local booking request: Maya's intro call at 10:00 London on Mon 7 Dec."""
    args = dict(
        analyst="maya",
        meeting_type="intro",
        start=datetime(2026, 12, 7, 10, 0, tzinfo=UTC),
        name="Ada Lovelace",
        email="ada@example.com",
        notes="Talk about bonds",
        timezone="Europe/London",
    )
    args.update(overrides)
    return args


class Collector:
    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    """A real SMTP server on loopback that keeps what it receives: (controller, collector)."""
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()
