"""Pages of the portal: Jinja2 templates in ``templates/pages/<name>.<language>.html``, in the
language the reader asks for (``?lang=``, then Accept-Language, then Swedish)."""

from __future__ import annotations

import logging
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from core.errors import TokenExpiredError
from outbox.render import Formatter

log = logging.getLogger(__name__)

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


class Pages:
    def __init__(self) -> None:
        self._env = Environment(
            loader=PackageLoader("templates", "pages"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
        )

    def response(
        self, name: str, language: str, *, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        template = self._env.get_template(f"{name}.{language}.html")
        html = template.render(**context, language=language, fmt=Formatter(language))
        headers = {
            "Content-Language": language,
            "Vary": "Accept-Language",
            "Cache-Control": "no-store",  # pages behind signed links show live state
            "Referrer-Policy": "no-referrer",  # and their URLs are capabilities
        }
        return HTMLResponse(html, status_code=status_code, headers=headers)


def link_refusal(pages: Pages, language: str, what: str, error: Exception) -> HTMLResponse:
    """The page for a signed link that does not hold: 410 when expired, 404 when forged.
    Logged without the token."""
    expired = isinstance(error, TokenExpiredError)
    log.warning(
        "%s link refused: %s", what, "expired" if expired else "the signature does not verify"
    )
    return pages.response(
        "link-problem",
        language,
        status_code=410 if expired else 404,
        problem="expired" if expired else "invalid",
    )
