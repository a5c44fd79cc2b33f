"""The named steps of the booking funnel, in the order a visitor passes them, and the
statuses a booking moves through."""

from enum import StrEnum


class BookingStatus(StrEnum):
    """A booking's status, one vocabulary for local and Calendly bookings."""

    HELD = "held"  # a local slot kept while the visitor pays (until hold_expires_at)
    CONFIRMED = "confirmed"  # it stands (booked locally, paid for, or scheduled on Calendly)
    CANCELED = "canceled"
    RELEASED = "released"  # a hold given back (the checkout was abandoned)
    EXPIRED = "expired"  # a hold that lapsed


STARTED = "started"
ANALYST_SELECTED = "analyst_selected"
MEETING_TYPE_SELECTED = "meeting_type_selected"
DATE_SELECTED = "date_selected"
SLOT_CHOSEN = "slot_chosen"
DETAILS_SUBMITTED = "details_submitted"
BOOKED = "booked"
BOOKING_FAILED = "booking_failed"
PAYMENT_STARTED = "payment_started"
PAID = "paid"
PAYMENT_ABANDONED = "payment_abandoned"
LINK_CREATED = "link_created"
REDIRECTED = "redirected"
HANDOFF_FAILED = "handoff_failed"
RETURNED = "returned"
RESCHEDULED = "rescheduled"
CANCELED = "canceled"
NO_SHOW = "no_show"
NO_SHOW_REMOVED = "no_show_removed"
FOLLOWUP_SENT = "followup_sent"
FOLLOWUPS_STOPPED = "followups_stopped"
REFUND_DUE = "refund_due"
# What Calendly's inline embed reports (hints from the browser; the webhook confirms).
EMBED_STEPS = {
    "calendly.event_type_viewed": "event_type_viewed",
    "calendly.date_and_time_selected": "date_and_time_selected",
    "calendly.event_scheduled": "event_scheduled",
}
DIRECT_FALLBACK = "direct_fallback"

ORDER = (
    STARTED,
    ANALYST_SELECTED,
    MEETING_TYPE_SELECTED,
    DATE_SELECTED,
    SLOT_CHOSEN,
    DETAILS_SUBMITTED,
    BOOKED,
)

# Steps whose first time is kept on the attempt (``attempts.at_<step>``) for analytics.
TRACKED = (
    SLOT_CHOSEN,
    DETAILS_SUBMITTED,
    PAYMENT_STARTED,
    PAID,
    LINK_CREATED,
    REDIRECTED,
    BOOKED,
    CANCELED,
    RESCHEDULED,
    NO_SHOW,
    FOLLOWUP_SENT,
)

# Time from an attempt's start to its booking, in buckets: (label, upper bound in minutes).
TIME_TO_BOOK = (
    ("< 5 min", 5),
    ("5–60 min", 60),
    ("1–24 h", 1440),
    ("1–7 days", 10080),
    ("> 7 days", None),
)


def time_to_book_bucket(minutes: float) -> int:
    return next(i for i, (_, upper) in enumerate(TIME_TO_BOOK) if upper is None or minutes < upper)
