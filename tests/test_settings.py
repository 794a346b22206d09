"""Settings: the defaults PRODUCT.md promises, one clear line for each wrong value, the secret key.

Every test runs in an empty temporary directory (no ``.env`` of a developer's), and conftest
clears the ``KOLLEGAN_*`` variables.
"""

from __future__ import annotations

import stat
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from core.errors import SettingsError
from core.settings import (
    SECRET_FILE,
    Settings,
    describe_settings,
    load_settings,
    read_or_make_secret,
)

SECRET = "s" * 40
EVERYWHERE = "0.0.0.0"  # noqa: S104 - a value to read, nothing binds here

# PRODUCT.md, "Configuration a user can rely on": these names are the product's interface.
PRODUCT_TABLE = [
    "KOLLEGAN_DATA_DIR",
    "KOLLEGAN_DATABASE_URL",
    "KOLLEGAN_REDIS_URL",
    "KOLLEGAN_MAIL_DOMAIN",
    "KOLLEGAN_SMTP_HOST",
    "KOLLEGAN_SMTP_PORT",
    "KOLLEGAN_WEB_HOST",
    "KOLLEGAN_WEB_PORT",
    "KOLLEGAN_OUTBOX_URL",
    "KOLLEGAN_SECRET_KEY",
    "KOLLEGAN_MAILGUN_SIGNING_KEY",
]
# KOLLEGAN_LLM_BASE_URL, _API_KEY and _MODEL join this list with the agent-core issue, which
# adds the model engine that reads them (README: "Configuration").


@pytest.fixture(autouse=True)
def _in_empty_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def failure(monkeypatch: pytest.MonkeyPatch, **variables: str) -> str:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    assert message.strip() == message
    return message


# -- the product's table --------------------------------------------------------------------


@pytest.mark.parametrize("variable", PRODUCT_TABLE)
def test_every_variable_of_the_product_table_exists(variable: str) -> None:
    assert variable in {row[0] for row in describe_settings()}


def test_every_setting_has_help_text() -> None:
    assert all(help_text for _variable, _default, help_text in describe_settings())


def test_the_defaults_are_those_of_the_product_table(tmp_path: Path) -> None:
    settings = load_settings()

    assert settings.data_dir == Path("./var")
    assert settings.database_url is None
    assert settings.effective_database_url == f"sqlite:///{(tmp_path / 'var' / 'kollegan.db')}"
    assert settings.redis_url is None
    assert settings.queue_path == Path("var/queue.db")  # the SQLite-backed Huey queue
    assert settings.is_embedded
    assert settings.mail_domain == "kollegan.localhost"
    assert (settings.smtp_host, settings.smtp_port) == ("127.0.0.1", 2525)
    assert (settings.web_host, settings.web_port) == ("127.0.0.1", 8000)
    assert settings.outbox_url is None
    assert settings.maildir_path == Path("var/outbox")
    assert settings.mailgun_signing_key is None
    assert settings.secret_key == (tmp_path / "var" / SECRET_FILE).read_text().strip()


def test_each_variable_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "KOLLEGAN_DATA_DIR": "/srv/kollegan",
        "KOLLEGAN_DATABASE_URL": "postgresql+psycopg://kollegan@db.internal/kollegan",
        "KOLLEGAN_REDIS_URL": "redis://queue.internal:6379/0",
        "KOLLEGAN_MAIL_DOMAIN": "Kollegan.Example.",
        "KOLLEGAN_SMTP_HOST": "192.0.2.25",
        "KOLLEGAN_SMTP_PORT": "25",
        "KOLLEGAN_WEB_HOST": "::",
        "KOLLEGAN_WEB_PORT": "443",
        "KOLLEGAN_OUTBOX_URL": "smtps://relay.example:465",
        "KOLLEGAN_SECRET_KEY": SECRET,
        "KOLLEGAN_MAILGUN_SIGNING_KEY": "key-123",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)

    settings = load_settings()

    assert settings.data_dir == Path("/srv/kollegan")
    assert settings.effective_database_url == values["KOLLEGAN_DATABASE_URL"]
    assert settings.redis_url == values["KOLLEGAN_REDIS_URL"]
    assert settings.mail_domain == "kollegan.example"
    assert (settings.smtp_host, settings.smtp_port) == ("192.0.2.25", 25)
    assert (settings.web_host, settings.web_port) == ("::", 443)
    assert settings.outbox_url == values["KOLLEGAN_OUTBOX_URL"]
    assert settings.secret_key == SECRET
    assert settings.mailgun_signing_key == "key-123"
    assert not settings.is_embedded


def test_a_dot_env_file_is_read_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        "KOLLEGAN_MAIL_DOMAIN=from-dotenv.example\nKOLLEGAN_SMTP_PORT=2526\n", encoding="utf-8"
    )
    monkeypatch.setenv("KOLLEGAN_SMTP_PORT", "2600")
    settings = load_settings()
    assert settings.mail_domain == "from-dotenv.example"
    assert settings.smtp_port == 2600


def test_secrets_stay_out_of_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOLLEGAN_SECRET_KEY", SECRET)
    monkeypatch.setenv("KOLLEGAN_MAILGUN_SIGNING_KEY", "key-very-secret")
    text = repr(load_settings())
    assert SECRET not in text
    assert "key-very-secret" not in text


# -- wrong values: one line naming the variable ---------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("KOLLEGAN_SMTP_PORT", "0"),
        ("KOLLEGAN_SMTP_PORT", "65536"),
        ("KOLLEGAN_SMTP_PORT", "smtp"),
        ("KOLLEGAN_WEB_PORT", "-1"),
        ("KOLLEGAN_WEB_PORT", "80.5"),
        ("KOLLEGAN_DATABASE_URL", "mysql://kollegan@db/kollegan"),
        ("KOLLEGAN_DATABASE_URL", "postgres://kollegan@db/kollegan"),
        ("KOLLEGAN_DATABASE_URL", "postgresql+psycopg2://kollegan@db/kollegan"),
        ("KOLLEGAN_DATABASE_URL", "sqlitedb:///x.db"),
        ("KOLLEGAN_DATABASE_URL", "kollegan.db"),
        ("KOLLEGAN_REDIS_URL", "http://queue.internal:6379"),
        ("KOLLEGAN_REDIS_URL", "queue.internal:6379"),
        ("KOLLEGAN_OUTBOX_URL", "ftp://relay.example"),
        ("KOLLEGAN_OUTBOX_URL", "relay.example:587"),
        ("KOLLEGAN_SECRET_KEY", "too-short"),
        ("KOLLEGAN_MAIL_DOMAIN", "localhost"),
        ("KOLLEGAN_MAIL_DOMAIN", "kollegan example"),
        ("KOLLEGAN_MAIL_DOMAIN", "-kollegan.example"),
        ("KOLLEGAN_MAIL_DOMAIN", "kollegan-.example"),
        ("KOLLEGAN_MAIL_DOMAIN", "kollegan..example"),
        ("KOLLEGAN_MAIL_DOMAIN", "under_score.example"),
        ("KOLLEGAN_MAIL_DOMAIN", "kollegän.example"),
        ("KOLLEGAN_MAIL_DOMAIN", ("a" * 63 + ".") * 4 + "se"),
        ("KOLLEGAN_MAIL_DOMAIN", "x" * 64 + ".example"),
        ("KOLLEGAN_PREBRIEF_LEAD_TIME", "two hours"),
        ("KOLLEGAN_PREBRIEF_LEAD_TIME", "-PT1H"),
        ("KOLLEGAN_PREBRIEF_LEAD_TIME", "-60"),
        ("KOLLEGAN_MAILGUN_MAX_AGE", "0"),
        ("KOLLEGAN_MAILGUN_MAX_AGE", "10 minutes"),
        ("KOLLEGAN_SMTP_TIMEOUT", "0"),
        ("KOLLEGAN_SMTP_TIMEOUT", "inf"),
        ("KOLLEGAN_SMTP_MAX_RECIPIENTS", "0"),
        ("KOLLEGAN_MAX_MESSAGE_SIZE", "25MB"),
        ("KOLLEGAN_WORKER_THREADS", "0"),
        ("KOLLEGAN_DEFAULT_LOCALE", "de"),
        ("KOLLEGAN_DEFAULT_TIMEZONE", "Mars/Olympus_Mons"),
        ("KOLLEGAN_DEFAULT_TIMEZONE", "/etc/passwd"),
        ("KOLLEGAN_LOG_LEVEL", "TRACE"),
        ("KOLLEGAN_PUBLIC_URL", "kollegan.example.com"),
        ("KOLLEGAN_PUBLIC_URL", "ftp://kollegan.example.com"),
        ("KOLLEGAN_PUBLIC_URL", "https://"),
        ("KOLLEGAN_PUBLIC_URL", "https://kollegan.example.com:port"),
        ("KOLLEGAN_PUBLIC_URL", "https://kollegan.example.com/?x=1"),
        ("KOLLEGAN_PUBLIC_URL", "https://kollegan.example.com/#top"),
        ("KOLLEGAN_PUBLIC_URL", "https://user:pw@kollegan.example.com"),
        ("KOLLEGAN_PUBLIC_URL", "https://kollegan example.com"),
    ],
)
def test_a_wrong_value_fails_with_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    # PostgreSQL and Redis need a key; give one so the error is about the value under test
    if variable != "KOLLEGAN_SECRET_KEY":
        monkeypatch.setenv("KOLLEGAN_SECRET_KEY", SECRET)
    message = failure(monkeypatch, **{variable: value})
    assert message.startswith(variable + ": ")


def test_a_dot_env_that_is_not_utf8_fails_with_one_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes("KOLLEGAN_MAIL_DOMAIN=kollegän.example\n".encode("latin-1"))
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "\n" not in str(caught.value)
    assert ".env" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("PT2H", timedelta(hours=2)),
        ("P1D", timedelta(days=1)),
        ("PT0S", timedelta(0)),
        ("7200", timedelta(hours=2)),  # plain seconds, as the help text says
        ("90.5", timedelta(seconds=90.5)),
        ("02:30:00", timedelta(hours=2, minutes=30)),
    ],
)
def test_durations_are_seconds_or_iso_8601(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: timedelta
) -> None:
    monkeypatch.setenv("KOLLEGAN_PREBRIEF_LEAD_TIME", value)
    assert load_settings().prebrief_lead_time == expected


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"KOLLEGAN_WEB_HOST": EVERYWHERE, "KOLLEGAN_WEB_PORT": "8080"}, "http://localhost:8080"),
        ({"KOLLEGAN_WEB_HOST": "::1"}, "http://[::1]:8000"),
        ({"KOLLEGAN_PUBLIC_URL": "https://kollegan.example.com/"}, "https://kollegan.example.com"),
        (
            {"KOLLEGAN_PUBLIC_URL": " https://x.example:8443/kollegan "},
            "https://x.example:8443/kollegan",
        ),
        ({"KOLLEGAN_PUBLIC_URL": ""}, "http://127.0.0.1:8000"),
    ],
)
def test_links_point_at_the_public_url_or_the_portal_itself(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], expected: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert load_settings().effective_public_url == expected


def test_the_mailgun_window_in_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOLLEGAN_MAILGUN_MAX_AGE", "600")
    assert load_settings().mailgun_max_age == timedelta(minutes=10)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////var/lib/kollegan/kollegan.db",
        "postgresql://kollegan@db/kollegan",  # SQLAlchemy 2.1 picks psycopg (3) for this
        "postgresql+psycopg://kollegan:pw@db:5432/kollegan",
    ],
)
def test_database_urls_kollegan_can_open_are_accepted(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("KOLLEGAN_SECRET_KEY", SECRET)
    monkeypatch.setenv("KOLLEGAN_DATABASE_URL", url)
    assert load_settings().effective_database_url == url


def test_overrides_name_the_variable_too() -> None:
    with pytest.raises(SettingsError, match=r"^KOLLEGAN_SMTP_PORT: "):
        load_settings(smtp_port=70000)


# -- the secret key -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variables",
    [
        {"KOLLEGAN_DATABASE_URL": "postgresql+psycopg://kollegan@db/kollegan"},
        {"KOLLEGAN_REDIS_URL": "redis://queue.internal:6379/0"},
    ],
)
def test_a_secret_key_is_required_with_postgresql_or_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]
) -> None:
    message = failure(monkeypatch, **variables)
    assert message.startswith("KOLLEGAN_SECRET_KEY ")
    assert not (tmp_path / "var" / SECRET_FILE).exists()  # no key made behind the user's back


def test_an_empty_secret_key_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOLLEGAN_REDIS_URL", "redis://queue.internal:6379/0")
    assert "KOLLEGAN_SECRET_KEY" in failure(monkeypatch, KOLLEGAN_SECRET_KEY="")


def test_a_given_secret_key_is_used_and_none_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOLLEGAN_SECRET_KEY", SECRET)
    assert load_settings().secret_key == SECRET
    assert not (tmp_path / "var").exists()


def test_embedded_a_key_is_made_once_with_mode_0600_and_reused(tmp_path: Path) -> None:
    first = load_settings()
    path = tmp_path / "var" / SECRET_FILE

    assert first.secret_key is not None
    assert len(first.secret_key) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_settings().secret_key == first.secret_key
    assert sorted(p.name for p in path.parent.iterdir()) == [SECRET_FILE]  # no drafts left


def test_each_data_dir_has_its_own_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOLLEGAN_DATA_DIR", str(tmp_path / "one"))
    one = load_settings().secret_key
    monkeypatch.setenv("KOLLEGAN_DATA_DIR", str(tmp_path / "two"))
    assert load_settings().secret_key != one


def test_a_key_already_in_the_data_dir_is_kept(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / SECRET_FILE).write_text(SECRET + "\n")
    assert load_settings().secret_key == SECRET


def test_a_key_file_too_short_is_refused_not_replaced(tmp_path: Path) -> None:
    """Replacing it would silently invalidate every signed link already sent."""
    (tmp_path / "var").mkdir()
    path = tmp_path / "var" / SECRET_FILE
    path.write_text("short\n")
    with pytest.raises(SettingsError, match="KOLLEGAN_SECRET_KEY") as caught:
        load_settings()
    assert "\n" not in str(caught.value)
    assert path.read_text() == "short\n"


def test_processes_starting_together_all_get_the_one_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    start = threading.Barrier(16)
    keys: list[str] = []
    errors: list[BaseException] = []

    def start_process() -> None:
        start.wait()
        try:
            keys.append(read_or_make_secret(data_dir))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start_process) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(keys) == 16
    assert set(keys) == {(data_dir / SECRET_FILE).read_text().strip()}


def test_an_unwritable_data_dir_fails_with_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    with pytest.raises(SettingsError, match=r"^KOLLEGAN_DATA_DIR: ") as caught:
        load_settings(data_dir=blocker / "var")
    assert "\n" not in str(caught.value)


def test_settings_are_frozen() -> None:
    settings = Settings(_env_file=None, secret_key=SECRET)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="frozen"):
        settings.smtp_port = 25
