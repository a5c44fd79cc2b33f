"""Slot computation: properties over random calendars, and the DST days by example."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.domain.catalogue import Analyst, MeetingType
from booking.domain.slots import Interval, free_slots, group_by_day

NOW = datetime(2026, 3, 2, 6, 17, tzinfo=UTC)


def make_analyst(tz="Europe/London", hours=None, **kw) -> Analyst:
    week = {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    return Analyst(
        slug="a",
        name="A",
        provider="local",
        timezone=tz,
        hours=week if hours is None else hours,
        **kw,
    )


def meeting(minutes=30) -> MeetingType:
    return MeetingType(id="m", name="M", duration_minutes=minutes)


busy_st = st.lists(
    st.builds(
        lambda offset, length: Interval(
            NOW + timedelta(minutes=offset), NOW + timedelta(minutes=offset + length)
        ),
        st.integers(0, 14 * 24 * 60),
        st.integers(5, 300),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(
    busy=busy_st,
    tz=st.sampled_from(["Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]),
    duration=st.sampled_from([15, 20, 30, 45, 60, 90]),
    step=st.sampled_from([10, 15, 30, 60]),
    buffer=st.integers(0, 45),
    notice=st.sampled_from([0, 1, 4, 12, 30]),
    horizon=st.integers(1, 14),
)
def test_slots_respect_hours_busy_time_notice_and_horizon(
    busy, tz, duration, step, buffer, notice, horizon
):
    """Every offered slot is inside working hours, clear of busy time plus buffer, after the
    notice and before the horizon; the list is sorted and unique; and no free start is missed."""
    analyst = make_analyst(
        tz,
        hours={
            "mon": ["08:00-12:00", "13:00-18:30"],
            "wed": ["10:00-16:00"],
            "sat": ["00:00-03:00"],
            "sun": ["21:00-24:00"],
        },
        buffer_minutes=buffer,
        min_notice_hours=notice,
        horizon_days=horizon,
        slot_step_minutes=step,
    )
    start, end = NOW - timedelta(days=1), NOW + timedelta(days=20)
    slots = free_slots(analyst, meeting(duration), busy, now=NOW, start=start, end=end)

    assert slots == sorted(set(slots))
    zone = ZoneInfo(tz)
    pad = timedelta(minutes=buffer)
    for s in slots:
        assert s.end - s.start == timedelta(minutes=duration)
        assert s.start >= NOW + timedelta(hours=notice)
        assert s.start < NOW + timedelta(days=horizon)
        assert not any(s.overlaps(Interval(b.start - pad, b.end + pad)) for b in busy)
        local_day = s.start.astimezone(zone).date()
        inside = False
        for d in (local_day - timedelta(days=1), local_day):
            for open_, close in analyst.working_ranges(d.weekday()):
                w_start = datetime.combine(d, open_, tzinfo=zone)
                w_end = (
                    datetime.combine(d + timedelta(days=1), time(0), tzinfo=zone)
                    if close == time.max
                    else datetime.combine(d, close, tzinfo=zone)
                )
                inside |= w_start <= s.start and s.end <= w_end
        assert inside, f"{s} is outside working hours"

    # Completeness, by brute force over the step grid of each working range.
    offered = set(slots)
    day = (NOW - timedelta(days=2)).date()
    while day <= (NOW + timedelta(days=horizon + 1)).date():
        for open_, close in analyst.working_ranges(day.weekday()):
            w_start = datetime.combine(day, open_, tzinfo=zone).astimezone(UTC)
            w_end = (
                datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
                if close == time.max
                else datetime.combine(day, close, tzinfo=zone)
            )
            cand = w_start
            while cand + timedelta(minutes=duration) <= w_end:
                slot = Interval(cand, cand + timedelta(minutes=duration))
                free = not any(slot.overlaps(Interval(b.start - pad, b.end + pad)) for b in busy)
                in_window = (
                    NOW + timedelta(hours=notice) <= cand < NOW + timedelta(days=horizon)
                    and start <= cand < end
                )
                if free and in_window:
                    assert slot in offered, f"free slot {slot} was not offered"
                cand += timedelta(minutes=step)
        day += timedelta(days=1)


def _day_slots(tz: str, day: date, hours: str, duration=30) -> list[Interval]:
    analyst = make_analyst(
        tz,
        hours={k: [hours] for k in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        min_notice_hours=0,
        horizon_days=365,
    )
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), tzinfo=zone)
    return free_slots(
        analyst,
        meeting(duration),
        [],
        now=datetime(2026, 1, 1, tzinfo=UTC),
        start=start,
        end=start + timedelta(days=1),
    )


@pytest.mark.parametrize(
    ("tz", "day", "first_utc"),
    [
        ("Europe/London", date(2026, 3, 28), "09:00"),  # last GMT day
        ("Europe/London", date(2026, 3, 29), "08:00"),  # spring forward: 09:00 BST
        ("Europe/London", date(2026, 10, 25), "09:00"),  # autumn back: 09:00 GMT
        ("America/New_York", date(2026, 3, 8), "13:00"),  # spring forward: 09:00 EDT
        ("America/New_York", date(2026, 11, 1), "14:00"),  # autumn back: 09:00 EST
    ],
)
def test_working_day_keeps_its_wall_clock_hours_on_dst_days(tz, day, first_utc):
    """09:00-17:00 stays 09:00-17:00 local on the DST days, so the UTC times shift."""
    slots = _day_slots(tz, day, "09:00-17:00")
    zone = ZoneInfo(tz)
    assert len(slots) == 16
    assert f"{slots[0].start:%H:%M}" == first_utc
    assert [f"{s.start.astimezone(zone):%H:%M}" for s in slots][:3] == ["09:00", "09:30", "10:00"]
    assert f"{slots[-1].end.astimezone(zone):%H:%M}" == "17:00"


@pytest.mark.parametrize(
    ("tz", "day", "real_hours"),
    [
        ("Europe/London", date(2026, 3, 29), 3),  # 00:00-04:00 loses an hour
        ("Europe/London", date(2026, 10, 25), 5),  # and gains one in autumn
        ("America/New_York", date(2026, 3, 8), 3),
        ("America/New_York", date(2026, 11, 1), 5),
    ],
)
def test_hours_spanning_the_clock_change_offer_only_real_time(tz, day, real_hours):
    """A range across the change offers exactly the instants that exist, none twice."""
    slots = _day_slots(tz, day, "00:00-04:00")
    assert len(slots) == real_hours * 2
    assert len({s.start for s in slots}) == len(slots)
    assert all(a.end <= b.start for a, b in itertools.pairwise(slots))


def test_slots_group_by_the_visitors_calendar_date():
    """A 23:30 London slot is already the next day in Tokyo."""
    slot = Interval(
        datetime(2026, 12, 7, 23, 30, tzinfo=UTC), datetime(2026, 12, 8, 0, 0, tzinfo=UTC)
    )
    assert list(group_by_day([slot], ZoneInfo("Europe/London"))) == [date(2026, 12, 7)]
    assert list(group_by_day([slot], ZoneInfo("Asia/Tokyo"))) == [date(2026, 12, 8)]


def test_a_booking_blocks_its_buffer_on_both_sides():
    """With a 15-minute buffer, a 10:00-11:00 booking also rules out 09:30 and 11:00 starts."""
    analyst = make_analyst("UTC", buffer_minutes=15, min_notice_hours=0)
    busy = [Interval(datetime(2026, 3, 3, 10, tzinfo=UTC), datetime(2026, 3, 3, 11, tzinfo=UTC))]
    day = datetime(2026, 3, 3, tzinfo=UTC)
    starts = [
        f"{s.start:%H:%M}"
        for s in free_slots(
            analyst, meeting(30), busy, now=NOW, start=day, end=day + timedelta(days=1)
        )
    ]
    assert starts[:3] == ["09:00", "11:30", "12:00"]
