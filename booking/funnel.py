"""The named steps of the booking funnel, in the order a visitor passes them."""

STARTED = "started"
ANALYST_SELECTED = "analyst_selected"
MEETING_TYPE_SELECTED = "meeting_type_selected"
DATE_SELECTED = "date_selected"
SLOT_CHOSEN = "slot_chosen"
DETAILS_SUBMITTED = "details_submitted"
BOOKED = "booked"
BOOKING_FAILED = "booking_failed"
LINK_CREATED = "link_created"
REDIRECTED = "redirected"
HANDOFF_FAILED = "handoff_failed"
RETURNED = "returned"
RESCHEDULED = "rescheduled"
CANCELED = "canceled"
NO_SHOW = "no_show"
NO_SHOW_REMOVED = "no_show_removed"

ORDER = (
    STARTED,
    ANALYST_SELECTED,
    MEETING_TYPE_SELECTED,
    DATE_SELECTED,
    SLOT_CHOSEN,
    DETAILS_SUBMITTED,
    BOOKED,
)
