"""Analysts' own calendars, shared by every visitor: each feed is read at most once per
``BOOKING_FEED_TTL_SECONDS`` (a 304 when unchanged), parsed once per change and expanded
once a day over the analyst's booking horizon; a visitor's question is then a slice of a
sorted list.

A feed that fails keeps serving its last good copy (kept in SQLite, so it outlives a
restart) while the owner's page says so. A feed with no good copy ever raises
``CalendarUnavailable``: that analyst's times are not offered, because time we cannot
check is never offered.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import requests

from booking.domain.catalogue import Analyst, feed_label
from booking.domain.slots import Interval, merge
from booking.errors import CalendarUnavailable
from booking.feeds.fetch import FeedError, Fetched, fetch
from booking.feeds.parse import FeedUnreadable, busy_intervals
from booking.store import Store, parse_iso
from booking.store import feeds as copies

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class FeedStatus:
    """How one analyst's feed stands, for the owner's page."""

    analyst: str
    feed: str  # a label: host and file name, never the secret address
    state: str  # 'ok' | 'stale' (failing: the last good copy is used) | 'missing' | 'unread'
    fetched_at: datetime | None = None
    checked_at: datetime | None = None
    failed_at: datetime | None = None
    error: str | None = None


@dataclass
class _Window:
    key: tuple  # (zone, first, last): the body it came from is the feed's current one
    starts: list[datetime]
    ends: list[datetime]
    blocks: list[Interval]


@dataclass
class _Feed:
    lock: threading.Lock = field(default_factory=threading.Lock)
    loaded: bool = False
    body: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: datetime | None = None
    checked_at: datetime | None = None
    failed_at: datetime | None = None
    error: str | None = None
    window: _Window | None = None


def _when(text: str | None) -> datetime | None:
    return parse_iso(text) if text else None


class BusyFeeds:
    """The busy time in local analysts' calendar feeds (``busy_feeds`` in the catalogue)."""

    def __init__(
        self,
        store: Store,
        *,
        ttl_seconds: float,
        clock: Clock,
        session: requests.Session | None = None,
        reader: Callable[..., Fetched] = fetch,
    ) -> None:
        self.store = store
        self.ttl = timedelta(seconds=ttl_seconds)
        self.clock = clock
        self.session = session or requests.Session()
        self.reader = reader
        self._feeds: dict[str, _Feed] = {}
        self._guard = threading.Lock()

    def _feed(self, feed: str) -> _Feed:
        with self._guard:
            return self._feeds.setdefault(feed, _Feed())

    # -- what visitors ask ---------------------------------------------------------------
    def busy(
        self, analyst: Analyst, start: datetime, end: datetime, *, fresh: bool = False
    ) -> list[Interval]:
        """Busy time from all of the analyst's feeds touching [start, end). ``fresh`` asks
        each feed again first (a booking's re-check); otherwise a copy younger than the
        TTL is used. Raises CalendarUnavailable when a feed was never read."""
        out: list[Interval] = []
        for feed in analyst.busy_feeds:
            state = self._feed(feed)
            with state.lock:
                self._revalidate(feed, state, analyst, fresh=fresh)
                try:
                    if state.body is None:
                        raise FeedUnreadable("never read")
                    out += self._slice(state, analyst, start, end)
                except FeedUnreadable as exc:
                    raise CalendarUnavailable(
                        f"{analyst.name}'s calendar could not be read just now, so we cannot "
                        "tell which times are free. Please try again in a few minutes."
                    ) from exc
        return out

    def refresh(self, analysts: Iterable[Analyst]) -> Counter:
        """Read every feed that is due and expand it ahead of visitors (a background job)."""
        done: Counter = Counter()
        for analyst in analysts:
            if not analyst.busy_feeds:
                continue
            now = self.clock()
            try:
                self.busy(analyst, now, now + timedelta(days=analyst.horizon_days))
            except CalendarUnavailable:
                done["missing"] += 1
            else:
                done["read"] += 1
        return done

    def status(self, analysts: Iterable[Analyst]) -> list[FeedStatus]:
        """Every local analyst's feeds: fine, failing on a last good copy, or never read."""
        out = []
        for analyst in analysts:
            for feed in analyst.busy_feeds:
                state = self._feed(feed)
                with state.lock:
                    self._load(feed, state)
                    if state.body is not None:
                        kind = "stale" if state.error else "ok"
                    else:
                        kind = "missing" if state.error else "unread"
                    out.append(
                        FeedStatus(
                            analyst.name,
                            feed_label(feed),
                            kind,
                            state.fetched_at,
                            state.checked_at,
                            state.failed_at,
                            state.error,
                        )
                    )
        return out

    # -- reading -------------------------------------------------------------------------
    def _load(self, feed: str, state: _Feed) -> None:
        """Take the copy this database already has (another process, or before a restart)."""
        if state.loaded:
            return
        row = copies.copy(self.store.db, feed)
        state.loaded = True
        if row is None:
            return
        if row["body"] is not None:
            state.body = bytes(row["body"])
            state.etag, state.last_modified = row["etag"], row["last_modified"]
            state.fetched_at = _when(row["fetched_at"])
        state.checked_at = _when(row["checked_at"])
        state.failed_at, state.error = _when(row["failed_at"]), row["error"]

    def _revalidate(self, feed: str, state: _Feed, analyst: Analyst, *, fresh: bool) -> None:
        self._load(feed, state)
        now = self.clock()
        if not fresh and state.checked_at is not None and now - state.checked_at < self.ttl:
            return
        try:
            got = self.reader(
                feed,
                session=self.session,
                etag=state.etag if state.body is not None else None,
                last_modified=state.last_modified if state.body is not None else None,
            )
            if got.body is not None:
                window = self._expand(got.body, analyst, now)  # refuse what cannot be read
        except (FeedError, FeedUnreadable) as exc:
            self._failed(feed, state, str(exc), now)
            return
        state.checked_at, state.failed_at, state.error = now, None, None
        with self.store.write() as db:
            if got.body is None:
                copies.unchanged(db, feed, now=now)
                return
            copies.save(
                db, feed, body=got.body, etag=got.etag, last_modified=got.last_modified, now=now
            )
        state.body = got.body
        state.etag, state.last_modified, state.fetched_at = got.etag, got.last_modified, now
        state.window = window

    def _failed(self, feed: str, state: _Feed, error: str, now: datetime) -> None:
        log.warning("calendar feed %s failed: %s", feed_label(feed), error)
        state.checked_at, state.error = now, error
        state.failed_at = state.failed_at or now
        with self.store.write() as db:
            copies.failed(db, feed, error=error, now=now)

    # -- expanding -----------------------------------------------------------------------
    def _bounds(self, analyst: Analyst, now: datetime) -> tuple[datetime, datetime]:
        """The span kept expanded: from yesterday (UTC) to a few days past the horizon."""
        first = datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)
        first -= timedelta(days=1)
        return first, first + timedelta(days=analyst.horizon_days + 4)

    def _expand(self, body: bytes, analyst: Analyst, now: datetime) -> _Window:
        start, end = self._bounds(analyst, now)
        blocks = merge(busy_intervals(body, ZoneInfo(analyst.timezone), start, end))
        return _Window(
            (analyst.timezone, start, end),
            [b.start for b in blocks],
            [b.end for b in blocks],
            blocks,
        )

    def _slice(
        self, state: _Feed, analyst: Analyst, start: datetime, end: datetime
    ) -> list[Interval]:
        first, last = self._bounds(analyst, self.clock())
        if not (first <= start and end <= last):  # far from today: expand just that range
            return busy_intervals(state.body or b"", ZoneInfo(analyst.timezone), start, end)
        key = (analyst.timezone, first, last)
        if state.window is None or state.window.key != key:
            state.window = self._expand(state.body or b"", analyst, self.clock())
        w = state.window
        return w.blocks[bisect.bisect_right(w.ends, start) : bisect.bisect_left(w.starts, end)]
