"""The `booking` command line: operate the desk without the web pages."""

from __future__ import annotations

import argparse
import sys

from booking.config import Catalogue, Settings
from booking.errors import BookingError
from booking.store import Store, migrations


def _check(settings: Settings, _: argparse.Namespace) -> int:
    catalogue = Catalogue.load(settings.catalogue_path)
    print(f"Settings: {settings}")
    print(f"Catalogue {catalogue.source}: {len(catalogue.analysts)} analysts")
    for a in catalogue.analysts:
        types = (
            ", ".join(
                f"{m.name} ({m.duration_minutes} min, {m.price_label})" for m in a.meeting_types
            )
            or "meeting types come from Calendly"
        )
        print(f"  {a.slug:<16} {a.provider:<9} {a.timezone:<20} {types}")
    return 0


def _migrate(settings: Settings, _: argparse.Namespace) -> int:
    store = Store(settings.db_path)
    names = [m.name for m in migrations.applied(store.db)]
    print(f"{settings.db_path}: schema up to date ({len(names)} migrations: {', '.join(names)})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="booking", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="validate the settings and the analysts catalogue")
    sub.add_parser("migrate", help="create or upgrade the SQLite database")
    args = parser.parse_args(argv)
    commands = {"check": _check, "migrate": _migrate}
    try:
        return commands[args.command](Settings.from_env(), args)
    except BookingError as exc:
        print(f"booking: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
