"""The Starlette application: portal (a stub until the portal issue, but for the pages behind
signed links), health, webhooks."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.errors import StoreUnavailableError
from store import migrate
from store.db import Database
from web.approval_page import approval_routes
from web.meeting_page import meeting_routes
from web.pages import LANGUAGES, Pages, pick_language, preferred_language
from web.portal import Portal
from web.webhooks import MailgunEndpoint

__all__ = ["LANGUAGES", "create_web_app", "pick_language", "preferred_language"]


def create_web_app(
    db: Database, mailgun: MailgunEndpoint, portal: Portal | None = None
) -> Starlette:
    """The app; ``portal`` adds the pages behind signed links (approvals, meetings)."""
    pages = Pages()

    async def index(request: Request) -> Response:
        return pages.response("index", pick_language(request))

    head = migrate.head_revision(db)

    def database_state() -> str:
        db.ping()
        return "up" if migrate.current_revision(db) == head else "not migrated"

    async def health(_request: Request) -> Response:
        try:
            state = await run_in_threadpool(database_state)
        except StoreUnavailableError:
            state = "down"
        if state != "up":
            return JSONResponse({"status": "unavailable", "database": state}, status_code=503)
        return JSONResponse({"status": "ok", "database": state})

    routes = [
        Route("/", index),
        Route("/healthz", health),
        Route("/webhooks/mailgun/mime", mailgun.handle, methods=["POST"]),
    ]
    if portal is not None:
        routes += approval_routes(portal, pages) + meeting_routes(portal, pages)
    return Starlette(routes=routes)
