"""``kollegan serve``: SMTP intake, portal/webhooks and the task worker in one process.

SIGINT or SIGTERM stops it gracefully: the listeners close, running tasks finish. A SIGKILL
loses nothing either — every acknowledged message is in the database and the start-up
recovery enqueues whatever was still waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterator

import uvicorn
from huey.consumer import Consumer

from core.errors import SettingsError
from kollegan.app import App
from store import migrate

log = logging.getLogger("kollegan")


class EmbeddedConsumer(Consumer):  # type: ignore[misc]
    """Huey's consumer without its own signal handlers: the serving process owns those."""

    def _set_signal_handlers(self) -> None:
        return None


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the event loop handles signals instead
        yield


def prepare_database(app: App) -> None:
    """Embedded: migrate to head. Otherwise only check, so many front ends can start at once."""
    if app.settings.is_embedded:
        migrate.upgrade(app.db)
        return
    current, head = migrate.current_revision(app.db), migrate.head_revision(app.db)
    if current != head:
        raise SettingsError(
            f"the database is at revision {current or 'none'}, this version needs {head}: "
            "run 'kollegan db upgrade' first"
        )


def start_worker(app: App, threads: int) -> EmbeddedConsumer:
    consumer = EmbeddedConsumer(
        app.tasks.huey,
        workers=threads,
        worker_type="thread",
        periodic=True,
        initial_delay=0.05,
        max_delay=1.0,
        check_worker_health=True,
    )
    consumer.start()
    recovered = app.tasks.recover()
    if recovered:
        log.info("recovered %d stored message(s) that were still waiting", recovered)
    return consumer


def serve(
    app: App,
    *,
    smtp: bool = True,
    web: bool = True,
    worker: bool = True,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    prepare_database(app)
    consumer = start_worker(app, app.settings.worker_threads) if worker else None
    try:
        asyncio.run(_listen(app, smtp=smtp, web=web, on_ready=on_ready))
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)
        app.close()


async def _listen(
    app: App, *, smtp: bool, web: bool, on_ready: Callable[[str], None] | None
) -> None:
    settings = app.settings
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    intake = app.smtp_intake() if smtp else None
    if intake is not None:
        try:
            await intake.start()
        except OSError as exc:
            raise SettingsError(
                f"KOLLEGAN_SMTP_PORT: cannot listen on {settings.smtp_host}:"
                f"{settings.smtp_port}: {exc.strerror}"
            ) from None
    server: _QuietServer | None = None
    web_task: asyncio.Task[None] | None = None
    if web:
        config = uvicorn.Config(
            app.web_app(),
            host=settings.web_host,
            port=settings.web_port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        server = _QuietServer(config)
        web_task = asyncio.create_task(server.serve())
        while not server.started and not web_task.done():
            await asyncio.sleep(0.02)
        if web_task.done():
            with contextlib.suppress(SystemExit):  # uvicorn exits when it cannot bind
                web_task.result()
            raise SettingsError(
                f"KOLLEGAN_WEB_PORT: cannot listen on {settings.web_host}:{settings.web_port}"
            )
    parts = []
    if intake is not None:
        parts.append(f"SMTP on {settings.smtp_host}:{intake.port}")
    if web:
        parts.append(f"portal on http://{settings.web_host}:{settings.web_port}")
    if on_ready is not None:
        on_ready(", ".join(parts) or "worker only")
    await stop.wait()
    log.info("stopping")
    if server is not None and web_task is not None:
        server.should_exit = True
        await web_task
    if intake is not None:
        await intake.stop()
