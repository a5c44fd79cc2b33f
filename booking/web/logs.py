"""What the server logs, and that no secret reaches a log line.

INFO for the desk's own loggers; the payment SDK only at WARNING (at INFO it logs every
request and provider error verbatim); and a filter on every handler that replaces the
configured secrets (tokens, keys, passwords) and anything shaped like a Stripe key, a
signing secret or a bearer token with '***' before a line is written.
"""

from __future__ import annotations

import logging
import re

from booking.settings import Settings

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
SHAPES = re.compile(
    r"(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{6,}|whsec_[A-Za-z0-9+/=_-]{6,}"
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}"
)


class Redact(logging.Filter):
    """Masks secrets in a record's final message (arguments included)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = SHAPES.sub("***", message)
        for secret in self.secrets:
            clean = clean.replace(secret, "***")
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_text is None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = SHAPES.sub("***", record.exc_text)
            for secret in self.secrets:
                record.exc_text = record.exc_text.replace(secret, "***")
        return True


def configure(settings: Settings) -> None:
    """Set up the process's logging for the desk (app.py calls this once)."""
    logging.basicConfig(level=logging.INFO, format=FORMAT)
    for noisy in ("stripe", "httpx", "httpx2", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    redact = Redact(settings.secret_values())
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
