"""The email outbox in SQLite and the SMTP transport.

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
from booking.store import Store, iso

log = logging.getLogger(__name__)

BACKOFF_MINUTES = (1, 5, 30, 120, 600)
LEASE = timedelta(minutes=10)  # a claimed mail is retried after this if its sender died


# ------------------------------------------------------------------------------ outbox


class Transport(Protocol):
    def send(self, msg: EmailMessage) -> None: ...


def enqueue(store: Store, mail: Mail, *, now: datetime, sender: str, brand: str) -> bool:
    """Queue a mail once per key; True when it is new. Opens its own write transaction."""
    message = mail.to_message(sender=sender, brand=brand, now=now).as_string()
    with store.write() as db:
        cursor = db.execute(
            "INSERT OR IGNORE INTO outbox (key, kind, attempt_id, booking_ref, to_addr, subject, "
            "message, status, tries, next_try_at, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?)",
            [mail.key, mail.kind, mail.attempt_id, mail.booking_ref, mail.to, mail.subject,
             message, iso(now), iso(now)],
        )  # fmt: skip
        return cursor.rowcount == 1


def _claim(store: Store, row_id: int, *, now: datetime, keep: bool) -> dict | None:
    """Take one due mail for sending (or keep it), unless another deliverer got there first."""
    with store.write() as db:
        rows = list(
            db.query(
                "SELECT id, key, tries, message FROM outbox "
                "WHERE id = ? AND status = 'queued' AND next_try_at <= ?",
                [row_id, iso(now)],
            )
        )
        if not rows:
            return None
        row = rows[0]
        if keep:
            changed = db.execute(
                "UPDATE outbox SET status = 'kept' WHERE id = ? AND status = 'queued'", [row_id]
            ).rowcount
        else:
            changed = db.execute(
                "UPDATE outbox SET tries = tries + 1, next_try_at = ? "
                "WHERE id = ? AND status = 'queued' AND tries = ?",
                [iso(now + LEASE), row_id, row["tries"]],
            ).rowcount
        if changed != 1:
            return None
        return {**row, "tries": row["tries"] + (0 if keep else 1)}


def deliver_due(
    store: Store, transport: Transport | None, *, now: datetime, batch: int = 50, max_tries: int = 6
) -> Counter:
    """Send (or, without a transport, keep) the queued mails that are due.

    Counts 'sent', 'kept', 'retry' and 'failed'. Safe to run in several threads or
    processes at once: each mail is claimed before it is sent, and sent outside the lock.
    """
    counts: Counter = Counter()
    due = store.db.execute(
        "SELECT id FROM outbox WHERE status = 'queued' AND next_try_at <= ? "
        "ORDER BY next_try_at, id LIMIT ?",
        [iso(now), batch],
    ).fetchall()
    for (row_id,) in due:
        row = _claim(store, row_id, now=now, keep=transport is None)
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
                next_try = iso(now + timedelta(minutes=wait))
            counts["failed" if status == "failed" else "retry"] += 1
            with store.write() as db:
                db.execute(
                    "UPDATE outbox SET status = ?, next_try_at = ?, last_error = ? WHERE id = ?",
                    [status, next_try, error, row_id],
                )
        else:
            counts["sent"] += 1
            with store.write() as db:
                db.execute(
                    "UPDATE outbox SET status = 'sent', sent_at = ?, next_try_at = NULL, "
                    "last_error = NULL WHERE id = ?",
                    [iso(now), row_id],
                )
    return counts


def text_body(message: str) -> str:
    """The plain-text part of a stored message, decoded."""
    part = email.message_from_string(message, policy=email.policy.default).get_body(("plain",))
    return part.get_content() if part is not None else ""


def outbox(store: Store, *, limit: int = 50) -> list[dict]:
    """The latest mails, newest first, with their text body (the owner's outbox page)."""
    rows = store.db.query(
        "SELECT id, created_at, kind, key, to_addr, subject, status, tries, next_try_at, "
        "last_error, sent_at, message FROM outbox ORDER BY created_at DESC, id DESC LIMIT ?",
        [limit],
    )
    return [
        {**{k: v for k, v in row.items() if k != "message"}, "text": text_body(row["message"])}
        for row in rows
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
