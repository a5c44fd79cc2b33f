"""The `booking` command line: operate the desk without the web pages."""

from __future__ import annotations

import argparse
import secrets
import sys
from datetime import UTC, datetime, timedelta

from booking.calendly.sandbox import WEBHOOK_EVENTS
from booking.desk import desk_for
from booking.domain.catalogue import Catalogue
from booking.errors import BookingError
from booking.settings import Settings
from booking.store import Store
from booking.store.schema import migrations


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


def _since(text: str) -> datetime:
    """'7d', '12h' or an ISO 8601 instant."""
    units = {"d": "days", "h": "hours"}
    if text[:-1].isdigit() and text[-1] in units:
        return datetime.now(UTC) - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not like 7d, 12h or 2026-11-01") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _reconcile(settings: Settings, args: argparse.Namespace) -> int:
    fixed = desk_for(settings).calendly_sync.reconcile(args.since)
    if not fixed:
        print("Nothing to fix: every Calendly booking was already known.")
    for kind, count in sorted(fixed.items()):
        print(f"{kind}: {count} applied that the webhooks had missed")
    return 0


def _webhooks(settings: Settings, args: argparse.Namespace) -> int:
    desk = desk_for(settings)
    client = desk.calendly
    user = client.me()
    scope = {"organization": user["current_organization"], "user": user["uri"]}
    if args.action == "register":
        key = secrets.token_urlsafe(32)
        hook = client.create_webhook(
            args.url, events=list(WEBHOOK_EVENTS), signing_key=key, **scope
        )
        print(f"Subscribed {hook['callback_url']} to {', '.join(hook['events'])}.")
        print(f"Subscription: {hook['uri']}")
        print("Now give the app its signing key (keep it secret, e.g. in your process manager):")
        print(f"  CALENDLY_WEBHOOK_SIGNING_KEY={key}")
    elif args.action == "list":
        hooks = client.webhooks(**scope)
        for hook in hooks:
            print(
                f"{hook['uri']}  {hook['state']:<8}  {hook['callback_url']}  "
                f"{', '.join(hook['events'])}"
            )
        if not hooks:
            print("No webhook subscriptions.")
    else:
        client.delete_webhook(args.uri)
        print(f"Deleted {args.uri}")
    return 0


def _demo_data(settings: Settings, args: argparse.Namespace) -> int:
    written = desk_for(settings).owner.load_demo_data(args.attempts, seed=args.seed)
    print(f"Wrote {written:,} synthetic attempts (seed {args.seed}) to {settings.db_path}.")
    return 0


def _followups(settings: Settings, _: argparse.Namespace) -> int:
    desk = desk_for(settings)
    done = desk.followups.run()
    sent = desk.deliver_mail()
    print(f"Follow-ups: {dict(done) or 'none due'}; mail: {dict(sent) or 'nothing due'}.")
    return 0


def _mail(settings: Settings, _: argparse.Namespace) -> int:
    print(f"Mail: {dict(desk_for(settings).deliver_mail()) or 'nothing due'}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="booking", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="validate the settings and the analysts catalogue")
    sub.add_parser("migrate", help="create or upgrade the SQLite database")
    rec = sub.add_parser("reconcile", help="fill in Calendly bookings the webhooks missed")
    rec.add_argument(
        "--since", type=_since, default=None, help="7d, 12h or an ISO date (default: a week ago)"
    )
    hooks = sub.add_parser("webhooks", help="manage the Calendly webhook subscription")
    actions = hooks.add_subparsers(dest="action", required=True)
    register = actions.add_parser("register", help="subscribe URL to the invitee events")
    register.add_argument(
        "--url", required=True, help="public address of POST /api/calendly/webhook"
    )
    actions.add_parser("list", help="list the subscriptions")
    delete = actions.add_parser("delete", help="delete a subscription")
    delete.add_argument("uri", help="the subscription URI that `list` shows")
    demo = sub.add_parser("demo-data", help="write a realistic synthetic booking history")
    demo.add_argument("--attempts", type=int, default=5000, help="how many (default 5000)")
    demo.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    followups = sub.add_parser("followups", help="email stalled attempts a fresh link")
    followups.add_subparsers(dest="action", required=True).add_parser(
        "run", help="send the follow-ups that are due (for cron)"
    )
    mail = sub.add_parser("mail", help="the email outbox")
    mail.add_subparsers(dest="action", required=True).add_parser(
        "send", help="send what is due (retries included)"
    )
    args = parser.parse_args(argv)
    commands = {
        "demo-data": _demo_data,
        "check": _check,
        "migrate": _migrate,
        "reconcile": _reconcile,
        "webhooks": _webhooks,
        "followups": _followups,
        "mail": _mail,
    }
    try:
        return commands[args.command](Settings.load(), args)
    except BookingError as exc:
        print(f"booking: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
