"""What each ``kollegan`` sub-command does (the parser lives in :mod:`kollegan.cli`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import timedelta
from email.parser import BytesHeaderParser
from email.policy import default
from email.utils import parseaddr
from pathlib import Path

from sqlalchemy.orm import Session

from core.addresses import is_valid_slug, new_token
from core.clock import SystemClock
from core.errors import SettingsError
from core.settings import Settings, describe_settings
from core.types import InboundStatus, Source
from inbox.ingest import accept
from kollegan import views
from kollegan.app import App, build_app
from kollegan.conformance import check_file
from kollegan.demo import run_demo
from kollegan.serve import prepare_database, serve, start_worker
from scheduler.tasks import run_deliver_due, run_process_inbound
from store import companies, inbound, meetings, migrate, outbound


class Context:
    """What a sub-command gets: the settings, and the app built once when first asked for
    (closed by :func:`kollegan.cli.main` when the command ends)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._app: App | None = None

    def app(self, *, prepared: bool = True) -> App:
        if self._app is None:
            self._app = build_app(self.settings)
            if prepared:
                prepare_database(self._app)
        return self._app

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


Handler = Callable[[argparse.Namespace, Context], int]


def open_app(settings: Settings) -> App:
    """A prepared app for callers that manage its life themselves (the demo)."""
    app = build_app(settings)
    prepare_database(app)
    return app


# -- serving --------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace, ctx: Context) -> int:
    settings = ctx.settings
    app = ctx.app(prepared=False)
    serve(
        app,
        smtp=not args.no_smtp,
        web=not args.no_web,
        worker=not args.no_worker,
        on_ready=lambda what: print(
            f"Kollegan is running: {what}; mail domain {settings.mail_domain}. Ctrl-C stops it.",
            flush=True,
        ),
    )
    return 0


def cmd_worker(args: argparse.Namespace, ctx: Context) -> int:
    return cmd_serve(argparse.Namespace(no_smtp=True, no_web=True, no_worker=False), ctx)


def cmd_db_upgrade(args: argparse.Namespace, ctx: Context) -> int:
    app = ctx.app(prepared=False)
    migrate.upgrade(app.db)
    print(f"database at revision {migrate.current_revision(app.db)}")
    return 0


def cmd_db_current(args: argparse.Namespace, ctx: Context) -> int:
    app = ctx.app(prepared=False)
    current, head = migrate.current_revision(app.db), migrate.head_revision(app.db)
    print(f"current {current or 'none'}, head {head}")
    return 0 if current == head else 1


def cmd_config(args: argparse.Namespace, ctx: Context) -> int:
    settings = ctx.settings
    hidden = {"KOLLEGAN_SECRET_KEY", "KOLLEGAN_MAILGUN_SIGNING_KEY"}
    rows = []
    for name, default_value, help_text in describe_settings():
        value = getattr(settings, name.removeprefix("KOLLEGAN_").lower())
        shown = ("(set)" if value else "(unset)") if name in hidden else value
        rows.append({"variable": name, "value": shown, "default": default_value, "help": help_text})
    if args.json:
        print(views.dumps([{**r, "value": str(r["value"])} for r in rows]))
    else:
        for row in rows:
            print(f"{row['variable']} = {row['value']}\n    {row['help']}")
    return 0


# -- companies ------------------------------------------------------------------------------


def cmd_company_create(args: argparse.Namespace, ctx: Context) -> int:
    settings = ctx.settings
    if not is_valid_slug(args.slug):
        raise SettingsError(f"--slug {args.slug!r}: use a-z, 0-9 and -, at most 40 characters")
    app = ctx.app()
    with app.db.session() as session:
        company, _agent = companies.create_company(
            session,
            name=args.name,
            slug=args.slug,
            domains=args.domain or [],
            admin_email=args.admin,
            token=new_token(),
            now=app.clock.now(),
            locale=args.locale,
        )
        row = views.company_json(company, settings.mail_domain)
    if args.json:
        print(views.dumps(row))
    else:
        print(row["addresses"][0])
    return 0


def cmd_company_list(args: argparse.Namespace, ctx: Context) -> int:
    settings = ctx.settings
    app = ctx.app()
    with app.db.reader() as session:
        rows = [
            views.company_json(c, settings.mail_domain) for c in companies.list_companies(session)
        ]
    print(views.dumps(rows) if args.json else views.table(rows, ["slug", "name", "addresses"]))
    return 0


def cmd_company_rotate(args: argparse.Namespace, ctx: Context) -> int:
    settings = ctx.settings
    app = ctx.app()
    with app.db.session() as session:
        company = companies.get_company_by_slug(session, args.slug)
        agent = companies.rotate_agent_token(session, company, new_token(), app.clock.now())
        address = views.company_json(company, settings.mail_domain)["addresses"]
    print(address[0] if address else agent.token)
    return 0


# -- inbound --------------------------------------------------------------------------------


def cmd_inbound_list(args: argparse.Namespace, ctx: Context) -> int:
    app = ctx.app()
    with app.db.reader() as session:
        rows = [
            views.inbound_json(r)
            for r in inbound.list_inbound(session, status=args.status, limit=args.limit)
        ]
    columns = ["id", "status", "command", "rcpt_to", "reason"]
    print(views.dumps(rows) if args.json else views.table(rows, columns))
    return 0


def cmd_inbound_show(args: argparse.Namespace, ctx: Context) -> int:
    app = ctx.app()
    with app.db.reader() as session:
        row = inbound.get_inbound(session, args.id, with_raw=args.raw)
        if args.raw:
            sys.stdout.buffer.write(row.raw)
            return 0
        data = views.inbound_json(row)
    if args.json:
        print(views.dumps(data))
    else:
        for key, value in data.items():
            print(f"{key:15} {value if value not in (None, []) else '-'}")
    return 0


def cmd_inbound_retry(args: argparse.Namespace, ctx: Context) -> int:
    app = ctx.app()
    with app.db.session() as session:
        row = inbound.reset_for_retry(session, args.id)
        status = row.status
    if status != InboundStatus.RECEIVED:
        print(f"inbound {args.id} is already {status}; nothing to retry")
        return 0
    app.tasks.enqueue_inbound([args.id])
    print(f"inbound {args.id} queued again")
    return 0


def cmd_inject(args: argparse.Namespace, ctx: Context) -> int:
    settings = ctx.settings
    raw = Path(args.file).read_bytes() if args.file != "-" else sys.stdin.buffer.read()
    if len(raw) > settings.max_message_size:
        raise SettingsError(f"{args.file}: larger than KOLLEGAN_MAX_MESSAGE_SIZE")
    app = ctx.app()
    resolved = app.resolver.resolve(args.to)
    if resolved is None:
        raise SettingsError(f"--to {args.to!r} is not a live Kollegan address")
    stored = accept(
        app.db,
        raw,
        mail_from=args.mail_from if args.mail_from is not None else header_sender(raw),
        recipients=[resolved],
        source=Source.CLI,
        now=app.clock.now,
    )
    if args.now:
        for inbound_id in stored.new_ids:
            run_process_inbound(app.tasks.ctx, inbound_id)
        run_deliver_due(app.tasks.ctx)
    else:
        app.tasks.enqueue_inbound(stored.new_ids)
    with app.db.reader() as session:
        rows = [views.inbound_json(inbound.get_inbound(session, i)) for i in stored.ids]
    if args.json:
        print(views.dumps(rows))
    else:
        for row in rows:
            print(
                f"inbound {row['id']}: {row['status']}"
                + (f" ({row['reason']})" if row["reason"] else "")
            )
    return 0


def header_sender(raw: bytes) -> str:
    """The From address, standing in for the envelope sender a file does not have."""
    headers = BytesHeaderParser(policy=default).parsebytes(raw)
    return parseaddr(str(headers.get("From", "")))[1]


# -- meetings and outbox ---------------------------------------------------------------------


def cmd_calendar_check(args: argparse.Namespace, ctx: Context) -> int:
    """What Kollegan makes of each file: meetings, or a named refusal (nothing is stored)."""
    settings = ctx.settings
    start = args.since or SystemClock().now()
    window = (start, start + timedelta(days=args.days))
    refused = 0
    reports = []
    for name in args.files:
        report = check_file(
            Path(name),
            window,
            default_timezone=settings.default_timezone,
            mail_domain=settings.mail_domain,
        )
        refused += report.refusal is not None
        reports.append(report)
    if args.json:
        print(views.dumps([views.check_json(r) for r in reports]))
    else:
        for report in reports:
            print("\n".join(report.lines()))
        print(f"{len(reports)} file(s): {len(reports) - refused} understood, {refused} refused")
    return 0


def cmd_meetings_list(args: argparse.Namespace, ctx: Context) -> int:
    app = ctx.app()
    with app.db.reader() as session:
        rows = [views.meeting_json(m) for m in meetings.list_meetings(session, limit=args.limit)]
    columns = ["id", "start", "title", "organizer", "status"]
    print(views.dumps(rows) if args.json else views.table(rows, columns))
    return 0


def cmd_outbox_list(args: argparse.Namespace, ctx: Context) -> int:
    app = ctx.app()
    with app.db.reader() as session:
        rows = [
            views.outbound_json(r, _meeting_uid(session, r.meeting_id))
            for r in outbound.list_outbound(session, kind=args.kind, limit=args.limit)
        ]
    columns = ["id", "kind", "status", "to", "send_at", "subject"]
    print(views.dumps(rows) if args.json else views.table(rows, columns))
    return 0


def cmd_outbox_show(args: argparse.Namespace, ctx: Context) -> int:
    app = ctx.app()
    with app.db.reader() as session:
        row = outbound.get_outbound(session, args.id, with_raw=True)
        if args.raw:
            sys.stdout.buffer.write(row.raw or b"")
            return 0
        data = views.outbound_json(row, _meeting_uid(session, row.meeting_id))
        text = views.text_part(row.raw or b"")
    if args.json:
        print(views.dumps({**data, "text": text}))
    else:
        for key, value in data.items():
            print(f"{key:12} {value if value not in (None, []) else '-'}")
        print("\n" + text)
    return 0


def _meeting_uid(session: Session, meeting_id: int | None) -> str | None:
    if meeting_id is None:
        return None
    return meetings.get_meeting(session, meeting_id).uid


def cmd_demo(args: argparse.Namespace, ctx: Context) -> int:
    settings = ctx.settings
    return run_demo(settings, start_worker=start_worker, open_app=open_app)
