"""The ``kollegan`` command. Every listing takes ``--json``; errors are one line on stderr.

Exit codes: 0 done, 1 failed at run time, 2 wrong usage or configuration.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from core.errors import KolleganError, SettingsError
from core.settings import Settings, load_settings
from kollegan import actions as act
from kollegan.actions import Handler

Subparsers = argparse._SubParsersAction  # argparse's own type for add_subparsers()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    context: act.Context | None = None
    try:
        settings = load_settings()
        _configure_logging(settings, verbose=getattr(args, "verbose", False))
        context = act.Context(settings)
        return handler(args, context)
    except SettingsError as exc:
        print(f"kollegan: {exc}", file=sys.stderr)
        return 2
    except KolleganError as exc:
        print(f"kollegan: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. piped into head
        sys.stderr.close()
        return 0
    finally:
        if context is not None:
            context.close()


def _configure_logging(settings: Settings, *, verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else getattr(logging, settings.log_level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # aiosmtpd logs envelope addresses (which carry tokens) at INFO: keep them out of logs.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    logging.getLogger("huey").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


# -- the parser -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kollegan",
        description="Kollegan, the e-mail-first AI colleague. Settings come from KOLLEGAN_* "
        "variables (see 'kollegan config').",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_service_commands(commands)
    _add_company_commands(commands)
    _add_mail_commands(commands)
    return parser


def _command(
    parent: Subparsers[Any], name: str, handler: Handler, help_text: str, *, json: bool = False
) -> argparse.ArgumentParser:
    sub: argparse.ArgumentParser = parent.add_parser(name, help=help_text, description=help_text)
    sub.set_defaults(handler=handler)
    if json:
        sub.add_argument("--json", action="store_true", help="print JSON")
    return sub


def _group(parent: Subparsers[Any], name: str, help_text: str) -> Subparsers[Any]:
    sub: argparse.ArgumentParser = parent.add_parser(name, help=help_text, description=help_text)

    def show_help(_args: argparse.Namespace, _context: act.Context) -> int:
        sub.print_help()
        return 2

    sub.set_defaults(handler=show_help)
    return sub.add_subparsers(title="commands", metavar="COMMAND")


def _add_service_commands(commands: Subparsers[Any]) -> None:
    serve = _command(
        commands, "serve", act.cmd_serve, "run SMTP intake, portal and worker in one process"
    )
    serve.add_argument("--no-smtp", action="store_true", help="do not listen for SMTP")
    serve.add_argument("--no-web", action="store_true", help="do not serve the portal")
    serve.add_argument("--no-worker", action="store_true", help="do not run tasks")
    _command(commands, "worker", act.cmd_worker, "run only the task worker")
    _command(
        commands, "config", act.cmd_config, "show every setting, its value and help", json=True
    )
    _command(
        commands,
        "demo",
        act.cmd_demo,
        "a scripted tour: a demo company, an invitation by SMTP, the pre-brief",
    )
    db = _group(commands, "db", "database migrations")
    _command(db, "upgrade", act.cmd_db_upgrade, "migrate the database to the newest revision")
    _command(db, "current", act.cmd_db_current, "show the database revision (exit 1 if behind)")


def _add_company_commands(commands: Subparsers[Any]) -> None:
    company = _group(commands, "company", "companies and their magic addresses")
    create = _command(
        company,
        "create",
        act.cmd_company_create,
        "create a company and print its magic address",
        json=True,
    )
    create.add_argument("name", help="the company's name, e.g. 'Acme AB'")
    create.add_argument("--slug", required=True, help="short name in the address, e.g. acme")
    create.add_argument(
        "--domain", action="append", help="the company's own mail domain (verified); repeatable"
    )
    create.add_argument("--admin", help="e-mail of the company's first admin (owner)")
    create.add_argument(
        "--locale",
        choices=["sv", "en"],
        default="sv",
        help="language of the company's mail (default sv)",
    )
    _command(company, "list", act.cmd_company_list, "list companies and addresses", json=True)
    rotate = _command(
        company,
        "rotate-address",
        act.cmd_company_rotate,
        "revoke the company's magic address and print a new one",
    )
    rotate.add_argument("slug")


def _add_mail_commands(commands: Subparsers[Any]) -> None:
    inbound = _group(commands, "inbound", "messages received")
    listing = _command(inbound, "list", act.cmd_inbound_list, "list received messages", json=True)
    listing.add_argument(
        "--status", choices=["received", "processed", "rejected", "held", "failed"]
    )
    listing.add_argument("--limit", type=int, default=50)
    show = _command(inbound, "show", act.cmd_inbound_show, "show one message", json=True)
    show.add_argument("id", type=int)
    show.add_argument("--raw", action="store_true", help="print the raw message bytes")
    retry = _command(
        inbound, "retry", act.cmd_inbound_retry, "process a failed, held or rejected message again"
    )
    retry.add_argument("id", type=int)

    inject = _command(
        commands, "inject", act.cmd_inject, "store a message file as if it came by SMTP", json=True
    )
    inject.add_argument("file", help="an .eml file, or - for standard input")
    inject.add_argument("--to", required=True, help="the magic address it is for")
    inject.add_argument(
        "--from", dest="mail_from", help="envelope sender (default: the From address of the file)"
    )
    inject.add_argument(
        "--now",
        action="store_true",
        help="process it in this process instead of leaving it to the worker",
    )

    calendar = _group(commands, "calendar", "iCalendar and iMIP")
    check = _command(
        calendar,
        "check",
        act.cmd_calendar_check,
        "show what Kollegan makes of .ics/.eml files (stores nothing)",
        json=True,
    )
    check.add_argument("files", nargs="+", metavar="FILE", help=".ics or .eml files")
    check.add_argument("--since", type=_instant, help="window start, ISO 8601 (default now)")
    check.add_argument("--days", type=int, default=60, help="window length for occurrences")

    meetings = _group(commands, "meetings", "meetings the agent knows")
    listing = _command(meetings, "list", act.cmd_meetings_list, "list meetings", json=True)
    listing.add_argument("--limit", type=int, default=200)

    outbox = _group(commands, "outbox", "mail the agent sends")
    listing = _command(outbox, "list", act.cmd_outbox_list, "list outgoing mail", json=True)
    listing.add_argument("--kind", help="only this kind, e.g. pre-brief")
    listing.add_argument("--limit", type=int, default=200)
    show = _command(outbox, "show", act.cmd_outbox_show, "show one outgoing mail", json=True)
    show.add_argument("id", type=int)
    show.add_argument("--raw", action="store_true", help="print the raw message bytes")


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


if __name__ == "__main__":
    sys.exit(main())
