"""Guards that keep the layout of ARCHITECTURE.md from eroding."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
BOOKING = ROOT / "booking"

# sqlite-utils records applied migrations by name, per set: a renamed migration runs again
# on every existing database. New migrations are appended here; nothing is ever renamed.
MIGRATIONS = {
    "booking_desk": [
        "m001_attempts_funnel_bookings",
        "m002_calendly_webhooks",
        "m003_funnel_rollup",
        "m004_payments_mail_followups",
        "m005_one_booking_status",
        "m006_local_calendars_manage_reminders",
        "m010_limits_refusals_health",
        "m007_calendly_answers_reconcile",
        "m008_erasure_and_retention",
        "m009_stalled_attempts_index",
        "m011_calendly_attempt_lookup",
    ],
    "calendly_sandbox": [
        "s001_sandbox_tables",
        "s002_deliveries_and_no_shows",
        "s003_answers_locations_retries",
    ],
    "sandbox_checkout": ["c001_sandbox_checkouts"],
}


def test_applied_migration_names_per_set_are_frozen(sandbox_desk):
    """A fresh database (the desk with both sandboxes) applies exactly these migrations."""
    applied: dict[str, list[str]] = {}
    for row in sandbox_desk.store.db.query(
        "SELECT migration_set, name FROM _sqlite_migrations ORDER BY id"
    ):
        applied.setdefault(row["migration_set"], []).append(row["name"])
    assert applied == MIGRATIONS


# Only store/ speaks SQL. The sandboxes stand in for other companies' databases and keep
# their own, each in one module.
SQL_ALLOWED = ("store/", "calendly/sandbox/state.py", "payments/sandbox.py")  # path prefixes
SQL = re.compile(
    r"\bSELECT\b.+\bFROM\b|\bINSERT\s+(?:OR\s+\w+\s+)?INTO\b|\bUPDATE\s+\S+\s+SET\b"
    r"|\bDELETE\s+FROM\b|\bCREATE\s+(?:UNIQUE\s+)?(?:INDEX|TABLE|TRIGGER|VIEW)\b"
    r"|\b(?:DROP|ALTER)\s+(?:INDEX|TABLE|TRIGGER|VIEW)\b|\bPRAGMA\s+\w+",
    re.IGNORECASE | re.DOTALL,
)


def _strings(tree: ast.AST):
    """Every string literal of a module but its docstrings; an f-string as one text with
    ``{}`` for each replacement field."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            yield (
                node.lineno,
                "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values),
            )
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield node.lineno, node.value


def test_no_sql_outside_the_store():
    """No SQL statement in a string literal of booking/ outside booking/store/ (and the
    sandboxes): the store is the one place to change when PostgreSQL comes in."""
    found = []
    for path in sorted(BOOKING.rglob("*.py")):
        relative = path.relative_to(BOOKING).as_posix()
        if relative.startswith(SQL_ALLOWED):
            continue
        for line, text in _strings(ast.parse(path.read_text(), str(path))):
            if SQL.search(text):
                found.append(f"booking/{relative}:{line}: {text[:60]!r}")
    assert found == []


def test_the_layer_contracts_hold():
    """import-linter (contracts in pyproject.toml): each layer imports only layers below
    it, and nothing in booking/ imports streamlit, however deep the module."""
    lint = Path(sys.executable).with_name("lint-imports")  # installed with import-linter
    out = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 kept, 0 broken" in out.stdout


def _classes(tree: ast.AST):
    return (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef))


def test_no_module_over_500_lines_and_no_class_over_300():
    """Size guards: an orchestrator that regrows into a god file fails here first."""
    too_long = {}
    for path in BOOKING.rglob("*.py"):
        text = path.read_text()
        name = str(path.relative_to(ROOT))
        if text.count("\n") > 500:
            too_long[name] = text.count("\n")
        for cls in _classes(ast.parse(text)):
            if cls.end_lineno - cls.lineno + 1 > 300:
                too_long[f"{name}:{cls.name}"] = cls.end_lineno - cls.lineno + 1
    assert too_long == {}
