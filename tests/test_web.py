"""The portal's front page in Swedish and English, and the health check with the database up
and down — through the real Starlette app over ASGI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from core.clock import FixedClock
from kollegan.app import App, build_app
from store.db import Database
from tests.conftest import make_settings
from web.app import LANGUAGES, preferred_language

SWEDISH = "Kollegan är en AI-kollega som bor i din e-post."
ENGLISH = "Kollegan is an AI colleague that lives in your e-mail."


@pytest.fixture
def client(sqlite_db: Database, tmp_path: Path, clock: FixedClock) -> Iterator[TestClient]:
    """The front page needs no database; one (SQLite) is enough to build the app."""
    from huey import MemoryHuey

    app = build_app(make_settings(tmp_path, sqlite_db), clock=clock, huey=MemoryHuey(True))
    with TestClient(app.web_app()) as test_client:
        yield test_client
    app.close()


@pytest.mark.parametrize(
    ("url", "accept_language", "language"),
    [
        ("/", None, "sv"),
        ("/", "sv-SE,sv;q=0.9", "sv"),
        ("/", "en-US,en;q=0.9", "en"),
        ("/", "EN-gb", "en"),
        ("/", "de-DE,de;q=0.9,en;q=0.8", "en"),
        ("/", "de-DE, fr", "sv"),
        ("/", "sv;q=0.1, en;q=0.9", "en"),
        ("/", "en;q=0, sv;q=0.5", "sv"),
        ("/", "en;q=0", "sv"),
        ("/", "*", "sv"),
        ("/", "en;q=oops, sv", "sv"),
        ("/?lang=en", "sv-SE", "en"),
        ("/?lang=sv", "en-US", "sv"),
        ("/?lang=de", "en-US", "en"),
        ("/?lang=", None, "sv"),
    ],
)
def test_front_page_language(
    client: TestClient, url: str, accept_language: str | None, language: str
) -> None:
    headers = {"Accept-Language": accept_language} if accept_language is not None else {}
    response = client.get(url, headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-language"] == language
    assert "Accept-Language" in response.headers["vary"]
    assert f'<html lang="{language}">' in response.text
    assert (SWEDISH if language == "sv" else ENGLISH) in response.text
    assert (ENGLISH if language == "sv" else SWEDISH) not in response.text


def test_front_page_links_to_the_other_language(client: TestClient) -> None:
    assert 'href="?lang=en"' in client.get("/?lang=sv").text
    assert 'href="?lang=sv"' in client.get("/?lang=en").text


@given(st.text(max_size=200))
def test_any_accept_language_header_gives_one_of_ours_or_none(header: str) -> None:
    assert preferred_language(header) in (*LANGUAGES, None)


def test_healthz_up(app: App) -> None:
    with TestClient(app.web_app()) as client:
        response = client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok", "database": "up"})


def test_healthz_when_the_database_is_down(tmp_path: Path, clock: FixedClock) -> None:
    from huey import MemoryHuey

    down = "postgresql+psycopg://postgres@127.0.0.1:1/x"  # nothing listens on port 1
    app = build_app(make_settings(tmp_path, database_url=down), clock=clock, huey=MemoryHuey(True))
    try:
        with TestClient(app.web_app()) as client:
            response = client.get("/healthz")
    finally:
        app.close()

    assert (response.status_code, response.json()) == (
        503,
        {"status": "unavailable", "database": "down"},
    )


def test_healthz_when_the_database_is_not_migrated(tmp_path: Path, clock: FixedClock) -> None:
    from huey import MemoryHuey

    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    app = build_app(make_settings(tmp_path, database_url=empty), clock=clock, huey=MemoryHuey(True))
    try:
        with TestClient(app.web_app()) as client:
            response = client.get("/healthz")
    finally:
        app.close()

    assert (response.status_code, response.json()) == (
        503,
        {"status": "unavailable", "database": "not migrated"},
    )
