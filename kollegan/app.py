"""The composition root: builds every part from the settings and wires them together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.connectors import Connector, RecordingConnector
from core.clock import Clock, SystemClock
from core.errors import SettingsError
from core.links import Links
from core.settings import Settings
from core.signing import TokenSigner
from inbox.addressing import RecipientResolver
from inbox.ingest import Accepted
from inbox.smtp import IntakeHandler, SmtpIntake, SmtpOptions
from kollegan.commands import build_commands, build_jobs
from outbox.render import Renderer
from outbox.send import Sender, make_sender
from scheduler.queue import make_huey
from scheduler.tasks import TaskContext, Tasks, register_tasks
from store.db import Database
from web.app import create_web_app
from web.portal import Portal
from web.webhooks import MailgunEndpoint


@dataclass
class App:
    settings: Settings
    db: Database
    clock: Clock
    sender: Sender
    renderer: Renderer
    resolver: RecipientResolver
    tasks: Tasks
    links: Links
    extra: dict[str, Any] = field(default_factory=dict)

    def on_stored(self, accepted: Accepted) -> None:
        self.tasks.enqueue_inbound(accepted.new_ids)

    def on_stored_many(self, batch: Sequence[Accepted]) -> None:
        """A group commit's messages: their processing is queued together."""
        self.tasks.enqueue_inbound([i for accepted in batch for i in accepted.new_ids])

    def smtp_intake(self, *, host: str | None = None, port: int | None = None) -> SmtpIntake:
        """The SMTP listener; ``host``/``port`` override the settings (0: any free port)."""
        handler = IntakeHandler(
            self.db,
            self.resolver,
            hostname=self.settings.mail_domain,
            max_recipients=self.settings.smtp_max_recipients,
            now=self.clock.now,
            on_stored=self.on_stored_many,
        )
        options = SmtpOptions(
            host=self.settings.smtp_host if host is None else host,
            port=self.settings.smtp_port if port is None else port,
            hostname=self.settings.mail_domain,
            max_message_size=self.settings.max_message_size,
            timeout=self.settings.smtp_timeout,
            max_recipients=self.settings.smtp_max_recipients,
        )
        return SmtpIntake(handler, options)

    def web_app(self) -> Any:
        endpoint = MailgunEndpoint(
            db=self.db,
            resolver=self.resolver,
            signing_key=self.settings.mailgun_signing_key,
            max_age=self.settings.mailgun_max_age,
            max_message_size=self.settings.max_message_size,
            now=self.clock.now,
            on_stored=self.on_stored,
        )
        portal = Portal(
            db=self.db,
            links=self.links,
            now=self.clock.now,
            commands=self.tasks.ctx.commands,
            mail_domain=self.settings.mail_domain,
            default_timezone=self.settings.default_timezone,
            after_change=self.tasks.deliver_due,
        )
        return create_web_app(self.db, endpoint, portal)

    def close(self) -> None:
        self.db.dispose()


def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    sender: Sender | None = None,
    huey: Any = None,
    connector: Connector | None = None,
) -> App:
    clock = clock or SystemClock()
    db = Database(settings.effective_database_url)
    renderer = Renderer()
    sender = sender or make_sender(
        settings.outbox_url, settings.maildir_path, local_hostname=settings.mail_domain
    )
    if huey is None:
        huey = make_huey(redis_url=settings.redis_url, queue_path=settings.queue_path)
    if not settings.secret_key:  # load_settings makes one; a hand-built Settings must say
        raise SettingsError("KOLLEGAN_SECRET_KEY is required: links and reply addresses are signed")
    links = Links(
        settings.effective_public_url, settings.mail_domain, TokenSigner(settings.secret_key)
    )
    context = TaskContext(
        db=db,
        clock=clock,
        sender=sender,
        commands=build_commands(settings, renderer, links),
        mail_domain=settings.mail_domain,
        webhook_window=settings.mailgun_max_age,
        jobs=build_jobs(settings, renderer, connector or RecordingConnector()),
    )
    tasks = register_tasks(huey, context)
    resolver = RecipientResolver(db, settings.mail_domain)
    return App(settings, db, clock, sender, renderer, resolver, tasks, links)
