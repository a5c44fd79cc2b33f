"""What can be booked: each analyst's meeting types and free times, from our calendar or
from Calendly (shared by every visitor for one TTL)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from booking.calendly.client import WINDOW, CalendlyClient, parse_calendly_time
from booking.calendly.questions import BookingForm
from booking.domain.catalogue import Analyst, MeetingType
from booking.domain.days_off import closed_intervals
from booking.domain.slots import Interval, free_slots, group_by_day
from booking.domain.wording import describe_time
from booking.errors import (
    BookingError,
    InvalidInput,
    NotBookable,
    NotFound,
    SlotTaken,
    SlotUnavailable,
)

if TYPE_CHECKING:
    from booking.desk import Desk

_SECOND = timedelta(seconds=1)


def offered(et: dict, user_uri: str, slugs: tuple[str, ...] = ()) -> bool:
    """Whether a Calendly event type is one to offer: active, not secret, not deleted, the
    analyst's own (``GET /event_types?user=`` also lists team and organization types), and
    among the catalogue's ``event_types`` slugs when it names some."""
    profile = et.get("profile") or {}
    return (
        et.get("active", True) is True
        and not et.get("secret")
        and not et.get("deleted_at")
        and profile.get("type", "User") == "User"
        and profile.get("owner", user_uri) == user_uri
        and (not slugs or et.get("slug") in slugs)
    )


def slot_taken(start: datetime, tz: ZoneInfo) -> SlotTaken:
    """The error for a time someone else took first, worded in the visitor's zone."""
    return SlotTaken(
        f"{describe_time(start, tz)} was just taken by someone else; please pick another time.",
        field="startTime",
    )


def not_offered(
    start: datetime, tz: ZoneInfo, who: Analyst, meeting: MeetingType, now: datetime
) -> SlotUnavailable:
    """The error for a time the analyst does not offer at all (or that has passed)."""
    when = describe_time(start, tz, now=now)
    if start <= now:
        return SlotUnavailable(
            f"{when} has already passed; please pick a time in the future.", field="startTime"
        )
    return SlotUnavailable(
        f"{when} is not a time {who.name} offers for the {meeting.name}. Please pick one of "
        "the times shown.",
        field="startTime",
    )


class Offers:
    """Meeting types and free times, for the pages, the API and the booking journeys."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def calendly(self) -> CalendlyClient:
        if self.desk.calendly is None:
            raise NotBookable("Booking through Calendly is not set up on this desk.")
        return self.desk.calendly

    def local_analyst(self, slug: str) -> Analyst:
        """A local analyst, or NotBookable for one booked through Calendly."""
        analyst = self.desk.analyst(slug)
        if analyst.provider != "local":
            raise NotBookable(
                f"{analyst.name} is booked through Calendly, not here; please use the "
                "Calendly hand-off (POST /api/calendly/create-booking)."
            )
        return analyst

    def calendly_user(self) -> dict:
        """The Calendly account's user (``GET /users/me``), cached."""
        return self.desk.catalogue_cache.get("calendly-user", self.calendly().me)

    def calendly_event_types(self) -> list[dict]:
        """The account's active event types (``GET /event_types``), cached."""
        uri = self.calendly_user()["uri"]
        return self.desk.catalogue_cache.get(
            ("event-types", uri), lambda: self._learn(self.calendly().event_types(uri))
        )

    def _learn(self, event_types: list[dict]) -> list[dict]:
        """Keep what each event type asks, for ``known_form``."""
        for et in event_types:
            self.desk.calendly_forms[str(et.get("uri"))] = BookingForm.of(et)
        return event_types

    def learn_calendly_forms(self) -> None:
        """Read the event types ahead of webhooks (a start-up and hourly job)."""
        self.calendly_event_types()

    def known_form(self, event_type_uri: str) -> BookingForm | None:
        """What the event type asks, as last read from Calendly (None if never read): for
        the webhook writer, which must not wait on Calendly while it holds the write lock."""
        return self.desk.calendly_forms.get(event_type_uri)

    def meeting_types(self, analyst: Analyst) -> tuple[MeetingType, ...]:
        """What the analyst offers: the catalogue's types, or Calendly's active event types."""
        if analyst.provider == "local":
            return analyst.meeting_types
        user = self.calendly_user()
        return tuple(
            MeetingType(
                id=et["uri"],
                name=et["name"],
                duration_minutes=et["duration"],
                price=analyst.prices.get(et.get("slug") or "", 0),
                currency=analyst.currency,
                description=et.get("description_plain") or "",
            )
            for et in self.calendly_event_types()
            if offered(et, user["uri"], analyst.event_types)
        )

    def calendly_event_type(self, event_type_uri: str) -> dict:
        """An event type as Calendly describes it (locations, custom questions): from the
        list already read, else ``GET /event_types/{uuid}`` (both cached)."""
        listed = self.calendly_event_types()
        found = next((et for et in listed if et.get("uri") == event_type_uri), None)
        return found or self.desk.catalogue_cache.get(
            ("event-type", event_type_uri),
            lambda: self._learn([self.calendly().event_type(event_type_uri)])[0],
        )

    def booking_form(self, event_type_uri: str) -> BookingForm:
        """What the event type asks of an invitee booked through the Scheduling API."""
        return BookingForm.of(self.calendly_event_type(event_type_uri))

    def meeting_type(self, analyst: Analyst, meeting_id: str) -> MeetingType:
        if analyst.provider == "local":
            return analyst.meeting_type(meeting_id)
        for meeting in self.meeting_types(analyst):
            if meeting.id == meeting_id:
                return meeting
        raise NotFound(f"{analyst.name} no longer offers that meeting type; please pick another.")

    def meeting_type_names(self) -> dict[str, str]:
        """Meeting type id → name across analysts (Calendly's only when reachable)."""
        return {m.id: m.name for _, types in self.reachable() for m in types}

    def reachable(self) -> list[tuple[Analyst, tuple[MeetingType, ...]]]:
        """Every analyst with the meeting types we can read right now (Calendly may be down)."""
        offers = []
        for analyst in self.desk.catalogue.analysts:
            try:
                offers.append((analyst, self.meeting_types(analyst)))
            except BookingError:  # Calendly unreachable: that analyst is left out for now
                continue
        return offers

    def calendly_analyst_for(self, event_type_uri: str) -> Analyst:
        """The Calendly analyst who offers an event type (seed API: event type URI only)."""
        for analyst in self.desk.catalogue.analysts:
            if analyst.provider == "calendly" and any(
                m.id == event_type_uri for m in self.meeting_types(analyst)
            ):
                return analyst
        raise NotFound(
            "That Calendly event type is not offered here; list them with GET /api/analysts.",
            field="eventTypeUri",
        )

    # -- free times ----------------------------------------------------------------------
    def slots(
        self,
        slug: str,
        meeting_id: str,
        start: datetime,
        end: datetime,
        *,
        client: str | None = None,
    ) -> list[Interval]:
        """Free slots starting in [start, end), from our calendar or from Calendly (a look-up
        that reaches Calendly counts against ``client``'s limit)."""
        analyst = self.desk.analyst(slug)
        meeting = self.meeting_type(analyst, meeting_id)
        if analyst.provider == "calendly":
            return self.calendly_slots(meeting, start, end, client=client)
        return self.local_slots(analyst, meeting, start, end)

    def local_slots(
        self,
        who: Analyst,
        meeting: MeetingType,
        start: datetime,
        end: datetime,
        *,
        besides: Interval | None = None,
    ) -> list[Interval]:
        """A local analyst's free slots starting in [start, end), reading what blocks them
        as far as a slot and its buffer reach; ``besides`` (a booking being moved) neither
        blocks nor is offered."""
        pad = timedelta(minutes=who.buffer_minutes + meeting.duration_minutes)
        busy = self.local_busy(who, start - pad, end + pad)
        if besides in busy:
            busy.remove(besides)
        slots = free_slots(who, meeting, busy, now=self.desk.clock(), start=start, end=end)
        return [s for s in slots if s != besides]

    def local_busy(self, who: Analyst, start: datetime, end: datetime) -> list[Interval]:
        """What blocks a local analyst in [start, end): bookings and live holds, days off
        (public holidays, time off) and the events in their own calendar feeds.
        CalendarUnavailable when a feed was never read."""
        busy = self.desk.store.busy(who.slug, start, end, now=self.desk.clock())
        busy += closed_intervals(who, start, end)
        if who.busy_feeds:
            busy += self.desk.feeds.busy(who, start, end)
        return busy

    def calendly_slots(
        self,
        meeting: MeetingType,
        start: datetime,
        end: datetime | None,
        *,
        days: int = WINDOW.days,
        client: str | None = None,
    ) -> list[Interval]:
        """Calendly's free times in [start, end), shared by all visitors for one TTL; only a
        load that reaches Calendly counts against ``client``'s limit.

        The next ``days`` days come from one shared load (one call per 31 days) and serve
        every request that ends inside them (``end=None``: as far as they reach); other
        ranges are cached by their bounds.
        """
        calendly, visitor = self.calendly(), client
        length = timedelta(minutes=meeting.duration_minutes)

        def load(first: datetime, last: datetime) -> tuple[datetime, list[Interval]]:
            self.desk.limits.calendly_call(visitor)
            times = calendly.available_times(meeting.id, first, last)
            starts = (parse_calendly_time(x["start_time"]) for x in times)
            return last, [Interval(t, t + length) for t in starts]

        now = self.desk.clock()
        cache = self.desk.availability_cache
        reach, slots = cache.get(
            ("ahead", meeting.id, days), lambda: load(now, now + timedelta(days=days))
        )
        end = reach if end is None else end
        if end > reach:
            _, slots = cache.get(("range", meeting.id, start, end), lambda: load(start, end))
        return [s for s in slots if start <= s.start < end and s.start > now]

    def forget_availability(self, meeting_id: str) -> None:
        """Drop cached Calendly times of an event type (after a booking took one)."""
        self.desk.availability_cache.invalidate(lambda key: key[1] == meeting_id)

    def slots_between_dates(
        self,
        slug: str,
        meeting_id: str,
        first: date,
        last: date,
        tz: ZoneInfo,
        *,
        client: str | None = None,
    ) -> list[Interval]:
        """Free slots on the visitor's calendar dates first..last (inclusive)."""
        today = self.desk.clock().date()
        for name, day in (("start", first), ("end", last)):
            if not today - timedelta(days=366) <= day <= today + timedelta(days=3 * 366):
                raise InvalidInput(
                    f"{day.isoformat()} is too far from today; ask for dates within the "
                    "coming year.",
                    field=name,
                )
        if last < first:
            raise InvalidInput("The end date is before the start date.", field="end")
        if (last - first).days > 366:
            raise InvalidInput("Ask for at most a year of availability at once.", field="end")
        start = datetime.combine(first, time(0), tzinfo=tz)
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
        return self.slots(slug, meeting_id, start, end, client=client)

    def open_days(
        self,
        slug: str,
        meeting_id: str,
        tz: ZoneInfo,
        *,
        later: bool = False,
        client: str | None = None,
    ) -> dict[date, list[Interval]]:
        """Every visitor-local date ahead with a free slot, with its slots.

        Local analysts: up to their horizon. Calendly analysts: the month ahead (one call),
        or with ``later`` up to their horizon (one call per further 31 days).
        """
        analyst = self.desk.analyst(slug)
        now = self.desk.clock()
        if analyst.provider == "calendly":
            meeting = self.meeting_type(analyst, meeting_id)
            days = max(analyst.horizon_days, WINDOW.days) if later else WINDOW.days
            slots = self.calendly_slots(meeting, now, None, days=days, client=client)
            return group_by_day(slots, tz)
        return group_by_day(
            self.slots(slug, meeting_id, now, now + timedelta(days=analyst.horizon_days)), tz
        )

    # -- is this exact time bookable now? -------------------------------------------------
    def check_local_time(
        self, who: Analyst, meeting: MeetingType, start: datetime, tz: ZoneInfo
    ) -> None:
        """Raise unless ``start`` is one of the analyst's working-hours slots on a day they
        work, and their own calendar (asked again now) is still free then; the store then
        checks our bookings, inside the booking transaction."""
        end = start + timedelta(minutes=meeting.duration_minutes)
        now = self.desk.clock()
        slot = Interval(start, end)
        closed = closed_intervals(who, start - timedelta(days=1), end + timedelta(days=1))

        def offered(busy: list[Interval]) -> bool:
            return slot in free_slots(who, meeting, busy, now=now, start=start, end=start + _SECOND)

        if not offered(closed):
            raise not_offered(start, tz, who, meeting, now)
        if who.busy_feeds:
            pad = timedelta(minutes=who.buffer_minutes)
            if not offered(self.desk.feeds.busy(who, start - pad, end + pad, fresh=True)):
                raise SlotTaken(
                    f"{describe_time(start, tz)} is no longer free in {who.name}'s calendar; "
                    "please pick another time.",
                    field="startTime",
                )

    def check_calendly_time(
        self, who: Analyst, meeting: MeetingType, start: datetime, tz: ZoneInfo
    ) -> None:
        """Raise unless Calendly offers ``start`` right now (asked, not cached)."""
        now = self.desk.clock()
        if start <= now or all(
            s.start != start for s in self.calendly_slots(meeting, start, start + _SECOND)
        ):
            raise not_offered(start, tz, who, meeting, now)
        offered = {
            parse_calendly_time(t["start_time"])
            for t in self.calendly().available_times(
                meeting.id, start - timedelta(minutes=1), start + timedelta(minutes=1)
            )
        }
        if start not in offered:
            self.forget_availability(meeting.id)
            raise slot_taken(start, tz)
