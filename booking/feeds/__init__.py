"""Analysts' own calendars as iCalendar feeds (Google's, Outlook's or Apple's "secret
address in iCal format", or a file): fetched (``fetch``), read into busy time (``parse``)
and shared by every visitor with a last good copy kept (``calendars``)."""

from booking.feeds.calendars import BusyFeeds, FeedStatus
from booking.feeds.fetch import FeedError, Fetched, fetch
from booking.feeds.parse import FeedUnreadable, busy_intervals

__all__ = [
    "BusyFeeds",
    "FeedError",
    "FeedStatus",
    "FeedUnreadable",
    "Fetched",
    "busy_intervals",
    "fetch",
]
