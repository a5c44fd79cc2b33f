"""Reading a calendar feed: over HTTP with ``requests`` (timeouts, a size cap, and
``If-None-Match`` / ``If-Modified-Since`` so an unchanged feed costs a 304), or from a file
(the demo feed; its size and modification time stand in for an ETag)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import requests

log = logging.getLogger(__name__)

TIMEOUT = (5, 20)  # seconds to connect, seconds between bytes
MAX_FEED_BYTES = 20 * 1024 * 1024
USER_AGENT = "BookingDesk/1 (calendar feed reader)"


class FeedError(Exception):
    """A feed could not be read; the message says why, for the owner (no secret URL)."""


@dataclass(frozen=True)
class Fetched:
    """What a read found: a new body, or ``body`` None when the feed has not changed."""

    body: bytes | None
    etag: str | None = None
    last_modified: str | None = None


def _check(body: bytes) -> bytes:
    if b"BEGIN:VCALENDAR" not in body[:4096].upper():
        raise FeedError("the answer is not an iCalendar file (no BEGIN:VCALENDAR)")
    return body


def fetch(
    feed: str,
    *,
    session: requests.Session,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: tuple[float, float] = TIMEOUT,
    max_bytes: int = MAX_FEED_BYTES,
) -> Fetched:
    """Read ``feed`` unless it is unchanged since (``etag``, ``last_modified``)."""
    if "://" not in feed:
        return _read_file(Path(feed), etag, max_bytes)
    headers = {"Accept": "text/calendar, */*;q=0.5", "User-Agent": USER_AGENT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        with session.get(feed, headers=headers, timeout=timeout, stream=True) as answer:
            if answer.status_code == 304:
                return Fetched(None, etag, last_modified)
            if answer.status_code != 200:
                raise FeedError(f"the calendar server answered HTTP {answer.status_code}")
            declared = answer.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FeedError(f"the feed is larger than {max_bytes // 2**20} MB")
            body = bytearray()
            for chunk in answer.iter_content(64 * 1024):
                body += chunk
                if len(body) > max_bytes:
                    raise FeedError(f"the feed is larger than {max_bytes // 2**20} MB")
            return Fetched(
                _check(bytes(body)),
                answer.headers.get("ETag"),
                answer.headers.get("Last-Modified"),
            )
    except requests.Timeout as exc:
        raise FeedError("the calendar server did not answer in time") from exc
    except requests.RequestException as exc:
        raise FeedError(f"the calendar server could not be reached ({type(exc).__name__})") from exc


def _read_file(path: Path, etag: str | None, max_bytes: int) -> Fetched:
    try:
        stat = path.stat()
        version = f"{stat.st_mtime_ns}-{stat.st_size}"
        if version == etag:
            return Fetched(None, etag)
        if stat.st_size > max_bytes:
            raise FeedError(f"the feed file is larger than {max_bytes // 2**20} MB")
        return Fetched(_check(path.read_bytes()), version)
    except OSError as exc:
        raise FeedError(f"the feed file cannot be read ({exc.strerror or exc})") from exc
