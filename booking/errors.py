"""One exception tree for everything a person can be told.

    BookingError                  base: str(exc) is a message a person can act on
    ├── ConfigError               the catalogue or a setting is wrong (start-up)
    ├── InvalidInput              a field the visitor filled in is not acceptable
    ├── NotFound                  an analyst, meeting type or booking does not exist
    ├── NotBookable               the analyst cannot be booked through this path (yet)
    ├── SlotUnavailable           the time is taken, past, or outside working hours
    │   └── SlotTaken             someone else took it a moment ago
    ├── CalendlyError             talking to Calendly failed (detail goes to the log)
    │   ├── CalendlyUnavailable   timeouts, connection failures, 5xx, unreadable answers
    │   ├── CalendlyRateLimited   429: too many requests for now
    │   ├── CalendlyAuthError     401/403: the desk's Calendly token needs attention
    │   └── CalendlyRejected      4xx: Calendly refused what we asked (e.g. 404)
    ├── PaymentError              the payment provider failed or refused (detail to the log)
    ├── TooManyRequests           a per-client or per-email limit: try again later (429)
    ├── StoreUnavailable          the database cannot save right now: nothing was done (503)
    │   └── StoreBusy             another writer holds the database longer than we wait
    └── CalendarUnavailable       an analyst's own calendar feed was never read: no times

Pages show ``str(exc)``; the HTTP API maps ``code`` and ``status`` onto its JSON errors.
"""

from __future__ import annotations


class BookingError(Exception):
    """Something went wrong that the visitor or owner can do something about."""

    code = "booking_error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ConfigError(BookingError):
    code = "config_error"
    status = 500


class InvalidInput(BookingError):
    code = "invalid_input"
    status = 422


class NotFound(BookingError):
    code = "not_found"
    status = 404


class NotBookable(BookingError):
    code = "not_bookable"
    status = 409


class SlotUnavailable(BookingError):
    code = "slot_unavailable"
    status = 409


class SlotTaken(SlotUnavailable):
    code = "slot_taken"


class CalendlyError(BookingError):
    code = "calendly_error"
    status = 502


class CalendlyUnavailable(CalendlyError):
    code = "calendly_unavailable"


class CalendlyRateLimited(CalendlyError):
    code = "calendly_rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class CalendlyAuthError(CalendlyError):
    code = "calendly_auth"


class CalendlyRejected(CalendlyError):
    code = "calendly_rejected"

    def __init__(self, message: str, *, http_status: int | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.http_status = http_status


class PaymentError(BookingError):
    code = "payment_error"
    status = 502


class CalendarUnavailable(BookingError):
    """An analyst's calendar feed has never been read, so their free times cannot be
    checked (and are not offered)."""

    code = "calendar_unavailable"
    status = 503


class TooManyRequests(BookingError):
    """A limit on what one client (or one email address) may do: try again later."""

    code = "too_many_requests"
    status = 429

    def __init__(self, message: str, *, retry_after: int, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class StoreUnavailable(BookingError):
    """The database cannot save right now (its file is gone or unwritable): nothing was
    done, so nothing is lost by trying again later."""

    code = "store_unavailable"
    status = 503
    retry_after = 30


class StoreBusy(StoreUnavailable):
    """Another writer held the database longer than we wait."""

    code = "store_busy"
    retry_after = 5
