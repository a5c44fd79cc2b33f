"""The email outbox (stored by ``booking.store.outbox``) and the SMTP transport.

``enqueue`` stores a mail once per key as a whole RFC 5322 message; ``deliver_due`` sends
what is due through a transport you pass in (none: the mail is *kept* for the owner to read
on the outbox page). Failed sends back off and are retried, then given up. Sending is
claimed row by row with a compare-and-set update, so two deliverers running at once never
send one mail twice.
"""

from __future__ import annotations

import email
import email.policy
import logging
import smtplib
import ssl
from collections import Counter
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol

from booking.mail.messages import Mail
from booking.store import Store
from booking.store import outbox as queue

log = logging.getLogger(__name__)

BACKOFF_MINUTES = (1, 5, 30, 120, 600)
LEASE = timedelta(minutes=10)  # a claimed mail is retried after this if its sender died


# ------------------------------------------------------------------------------ outbox


class Transport(Protocol):
    def send(self, msg: EmailMessage) -> None: ...


def enqueue(store: Store, mail: Mail, *, now: datetime, sender: str, brand: str) -> bool:
    """Queue a mail once per key; True when it is new. Opens its own write transaction."""
    message = mail.to_message(sender=sender, brand=brand, now=now).as_string()
    row = {
        "key": mail.key,
        "kind": mail.kind,
        "attempt_id": mail.attempt_id,
        "booking_ref": mail.booking_ref,
        "to_addr": mail.to,
        "subject": mail.subject,
        "message": message,
    }
    with store.write() as db:
        return queue.add(db, row, now=now)


def deliver_due(
    store: Store, transport: Transport | None, *, now: datetime, batch: int = 50, max_tries: int = 6
) -> Counter:
    """Send (or, without a transport, keep) the queued mails that are due.

    Counts 'sent', 'kept', 'retry' and 'failed'. Safe to run in several threads or
    processes at once: each mail is claimed before it is sent, and sent outside the lock.
    """
    counts: Counter = Counter()
    for row_id in queue.due(store.db, now=now, limit=batch):
        with store.write() as db:
            row = queue.claim(db, row_id, now=now, keep=transport is None, lease_until=now + LEASE)
        if row is None:
            continue
        if transport is None:
            counts["kept"] += 1
            continue
        try:
            transport.send(email.message_from_string(row["message"], policy=email.policy.default))
        except (OSError, smtplib.SMTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
            log.warning(
                "mail %s (%s) not sent, try %d: %s", row_id, row["key"], row["tries"], error
            )
            if row["tries"] >= max_tries:
                status, next_try = "failed", None
            else:
                status = "queued"
                wait = BACKOFF_MINUTES[min(row["tries"], len(BACKOFF_MINUTES)) - 1]
                next_try = now + timedelta(minutes=wait)
            counts["failed" if status == "failed" else "retry"] += 1
            with store.write() as db:
                queue.not_sent(db, row_id, status=status, next_try=next_try, error=error)
        else:
            counts["sent"] += 1
            with store.write() as db:
                queue.sent(db, row_id, now=now)
    return counts


def text_body(message: str) -> str:
    """The plain-text part of a stored message, decoded."""
    part = email.message_from_string(message, policy=email.policy.default).get_body(("plain",))
    return part.get_content() if part is not None else ""


def outbox(store: Store, *, limit: int = 50) -> list[dict]:
    """The latest mails, newest first, with their text body (the owner's outbox page)."""
    return [
        {**{k: v for k, v in row.items() if k != "message"}, "text": text_body(row["message"])}
        for row in queue.latest(store.db, limit=limit)
    ]


# ------------------------------------------------------------------------------- SMTP


@dataclass(frozen=True)
class SmtpTransport:
    """Sends through an SMTP server (``security``: 'starttls', 'ssl' or 'none')."""

    host: str
    port: int
    _: KW_ONLY
    security: str = "starttls"
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 10

    def send(self, msg: EmailMessage) -> None:
        if self.security == "ssl":
            context = ssl.create_default_context()
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(msg)


def from_settings(settings) -> SmtpTransport | None:
    """The configured SMTP transport, or None (no BOOKING_SMTP_HOST: mails are kept)."""
    if not settings.smtp_host:
        return None
    return SmtpTransport(
        settings.smtp_host,
        settings.smtp_port,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password,
    )
