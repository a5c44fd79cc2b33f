"""How the desk words things a person reads: money and times (pure)."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

CURRENCY_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€"}


def money(amount: Decimal | str, currency: str) -> str:
    """'£149.50', '$50', '1,000 JPY'."""
    symbol = CURRENCY_SYMBOLS.get(currency)
    text = f"{Decimal(amount):,.2f}".removesuffix(".00")
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def describe_time(when: datetime, tz: ZoneInfo, *, now: datetime | None = None) -> str:
    """'09:30 on Tue 14 Oct' in the given zone ('… 14 Oct 2020' when that is not the year
    of ``now``)."""
    local = when.astimezone(tz)
    year = f" {local.year}" if now is not None and now.astimezone(tz).year != local.year else ""
    return f"{local:%H:%M} on {local:%a} {local.day} {local:%b}{year}"


def how_long(seconds: float) -> str:
    """A wait as people say it, rounded up: '1 second', '40 seconds', '2 minutes'."""
    whole = max(1, math.ceil(seconds))
    if whole < 90:
        return "1 second" if whole == 1 else f"{whole} seconds"
    return f"{math.ceil(whole / 60)} minutes"
