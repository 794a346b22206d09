"""The Starlette application: portal (a stub until the portal issue), health, webhooks."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from core.errors import StoreUnavailableError
from store.db import Database
from web.webhooks import MailgunEndpoint

LANGUAGES = ("sv", "en")


def pick_language(request: Request) -> str:
    """``?lang=`` first, then the browser's Accept-Language, then Swedish."""
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "sv"


def create_web_app(db: Database, mailgun: MailgunEndpoint) -> Starlette:
    pages = Environment(
        loader=PackageLoader("templates", "pages"), autoescape=select_autoescape(["html"])
    )

    async def index(request: Request) -> Response:
        language = pick_language(request)
        html = pages.get_template(f"index.{language}.html").render()
        return HTMLResponse(html, headers={"Content-Language": language})

    async def health(_request: Request) -> Response:
        try:
            await run_in_threadpool(db.ping)
        except StoreUnavailableError:
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "up"})

    return Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", health),
            Route("/webhooks/mailgun/mime", mailgun.handle, methods=["POST"]),
        ]
    )
