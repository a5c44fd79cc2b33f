"""The `booking` command line: operate the desk without the web pages."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from booking.calendly.sandbox import WEBHOOK_EVENTS
from booking.calendly.scopes import ALL_SCOPES, check_token
from booking.desk import desk_for
from booking.domain.catalogue import Catalogue
from booking.errors import BookingError, CalendlyRejected
from booking.settings import Settings
from booking.store import Store
from booking.store.schema import migrations


def _check_live(settings: Settings) -> int:
    """Ask Calendly what the token may do, capability by capability, and what to fix."""
    desk = desk_for(settings)
    where = "the built-in sandbox (no CALENDLY_TOKEN)" if desk.sandbox else desk.calendly.base_url
    print(f"Calendly: {where}")
    found = check_token(desk.calendly)
    for name, ok, fix in found:
        print(f"  {'ok ' if ok else 'FIX'} {name:<15} {fix if not ok else ''}".rstrip())
    missing = [name for name, ok, _ in found if not ok]
    if missing:
        print(f"The desk needs these scopes: {', '.join(ALL_SCOPES)}.")
    return 1 if missing else 0


def _check(settings: Settings, args: argparse.Namespace) -> int:
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
    return _check_live(settings) if getattr(args, "live", False) else 0


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
        return _register(client, args, scope)
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


def _show(hook: dict) -> str:
    failing = f", failing since {hook['retry_started_at']}" if hook.get("retry_started_at") else ""
    return f"{hook['uri']} ({hook['state']}{failing}) → {hook['callback_url']}"


def _register(client, args: argparse.Namespace, scope: dict) -> int:
    """Subscribe the URL; an existing subscription of it (Calendly allows one per URL and
    answers 409) is shown, and replaced only with --replace, with a new signing key."""
    existing = [h for h in client.webhooks(**scope) if h["callback_url"] == args.url]
    for hook in existing:
        print(f"Already subscribed: {_show(hook)}")
        if not args.replace:
            print(
                "Run again with --replace to delete it and subscribe anew with a new signing "
                "key (then set CALENDLY_WEBHOOK_SIGNING_KEY to the new key and restart)."
            )
            return 1
        client.delete_webhook(hook["uri"])
        print(f"Deleted {hook['uri']}")
    key = secrets.token_urlsafe(32)
    try:
        hook = client.create_webhook(
            args.url, events=list(WEBHOOK_EVENTS), signing_key=key, **scope
        )
    except CalendlyRejected as exc:
        if exc.http_status != 409:
            raise
        print("Calendly says this URL is already subscribed (409); run again with --replace.")
        return 1
    print(f"Subscribed {hook['callback_url']} to {', '.join(hook['events'])}.")
    print(f"Subscription: {hook['uri']}")
    print("Now give the app its signing key (keep it secret, e.g. in your process manager):")
    print(f"  CALENDLY_WEBHOOK_SIGNING_KEY={key}")
    return 0


def _demo_data(settings: Settings, args: argparse.Namespace) -> int:
    written = desk_for(settings).owner.load_demo_data(args.attempts, seed=args.seed)
    print(f"Wrote {written:,} synthetic attempts (seed {args.seed}) to {settings.db_path}.")
    return 0


def _mailing(label: str, job) -> Callable[[Settings, argparse.Namespace], int]:
    """A command that runs one of the desk's mailing jobs, then sends what it queued."""

    def command(settings: Settings, _: argparse.Namespace) -> int:
        desk = desk_for(settings)
        done = job(desk)
        sent = desk.deliver_mail()
        print(f"{label}: {dict(done) or 'none due'}; mail: {dict(sent) or 'nothing due'}.")
        return 0

    return command


_followups = _mailing("Follow-ups", lambda desk: desk.followups.run())
_reminders = _mailing("Reminders", lambda desk: desk.reminders.run())


def _mail(settings: Settings, _: argparse.Namespace) -> int:
    print(f"Mail: {dict(desk_for(settings).deliver_mail()) or 'nothing due'}.")
    return 0


def _print_counts(done) -> None:
    for table, count in sorted(done.items()):
        print(f"  {table:<20} {count:>7,}")


def _erase(settings: Settings, args: argparse.Namespace) -> int:
    done = desk_for(settings).privacy.erase(args.email, dry_run=args.dry_run)
    if not done:
        print(f"Nothing is held about {args.email}.")
        return 0
    if args.dry_run:
        print(f"Erasing {args.email} would change these rows (nothing was changed yet):")
    else:
        print(f"Erased the personal data of {args.email}, rows changed per table:")
    _print_counts(done)
    print("The rows stay, so the funnel's counts and the owner's figures are unchanged.")
    return 0


def _export(settings: Settings, args: argparse.Namespace) -> int:
    text = desk_for(settings).privacy.export_json(args.email)
    if args.out is None:
        print(text)
        return 0
    try:  # personal data: readable by its owner only
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text + "\n")
    except OSError as exc:
        print(f"booking: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"Wrote everything held about {args.email} to {args.out}.")
    return 0


def _retention(settings: Settings, _: argparse.Namespace) -> int:
    days = settings.retention_days
    done = desk_for(settings).privacy.retention_run()
    if days <= 0:
        print("BOOKING_RETENTION_DAYS is 0: personal data is kept; nothing was erased.")
    elif not done:
        print(f"Nothing held for longer than {days} days; nothing was erased.")
    else:
        print(f"Erased personal data older than {days} days, rows per table:")
        _print_counts(done)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="booking", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate the settings and the analysts catalogue")
    check.add_argument(
        "--live",
        action="store_true",
        help="also ask Calendly, endpoint by endpoint, what the token may do",
    )
    sub.add_parser("migrate", help="create or upgrade the SQLite database")
    rec = sub.add_parser("reconcile", help="fill in Calendly bookings the webhooks missed")
    rec.add_argument(
        "--since", type=_since, default=None, help="7d, 12h or an ISO date (default: a week ago)"
    )
    hooks = sub.add_parser("webhooks", help="manage the Calendly webhook subscription")
    actions = hooks.add_subparsers(dest="action", required=True)
    register = actions.add_parser("register", help="subscribe URL to the invitee events")
    register.add_argument(
        "--replace",
        action="store_true",
        help="delete an existing subscription of URL first (a new signing key)",
    )
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
    reminders = sub.add_parser("reminders", help="email visitors before their meetings")
    reminders.add_subparsers(dest="action", required=True).add_parser(
        "run", help="send the reminders that are due (for cron)"
    )
    mail = sub.add_parser("mail", help="the email outbox")
    mail.add_subparsers(dest="action", required=True).add_parser(
        "send", help="send what is due (retries included)"
    )
    erase = sub.add_parser("erase", help="erase one person's personal data everywhere")
    erase.add_argument("--email", required=True, help="the person's email address")
    erase.add_argument("--dry-run", action="store_true", help="count what would change")
    export = sub.add_parser("export", help="everything held about one person, as JSON")
    export.add_argument("--email", required=True, help="the person's email address")
    export.add_argument("--out", help="write to this file (created owner-only) not stdout")
    retention = sub.add_parser("retention", help="erase personal data past its retention")
    retention.add_subparsers(dest="action", required=True).add_parser(
        "run", help="erase what BOOKING_RETENTION_DAYS has passed (for cron)"
    )
    args = parser.parse_args(argv)
    commands = {
        "demo-data": _demo_data,
        "check": _check,
        "migrate": _migrate,
        "reconcile": _reconcile,
        "webhooks": _webhooks,
        "followups": _followups,
        "reminders": _reminders,
        "mail": _mail,
        "erase": _erase,
        "export": _export,
        "retention": _retention,
    }
    try:
        return commands[args.command](Settings.load(), args)
    except BookingError as exc:
        print(f"booking: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
