"""The Starlette application: portal (a stub until the portal issue), health, webhooks."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from core.errors import StoreUnavailableError
from store import migrate
from store.db import Database
from web.webhooks import MailgunEndpoint

LANGUAGES = ("sv", "en")


def pick_language(request: Request) -> str:
    """``?lang=`` first, then the browser's Accept-Language (by q-value), then Swedish."""
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked
    return preferred_language(request.headers.get("accept-language", "")) or "sv"


def preferred_language(header: str) -> str | None:
    """The language of ours the header likes best (RFC 9110 §12.5.4); the first on a tie."""
    best, best_q = None, 0.0
    for part in header.split(","):
        tag, *params = part.split(";")
        code = tag.strip().lower().split("-")[0]
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                quality = _quality(value)
        if code in LANGUAGES and quality > best_q:
            best, best_q = code, quality
    return best


def _quality(value: str) -> float:
    try:
        quality = float(value.strip())
    except ValueError:
        return 0.0
    return quality if 0.0 <= quality <= 1.0 else 0.0


def create_web_app(db: Database, mailgun: MailgunEndpoint) -> Starlette:
    pages = Environment(
        loader=PackageLoader("templates", "pages"), autoescape=select_autoescape(["html"])
    )

    async def index(request: Request) -> Response:
        language = pick_language(request)
        html = pages.get_template(f"index.{language}.html").render()
        headers = {"Content-Language": language, "Vary": "Accept-Language"}
        return HTMLResponse(html, headers=headers)

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

    return Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", health),
            Route("/webhooks/mailgun/mime", mailgun.handle, methods=["POST"]),
        ]
    )
