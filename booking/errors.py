"""One exception tree for everything a person can be told.

    BookingError                  base: str(exc) is a message a person can act on
    ├── ConfigError               the catalogue or a setting is wrong (start-up)
    ├── InvalidInput              a field the visitor filled in is not acceptable
    ├── NotFound                  an analyst, meeting type or booking does not exist
    ├── NotBookable               the analyst cannot be booked through this path (yet)
    └── SlotUnavailable           the time is taken, past, or outside working hours
        └── SlotTaken             someone else took it a moment ago

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
