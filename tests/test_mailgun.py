"""The Mailgun inbound webhook: signature properties, the 2013 captures, and end to end.

The captures in ``../shared/corpus/mailgun/`` (beside the checkout; see its FORMAT.md) are read
in place and replayed through the real Starlette app over ASGI (``TestClient``).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from core.clock import FixedClock
from core.errors import ParseError, SignatureError
from core.settings import Settings
from core.types import InboundStatus, MeetingStatus, Source
from inbox.mailgun import Refusal, SignedFields, is_valid_signature, signature_for, verify
from kollegan.app import App, build_app
from kollegan.samples import sample_invitation
from store import inbound, meetings, outbound
from store.db import Database
from tests.conftest import CORPUS as SHARED_CORPUS
from tests.conftest import MAIL_DOMAIN, NOW, make_settings
from tests.support import create_company, maildir_messages, settle, text_body
from web.forms import parse_form

CORPUS = SHARED_CORPUS / "mailgun"
ENDPOINT = "/webhooks/mailgun/mime"
KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
WINDOW = timedelta(minutes=10)  # the default KOLLEGAN_MAILGUN_MAX_AGE
URLENCODED = "application/x-www-form-urlencoded"
ORGANIZER = "anna@acme.example"

# -- 1. the signature, as properties --------------------------------------------------------

timestamps = st.integers(min_value=0, max_value=2**33).map(str)
tokens = st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=64)
keys = st.text(min_size=1, max_size=80)
ascii_chars = st.characters(min_codepoint=0, max_codepoint=127)


@given(key=keys, timestamp=timestamps, token=tokens)
def test_signature_verifies_when_right(key: str, timestamp: str, token: str) -> None:
    signature = signature_for(key, timestamp, token)
    assert re.fullmatch(r"[0-9a-f]{64}", signature)
    assert is_valid_signature(key, SignedFields(timestamp, token, signature))


@given(
    key=keys,
    timestamp=timestamps,
    token=tokens,
    field=st.sampled_from(["timestamp", "token", "signature"]),
    data=st.data(),
)
def test_any_one_byte_change_fails(
    key: str, timestamp: str, token: str, field: str, data: st.DataObject
) -> None:
    values = {"timestamp": timestamp, "token": token}
    values["signature"] = signature_for(key, timestamp, token)
    original = values[field]
    index = data.draw(st.integers(min_value=0, max_value=len(original) - 1), label="index")
    byte = data.draw(ascii_chars.filter(lambda c: c != original[index]), label="byte")
    values[field] = original[:index] + byte + original[index + 1 :]
    fields = SignedFields(values["timestamp"], values["token"], values["signature"])
    assert not is_valid_signature(key, fields)
    with pytest.raises(SignatureError):
        verify(key, _as_form(fields), now=_at(timestamp), max_age=WINDOW)


@given(key=keys, other=keys, timestamp=timestamps, token=tokens)
def test_another_key_fails(key: str, other: str, timestamp: str, token: str) -> None:
    assume(key != other)
    fields = SignedFields(timestamp, token, signature_for(key, timestamp, token))
    assert not is_valid_signature(other, fields)


@given(token=tokens.filter(lambda t: t[0].isdigit() and len(t) > 1))
def test_moving_a_character_across_the_unseparated_fields_is_refused(token: str) -> None:
    """Mailgun signs ``timestamp + token`` with no separator, so shifting a character from
    one field to the other keeps the signature valid; freshness must refuse it."""
    timestamp = str(int(NOW.timestamp()))
    signature = signature_for(KEY, timestamp, token)
    for shifted in (
        SignedFields(timestamp + token[0], token[1:], signature),
        SignedFields(timestamp[:-1], timestamp[-1] + token, signature),
    ):
        assert is_valid_signature(KEY, shifted)  # the format's weakness
        with pytest.raises(SignatureError, match=Refusal.STALE.value):
            verify(KEY, _as_form(shifted), now=NOW, max_age=WINDOW)


@given(offset=st.integers(min_value=-(10**6), max_value=10**6))
def test_freshness_window_is_inclusive_both_ways(offset: int) -> None:
    timestamp = str(int(NOW.timestamp()) + offset)
    form = _as_form(SignedFields(timestamp, "t0ken", signature_for(KEY, timestamp, "t0ken")))
    if abs(offset) <= WINDOW.total_seconds():
        assert verify(KEY, form, now=NOW, max_age=WINDOW).token == "t0ken"
    else:
        with pytest.raises(SignatureError, match=Refusal.STALE.value):
            verify(KEY, form, now=NOW, max_age=WINDOW)


@pytest.mark.parametrize(
    "signature",
    ["", "é" * 64, "\udce9" * 64, "0" * 129, "xxx"],
    ids=["empty", "non-ascii", "lone-surrogate", "too-long", "short"],
)
def test_odd_signatures_are_refused_not_crashed_on(signature: str) -> None:
    timestamp = str(int(NOW.timestamp()))
    fields = SignedFields(timestamp, "tok", signature)
    assert not is_valid_signature(KEY, fields)
    with pytest.raises(SignatureError):
        verify(KEY, _as_form(fields), now=NOW, max_age=WINDOW)


@pytest.mark.parametrize("missing", ["timestamp", "token", "signature"])
def test_missing_field_is_unsigned(missing: str) -> None:
    timestamp = str(int(NOW.timestamp()))
    form = dict(_as_form(SignedFields(timestamp, "tok", signature_for(KEY, timestamp, "tok"))))
    del form[missing]
    with pytest.raises(SignatureError, match=Refusal.UNSIGNED.value):
        verify(KEY, form, now=NOW, max_age=WINDOW)


def _as_form(fields: SignedFields) -> dict[str, str]:
    return {"timestamp": fields.timestamp, "token": fields.token, "signature": fields.signature}


def _at(timestamp: str) -> datetime:
    return datetime.fromtimestamp(int(timestamp), UTC)


# -- the form, read as the bytes sent --------------------------------------------------------

field_names = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=20)
form_pairs = st.lists(st.tuples(field_names, st.binary(max_size=300)), max_size=12)
BOUNDARY = b"kollegan-7f3a9c0e-boundary"


@given(pairs=form_pairs)
def test_urlencoded_form_round_trips_bytes(pairs: list[tuple[str, bytes]]) -> None:
    assert parse_form(URLENCODED, urlencode(pairs).encode("ascii")) == _first_values(pairs)


@given(pairs=form_pairs)
def test_multipart_form_round_trips_bytes_and_leaves_files_out(
    pairs: list[tuple[str, bytes]],
) -> None:
    assume(not any(b"--" + BOUNDARY in value for _, value in pairs))
    body = b"".join(
        b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
        % (BOUNDARY, name.encode(), value)
        for name, value in pairs
    )
    body += (
        b'--%s\r\nContent-Disposition: form-data; name="attachment-1"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nfile\r\n--%s--\r\n" % (BOUNDARY, BOUNDARY)
    )
    content_type = f"multipart/form-data; boundary={BOUNDARY.decode()}"
    expected = {k: v for k, v in _first_values(pairs).items() if k != "attachment-1"}
    assert parse_form(content_type, body) == expected


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"--x\r\n"),  # no boundary
        ("multipart/form-data; boundary=x", b"garbage without any boundary"),
        (URLENCODED, b"&".join(b"f%d=1" % n for n in range(2000))),  # too many fields
    ],
    ids=["no-boundary", "no-parts", "too-many-fields"],
)
def test_unreadable_forms_raise(content_type: str, body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_form(content_type, body)


def test_other_content_types_have_no_fields() -> None:
    assert parse_form("application/json", b'{"token": "x"}') == {}
    assert parse_form("", b"token=x") == {}


def _first_values(pairs: Iterable[tuple[str, bytes]]) -> dict[str, bytes]:
    first: dict[str, bytes] = {}
    for name, value in pairs:
        first.setdefault(name, value)
    return first


# -- 2. the FORMAT.md test vector and the 2013 captures -------------------------------------


@dataclass(frozen=True)
class Capture:
    name: str
    content_type: str
    body: bytes

    @property
    def is_urlencoded(self) -> bool:
        return self.content_type.startswith(URLENCODED)

    def fields(self) -> dict[str, str]:
        """The text fields (first value of a repeated name), parsed by the standard library."""
        if self.is_urlencoded:
            pairs = parse_qsl(self.body.decode("ascii"), keep_blank_values=True)
        else:
            head = b"Content-Type: " + self.content_type.encode() + b"\r\n\r\n"
            form: Any = BytesParser(policy=HTTP).parsebytes(head + self.body)
            pairs = [
                (part.get_param("name", header="content-disposition"), part.get_content())
                for part in form.iter_parts()
                if not part.get_filename()
            ]
        found: dict[str, str] = {}
        for name, value in pairs:
            found.setdefault(name, value)
        return found


def read_capture(path: Path) -> Capture:
    """rackbin wrote a status line where the request line belongs: skip it, read the headers
    up to the blank line (CRLF or LF), keep the rest as the body."""
    data = path.read_bytes()
    _status_line, _, rest = data.partition(b"\n")
    blank = re.search(rb"\r?\n\r?\n", rest)
    assert blank is not None, path
    headers: dict[str, str] = {}
    for line in rest[: blank.start()].splitlines():
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = rest[blank.end() :]
    content_type = headers["content-type"]
    if content_type.startswith(URLENCODED):
        body = body.rstrip(b"\r\n")  # rackbin's final newline: urlencoded text has no raw breaks
    return Capture(path.name, content_type, body)


CAPTURES = sorted(CORPUS.glob("*.http"))
# name → (status, error) with key ``foo`` and the clock at the capture's own timestamp
OUTCOMES = {
    "mg_raw_mime_valid.http": (406, Refusal.UNKNOWN_RECIPIENT),  # foo+bar@ is no magic address
    "mg_raw_mime_invalid_signature.http": (401, Refusal.BAD_SIGNATURE),
    "mg_raw_mime_missing_signature.http": (401, Refusal.UNSIGNED),
    "mg_raw_mime_spam.http": (401, Refusal.BAD_SIGNATURE),  # signed with a key we do not have
    "mg_parsed_valid_multipart.http": (406, Refusal.NOT_MIME),
    "mg_parsed_invalid_signature.http": (401, Refusal.BAD_SIGNATURE),
    "mg_parsed_missing_signature.http": (401, Refusal.UNSIGNED),
    "mg_parsed_spam.http": (401, Refusal.BAD_SIGNATURE),
}


def test_the_corpus_is_beside_the_checkout() -> None:
    assert sorted(path.name for path in CAPTURES) == sorted(OUTCOMES), CORPUS


def test_format_md_test_vector() -> None:
    assert (
        signature_for("foo", "1366071615", "5o56tmpwd3dnwthehwclemd-i-7u2gv9vb3u745ywj67d0mc87")
        == "bc2ab6c1080d52f2a06928b93f21e86c2d28c548e2ef64354f8ba1a95bb53cd6"
    )


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.stem)
def test_capture_signature_verifies_only_when_valid(path: Path) -> None:
    fields = read_capture(path).fields()
    assert fields["recipient"] == "foo+bar@multimail.mailgun.org"
    signed = SignedFields(fields["timestamp"], fields["token"], fields.get("signature", ""))
    assert is_valid_signature("foo", signed) is ("_valid" in path.name)


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.stem)
def test_capture_replayed_through_the_app(path: Path, tmp_path: Path, db: Database) -> None:
    capture = read_capture(path)
    at = _at(capture.fields()["timestamp"])
    settings = _corpus_settings(tmp_path, db)
    with _running(settings, FixedClock(at)) as (app, client):
        response = client.post(
            ENDPOINT, content=capture.body, headers={"Content-Type": capture.content_type}
        )
        status, refusal = OUTCOMES[path.name]
        assert (response.status_code, response.json()) == (status, {"error": refusal.value})
        _assert_nothing_stored(app)


def test_valid_capture_is_stale_today(tmp_path: Path, db: Database, clock: FixedClock) -> None:
    capture = read_capture(CORPUS / "mg_raw_mime_valid.http")
    with _running(_corpus_settings(tmp_path, db), clock) as (app, client):
        response = client.post(
            ENDPOINT, content=capture.body, headers={"Content-Type": capture.content_type}
        )
        assert (response.status_code, response.json()) == (401, {"error": Refusal.STALE.value})
        _assert_nothing_stored(app)


def test_valid_capture_readdressed_and_resigned_is_stored(
    app: App, acme: str, client: TestClient, clock: FixedClock
) -> None:
    capture = read_capture(CORPUS / "mg_raw_mime_valid.http")
    pairs = parse_qsl(capture.body.decode("ascii"), keep_blank_values=True)
    body_mime = ""
    rewritten: list[tuple[str, str]] = []
    for name, value in pairs:
        if name == "recipient":
            rewritten.append((name, acme))
        elif name == "body-mime":
            body_mime = value.replace("To: foo+bar@multimail.mailgun.org", f"To: {acme}")
            rewritten.append((name, body_mime))
        elif name not in {"timestamp", "token", "signature"}:
            rewritten.append((name, value))
    assert f"To: {acme}" in body_mime
    signed = _signed(clock, token="readdressed-token")
    response = _post(client, [*rewritten, *signed.items()])

    assert response.status_code == 200, response.text
    with app.db.reader() as session:
        [row] = inbound.list_inbound(session)
        stored = inbound.get_inbound(session, row.id, with_raw=True)
        assert response.json() == {"stored": [row.id]}
        assert row.source == Source.MAILGUN
        assert row.rcpt_to == acme
        assert row.mail_from == "james@opennorth.ca"
        assert row.message_id == "99CF7D8C-FCD4-443F-8E04-69C4E470D18F@opennorth.ca"
        assert stored.raw == body_mime.encode("ascii")
        assert row.status != InboundStatus.FAILED, row.error


def _corpus_settings(tmp_path: Path, db: Database) -> Settings:
    return make_settings(
        tmp_path, db, mail_domain="multimail.mailgun.org", mailgun_signing_key="foo"
    )


# -- 3. end to end: an invitation by webhook ------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path, db: Database) -> Settings:
    """The conftest settings with a Mailgun signing key (the ``app`` fixture builds on this)."""
    return make_settings(tmp_path, db, mailgun_signing_key=KEY)


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(app.web_app()) as test_client:
        yield test_client


def invitation(to: str, **overrides: Any) -> bytes:
    values: dict[str, Any] = {
        "to": to,
        "organizer": ORGANIZER,
        "organizer_name": "Anna Berg",
        "attendees": [("erik@acme.example", "Erik Lind")],
        "title": "Styrgrupp",
        "start": NOW + timedelta(hours=2),
        "agenda": "1. Budget",
        "uid": "meeting-1@acme.example",
        "now": NOW,
        "message_id": "<inv-1@acme.example>",
    }
    values.update(overrides)
    return sample_invitation(**values)


def test_invitation_by_webhook_becomes_a_meeting_and_a_prebrief(
    app: App, acme: str, client: TestClient, clock: FixedClock
) -> None:
    raw = invitation(acme)
    response = _post(client, _message(acme, raw, _signed(clock)))

    assert response.status_code == 200, response.text
    settle(app)
    with app.db.reader() as session:
        [row] = inbound.list_inbound(session)
        assert response.json() == {"stored": [row.id]}
        assert row.source == Source.MAILGUN
        assert row.status == InboundStatus.PROCESSED, row.reason or row.error
        assert row.command == "invitation"
        assert inbound.get_inbound(session, row.id, with_raw=True).raw == raw
        [meeting] = meetings.list_meetings(session)
        assert meeting.title == "Styrgrupp"
        assert meeting.status == MeetingStatus.SCHEDULED
        assert len(outbound.list_outbound(session, kind="pre-brief")) == 1
    [mail] = [
        m
        for m in maildir_messages(app.settings.maildir_path)
        if m["X-Kollegan-Kind"] == "pre-brief"
    ]
    assert mail["To"] == ORGANIZER
    assert mail["In-Reply-To"] == "<inv-1@acme.example>"
    assert "Styrgrupp" in text_body(mail)


def test_replayed_token_is_refused_and_changes_nothing(
    app: App, acme: str, client: TestClient, clock: FixedClock
) -> None:
    form = _message(acme, invitation(acme), _signed(clock, token="once-only"))
    assert _post(client, form).status_code == 200
    settle(app)
    before = _effects(app)

    clock.advance(timedelta(minutes=1))  # still inside the window
    response = _post(client, form)

    assert (response.status_code, response.json()) == (406, {"error": Refusal.REPLAY.value})
    settle(app)
    assert _effects(app) == before == (1, 1, 2, 2)


def test_same_message_again_with_a_new_token_is_stored_once(
    app: App, acme: str, client: TestClient, clock: FixedClock
) -> None:
    raw = invitation(acme)
    first = _post(client, _message(acme, raw, _signed(clock, token="first")))
    settle(app)
    clock.advance(timedelta(minutes=10))  # Mailgun's first retry
    again = _post(client, _message(acme, raw, _signed(clock, token="second")))
    settle(app)

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert _effects(app) == (1, 1, 2, 2)


@pytest.mark.parametrize(
    ("age", "status"),
    [
        (WINDOW, 200),
        (WINDOW + timedelta(seconds=1), 401),
        (-WINDOW, 200),
        (-WINDOW - timedelta(seconds=1), 401),
    ],
    ids=["at-the-edge", "stale", "ahead-at-the-edge", "too-far-ahead"],
)
def test_freshness_window(
    app: App, acme: str, client: TestClient, clock: FixedClock, *, age: timedelta, status: int
) -> None:
    signed = _signed(FixedClock(clock.now() - age))
    response = _post(client, _message(acme, invitation(acme), signed))

    assert response.status_code == status, response.text
    if status == 401:
        assert response.json() == {"error": Refusal.STALE.value}
        _assert_nothing_stored(app)


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"signature": "0" * 64}, Refusal.BAD_SIGNATURE),
        ({"signature": None}, Refusal.UNSIGNED),
        ({"token": None}, Refusal.UNSIGNED),
        ({"timestamp": None}, Refusal.UNSIGNED),
        ({"signature": ""}, Refusal.UNSIGNED),
    ],
    ids=["wrong", "no-signature", "no-token", "no-timestamp", "empty-signature"],
)
def test_unsigned_or_badly_signed_is_401(
    app: App,
    acme: str,
    client: TestClient,
    clock: FixedClock,
    *,
    change: dict[str, str | None],
    refusal: Refusal,
) -> None:
    signed: dict[str, str | None] = {**_signed(clock), **change}
    form = _message(acme, invitation(acme), {k: v for k, v in signed.items() if v is not None})
    response = _post(client, form)

    assert (response.status_code, response.json()) == (401, {"error": refusal.value})
    _assert_nothing_stored(app)


def test_signed_with_another_key_is_401(
    app: App, acme: str, client: TestClient, clock: FixedClock
) -> None:
    response = _post(client, _message(acme, invitation(acme), _signed(clock, key="not-" + KEY)))

    assert (response.status_code, response.json()) == (401, {"error": Refusal.BAD_SIGNATURE.value})


@pytest.mark.parametrize(
    "recipient",
    [
        f"acme.zzzzzzzzzzzz@{MAIL_DOMAIN}",  # our form, no such agent
        "anna@acme.example",  # not our domain
        "",
    ],
    ids=["no-such-agent", "other-domain", "empty"],
)
def test_unknown_recipient_is_406(
    app: App, acme: str, client: TestClient, clock: FixedClock, recipient: str
) -> None:
    response = _post(client, _message(recipient, invitation(acme), _signed(clock)))

    assert (response.status_code, response.json()) == (
        406,
        {"error": Refusal.UNKNOWN_RECIPIENT.value},
    )
    _assert_nothing_stored(app)


def test_signed_post_without_body_mime_is_406(
    app: App, acme: str, client: TestClient, clock: FixedClock
) -> None:
    form = [("recipient", acme), ("body-plain", "hej"), *_signed(clock).items()]
    response = _post(client, form)

    assert (response.status_code, response.json()) == (406, {"error": Refusal.NOT_MIME.value})


def test_a_header_posted_as_a_field_cannot_override_mailguns_own(
    app: App, acme: str, client: TestClient, clock: FixedClock
) -> None:
    """Mailgun posts each header of the message as a field after its own ``recipient`` and
    ``sender``; a message carrying ``recipient:`` and ``sender:`` headers changes neither."""
    other = create_company(app, name="Other AB", slug="other", domains=("other.example",))
    form = _message(acme, invitation(acme), _signed(clock))
    form.insert(5, ("recipient", other))
    form.insert(5, ("sender", "mallory@evil.example"))
    response = _post(client, form)

    assert response.status_code == 200, response.text
    with app.db.reader() as session:
        [row] = inbound.list_inbound(session)
        assert (row.rcpt_to, row.mail_from) == (acme, ORGANIZER)


@pytest.mark.parametrize(
    ("content_type", "body", "status", "refusal"),
    [
        ("multipart/form-data", b"token=x", 406, Refusal.UNREADABLE),
        ("multipart/form-data; boundary=zz", b"not a form", 406, Refusal.UNREADABLE),
        ("application/json", b'{"token": "x"}', 401, Refusal.UNSIGNED),
        ("text/plain", b"", 401, Refusal.UNSIGNED),
    ],
    ids=["no-boundary", "no-parts", "json", "empty"],
)
def test_bodies_that_are_no_mailgun_form(
    app: App, client: TestClient, content_type: str, body: bytes, status: int, refusal: Refusal
) -> None:
    response = client.post(ENDPOINT, content=body, headers={"Content-Type": content_type})

    assert (response.status_code, response.json()) == (status, {"error": refusal.value})
    _assert_nothing_stored(app)


@pytest.mark.parametrize(
    "sender",
    ["x" * 400 + "@acme.example", "anna@acme.example\x00", "anna@acme.example\r\nX: y"],
    ids=["over-long", "nul", "line-break"],
)
def test_envelope_sender_that_is_no_address_is_stored_as_empty(
    app: App, acme: str, client: TestClient, clock: FixedClock, sender: str
) -> None:
    form = [(n, sender if n == "sender" else v) for n, v in _message(acme, b"", _signed(clock))]
    form = [(n, invitation(acme) if n == "body-mime" else v) for n, v in form]
    response = _post(client, form)

    assert response.status_code == 200, response.text
    with app.db.reader() as session:
        [row] = inbound.list_inbound(session)
        assert row.mail_from == ""


def test_stored_even_when_the_queue_fails(
    app: App, acme: str, client: TestClient, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """200 means stored: a lost queue entry is found again by the sweep."""

    def broken(_task: object) -> None:
        raise ConnectionError("queue down")

    monkeypatch.setattr(app.tasks.huey, "enqueue", broken)
    response = _post(client, _message(acme, invitation(acme), _signed(clock)))

    assert response.status_code == 200, response.text
    with app.db.reader() as session:
        [row] = inbound.list_inbound(session)
        assert row.status == InboundStatus.RECEIVED


# -- sizes ------------------------------------------------------------------------------------

SMALL_LIMIT = 4096


@pytest.fixture
def make_app(tmp_path: Path, db: Database, clock: FixedClock) -> Iterator[Callable[..., App]]:
    """Apps with other settings, sharing the test's database."""
    from huey import MemoryHuey

    built: list[App] = []

    def make(**overrides: Any) -> App:
        values: dict[str, Any] = {"mailgun_signing_key": KEY, **overrides}
        settings = make_settings(tmp_path / f"app{len(built)}", db, **values)
        built.append(build_app(settings, clock=clock, huey=MemoryHuey(immediate=True)))
        return built[-1]

    yield make
    for application in built:
        application.close()


def padded_message(to: str, size: int, filler: bytes = b"x") -> bytes:
    """A message of exactly ``size`` bytes (a plain note, held by the worker)."""
    head = (
        f"From: {ORGANIZER}\r\nTo: {to}\r\nSubject: lång\r\n"
        f"Message-ID: <big-{size}-{filler.hex()}@acme.example>\r\n"
        "Content-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode()
    body = (filler * size)[: size - len(head)]
    return head + body


@pytest.mark.parametrize("filler", [b"x", b"\xe9"], ids=["ascii", "8bit"])
def test_message_at_the_size_limit_is_stored_byte_for_byte(
    make_app: Callable[..., App], clock: FixedClock, filler: bytes
) -> None:
    app = make_app(max_message_size=SMALL_LIMIT)
    acme = create_company(app)
    raw = padded_message(acme, SMALL_LIMIT, filler)
    assert len(raw) == SMALL_LIMIT
    with TestClient(app.web_app()) as client:
        response = _post(client, _message(acme, raw, _signed(clock)))

    assert response.status_code == 200, response.text
    with app.db.reader() as session:
        [row] = inbound.list_inbound(session)
        assert inbound.get_inbound(session, row.id, with_raw=True).raw == raw


def test_message_over_the_size_limit_is_406(
    make_app: Callable[..., App], clock: FixedClock
) -> None:
    app = make_app(max_message_size=SMALL_LIMIT)
    acme = create_company(app)
    raw = padded_message(acme, SMALL_LIMIT + 1)
    with TestClient(app.web_app()) as client:
        response = _post(client, _message(acme, raw, _signed(clock)))

    assert (response.status_code, response.json()) == (406, {"error": Refusal.TOO_LARGE.value})
    _assert_nothing_stored(app)


def test_body_far_over_the_limit_is_406(make_app: Callable[..., App], clock: FixedClock) -> None:
    app = make_app(max_message_size=SMALL_LIMIT)
    acme = create_company(app)
    raw = padded_message(acme, 2 * 1024 * 1024)
    with TestClient(app.web_app()) as client:
        response = _post(client, _message(acme, raw, _signed(clock)))

    assert (response.status_code, response.json()) == (406, {"error": Refusal.TOO_LARGE.value})
    _assert_nothing_stored(app)


def test_huge_chunked_body_without_content_length_is_406(
    make_app: Callable[..., App], clock: FixedClock
) -> None:
    """No Content-Length: the body is counted as it arrives, however small each field is."""
    app = make_app(max_message_size=SMALL_LIMIT)
    acme = create_company(app)
    form = _message(acme, padded_message(acme, 100), _signed(clock))
    padding = [(f"X-Padding-{n}", "p" * 50_000) for n in range(60)]
    body = urlencode([*form, *padding]).encode("ascii")

    def chunks() -> Iterable[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    with TestClient(app.web_app()) as client:
        response = client.post(ENDPOINT, content=chunks(), headers={"Content-Type": URLENCODED})

    assert (response.status_code, response.json()) == (406, {"error": Refusal.TOO_LARGE.value})
    _assert_nothing_stored(app)


# -- body-mime is stored exactly as sent ------------------------------------------------------


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_eight_bit_message_is_stored_byte_for_byte(
    app: App, acme: str, client: TestClient, clock: FixedClock, encoding: str
) -> None:
    raw = (
        f"From: {ORGANIZER}\r\nTo: {acme}\r\nSubject: =?iso-8859-1?q?m=F6te?=\r\n"
        "Message-ID: <latin1@acme.example>\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode("ascii") + "Hej, mötet är flyttat.\r\n\r\n/ Anna\r\n".encode("iso-8859-1")
    form = _message(acme, raw, _signed(clock))
    if encoding == "urlencoded":
        response = _post(client, form)
    else:
        text = {name: value for name, value in form if isinstance(value, str)}
        response = client.post(ENDPOINT, data=text, files={"body-mime": (None, raw)})

    assert response.status_code == 200, response.text
    with app.db.reader() as session:
        [row] = inbound.list_inbound(session)
        assert inbound.get_inbound(session, row.id, with_raw=True).raw == raw


# -- 503: not configured, database down -------------------------------------------------------


def test_signing_key_unset_is_503(make_app: Callable[..., App], clock: FixedClock) -> None:
    app = make_app(mailgun_signing_key=None)
    acme = create_company(app)
    with TestClient(app.web_app()) as client:
        response = _post(client, _message(acme, invitation(acme), _signed(clock)))

    assert (response.status_code, response.json()) == (
        503,
        {"error": Refusal.NOT_CONFIGURED.value},
    )
    _assert_nothing_stored(app)


DOWN_URL = "postgresql+psycopg://postgres@127.0.0.1:1/x"  # nothing listens on port 1


@pytest.mark.parametrize(
    "recipient",
    [f"acme.abcdefghjkmn@{MAIL_DOMAIN}", f"postmaster@{MAIL_DOMAIN}"],
    ids=["agent-lookup", "role-address"],
)
def test_database_unavailable_is_503(tmp_path: Path, clock: FixedClock, recipient: str) -> None:
    from huey import MemoryHuey

    settings = make_settings(tmp_path, database_url=DOWN_URL, mailgun_signing_key=KEY)
    app = build_app(settings, clock=clock, huey=MemoryHuey(immediate=True))
    try:
        with TestClient(app.web_app()) as client:
            response = _post(client, _message(recipient, invitation(recipient), _signed(clock)))
    finally:
        app.close()

    assert (response.status_code, response.json()) == (503, {"error": "temporarily unavailable"})


# -- helpers ----------------------------------------------------------------------------------

FormPairs = list[tuple[str, str | bytes]]


def _signed(clock: FixedClock, *, token: str | None = None, key: str = KEY) -> dict[str, str]:
    timestamp = str(int(clock.now().timestamp()))
    token = token or f"tok-{timestamp}-{len(key)}"
    return {
        "timestamp": timestamp,
        "token": token,
        "signature": signature_for(key, timestamp, token),
    }


def _message(recipient: str, raw: bytes, signed: dict[str, str]) -> FormPairs:
    """The fields Mailgun posts to a raw-MIME route (headers as fields too, as it does)."""
    return [
        ("recipient", recipient),
        ("sender", ORGANIZER),
        ("from", f"Anna Berg <{ORGANIZER}>"),
        ("subject", "Styrgrupp"),
        ("Received", "by luna.mailgun.net with SMTP mgrt 1"),
        ("Received", "from mail.acme.example by mxa.mailgun.org"),
        ("body-mime", raw),
        *signed.items(),
    ]


def _post(client: TestClient, form: Iterable[tuple[str, str | bytes]]) -> Any:
    body = urlencode(list(form)).encode("ascii")  # bytes values are sent exactly
    return client.post(ENDPOINT, content=body, headers={"Content-Type": URLENCODED})


def _effects(app: App) -> tuple[int, int, int, int]:
    """Messages, meetings, mails planned and mails sent (a pre-brief and the acceptance)."""
    with app.db.reader() as session:
        counts = (
            len(inbound.list_inbound(session)),
            len(meetings.list_meetings(session)),
            len(outbound.list_outbound(session)),
        )
    return (*counts, len(maildir_messages(app.settings.maildir_path)))


def _assert_nothing_stored(app: App) -> None:
    with app.db.reader() as session:
        assert inbound.list_inbound(session) == []


class _running:
    """An app built from ``settings`` and a TestClient on its web app, closed afterwards."""

    def __init__(self, settings: Settings, clock: FixedClock) -> None:
        from huey import MemoryHuey

        self.app = build_app(settings, clock=clock, huey=MemoryHuey(immediate=True))
        self.client = TestClient(self.app.web_app())

    def __enter__(self) -> tuple[App, TestClient]:
        self.client.__enter__()
        return self.app, self.client

    def __exit__(self, *exc: object) -> None:
        self.client.__exit__(*exc)
        self.app.close()
