"""Emails: branded renderers (``messages``), the outbox and SMTP (``outbox``), .ics files."""

from booking.mail.messages import (
    Mail,
    calendly_confirmation,
    cancellation,
    confirmation,
    followup,
    late_payment_refund,
    reminder,
    rescheduled,
    when,
)
from booking.mail.outbox import (
    SmtpTransport,
    Transport,
    deliver_due,
    enqueue,
    from_settings,
    outbox,
    text_body,
)

__all__ = [
    "Mail",
    "SmtpTransport",
    "Transport",
    "calendly_confirmation",
    "cancellation",
    "confirmation",
    "deliver_due",
    "enqueue",
    "followup",
    "from_settings",
    "late_payment_refund",
    "outbox",
    "reminder",
    "rescheduled",
    "text_body",
    "when",
]
