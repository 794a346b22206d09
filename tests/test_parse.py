"""Raw bytes → ParsedMessage: never anything but a message or ParseError, and what it extracts.

Real mail is read in place from ``../shared/corpus`` beside the checkout (see its MANIFEST.md);
none of it is copied into the project.
"""

from __future__ import annotations

import logging
from datetime import UTC
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.errors import ParseError
from inbox.parse import RULE_HEADERS, ParsedMessage, parse_message, peek_message_id
from tests.conftest import CORPUS as SHARED_CORPUS
from tests.conftest import unavailable

CORPUS = SHARED_CORPUS
MALFORMED = CORPUS / "mime-malformed"
INVITATIONS = CORPUS / "imip-eml"
MUTATION_SIZE_LIMIT = 100_000  # larger files are in the conformance run, not mutated each time


def _corpus_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.is_file())


def _read_corpus(folder: Path, name: str) -> bytes:
    path = folder / name
    if not path.is_file():
        unavailable("the shared corpus", f"{path} is missing")
    return path.read_bytes()


SEEDS = [
    path.read_bytes()
    for path in _corpus_files(MALFORMED) + _corpus_files(INVITATIONS)
    if path.stat().st_size <= MUTATION_SIZE_LIMIT
]


def assert_well_formed(message: ParsedMessage) -> None:
    """What every consumer of a ParsedMessage may rely on, however bad the input was."""
    for message_id in (message.message_id, message.in_reply_to, *message.references):
        if message_id is not None:
            assert message_id
            assert not any(c.isspace() or c in "<>" for c in message_id)
    if message.from_address is not None:
        assert message.from_address == message.from_address.lower()
    assert all(address == address.lower() for address in (*message.to, *message.cc))
    assert "\n" not in message.subject
    assert set(message.headers) <= set(RULE_HEADERS)
    assert all("\n" not in value for value in message.headers.values())
    if message.date is not None:
        assert message.date.tzinfo is not None
        message.date.astimezone(UTC)
    assert all(isinstance(calendar, bytes) for calendar in message.calendars)
    assert isinstance(message.text, str)
    assert isinstance(message.html, str)


def parse_or_refuse(raw: bytes) -> ParsedMessage | None:
    try:
        message = parse_message(raw)
    except ParseError:
        return None
    assert_well_formed(message)
    return message


# -- hostile bytes --------------------------------------------------------------------------


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=2000))
@example(b"")
@example(b"\r\n\r\n")
@example(b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n")
@example(b"Content-Type: message/rfc822\r\n\r\n" * 50)
@example(b"Content-Type: \x80\r\n\r\nbody")
@example(b"Date: Fri, 31 Dec 9999 23:59:59 -2359\r\nFrom: a@b.example\r\n\r\nx")
def test_arbitrary_bytes_give_a_message_or_parse_error(raw: bytes) -> None:
    parse_or_refuse(raw)


header_lines = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "From",
                "To",
                "Cc",
                "Subject",
                "Date",
                "Message-ID",
                "In-Reply-To",
                "References",
                "Content-Type",
                "Content-Transfer-Encoding",
                "Content-Disposition",
                "MIME-Version",
                *RULE_HEADERS,
            ]
        ),
        st.binary(max_size=80),
    ),
    max_size=12,
).map(lambda pairs: b"".join(name.encode() + b": " + value + b"\r\n" for name, value in pairs))


@settings(max_examples=1000, deadline=None)
@given(head=header_lines, body=st.binary(max_size=500))
def test_messages_with_arbitrary_header_values_give_a_message_or_parse_error(
    head: bytes, body: bytes
) -> None:
    parse_or_refuse(head + b"\r\n" + body)


@st.composite
def mutated_corpus_messages(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        if not raw:
            break
        at = draw(st.integers(0, len(raw) - 1))
        kind = draw(st.sampled_from(["flip", "truncate", "delete", "insert"]))
        if kind == "flip":
            raw[at] ^= draw(st.integers(1, 255))
        elif kind == "truncate":
            del raw[at:]
        elif kind == "delete":
            del raw[at : at + draw(st.integers(1, 64))]
        else:
            raw[at:at] = draw(
                st.sampled_from(
                    [b"\r\n", b"\n\n", b"--", b"\x00", b"=?utf-8?b?", b"boundary=", b"\xff\xfe"]
                )
            )
    return bytes(raw)


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated_corpus_messages())
def test_byte_flips_and_truncations_of_real_mail_give_a_message_or_parse_error(
    raw: bytes,
) -> None:
    parse_or_refuse(raw)


def test_the_mutation_seeds_are_the_corpus() -> None:
    if not SEEDS:
        unavailable("the shared corpus", f"nothing readable in {MALFORMED} or {INVITATIONS}")
    assert len(SEEDS) > 100


def test_every_malformed_corpus_message_parses_or_raises_parse_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = _corpus_files(MALFORMED)
    if not files:
        unavailable("the shared corpus", f"{MALFORMED} is missing or empty")
    parsed: list[str] = []
    refused: list[str] = []
    for path in files:
        message = parse_or_refuse(path.read_bytes())
        (parsed if message is not None else refused).append(path.name)
    with capsys.disabled():
        print(
            f"\nmime-malformed: {len(files)} files, {len(parsed)} parsed, "
            f"{len(refused)} refused with ParseError: {', '.join(refused)}"
        )
    assert len(parsed) + len(refused) == len(files)
    assert len(parsed) > len(refused)  # most broken mail is still readable


def test_every_corpus_invitation_parses_and_almost_all_carry_a_calendar() -> None:
    files = _corpus_files(INVITATIONS)
    if not files:
        unavailable("the shared corpus", f"{INVITATIONS} is missing or empty")
    without_calendar = []
    for path in files:
        message = parse_message(path.read_bytes())
        assert_well_formed(message)
        if not message.calendars:
            without_calendar.append(path.name)
    # the DSNs without the original and the reply that lost its attachment carry none
    assert set(without_calendar) <= {
        "apple-ccs_dsn_failure_no_ics.eml",
        "apple-ccs_dsn_failure_no_original.eml",
        "apple-ccs_reply_missing_attachment.eml",
    }


@pytest.mark.parametrize("raw", [None, "From: a@b.example\r\n\r\nx", 42])
def test_anything_but_bytes_is_refused_with_parse_error(raw: object) -> None:
    with pytest.raises(ParseError):
        parse_message(raw)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", [b"", b"   ", b"\r\n\r\n"])
def test_an_empty_message_is_refused(raw: bytes) -> None:
    with pytest.raises(ParseError, match="empty"):
        parse_message(raw)


def test_a_message_of_too_many_parts_is_refused() -> None:
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\npart\r\n" for _ in range(600))
    raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + parts + b"--b--\r\n"
    with pytest.raises(ParseError, match="MIME parts"):
        parse_message(raw)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_what_flanker_cannot_parse_does_not_reach_our_logs() -> None:
    """flanker logs unparseable headers verbatim, agent tokens included (PRODUCT.md: never)."""
    token = "k3vq7xw2m4pa"
    raw = (
        f"From: \x01broken <acme.{token}@kollegan.test\r\n"
        f"To: (unclosed acme.{token}@kollegan.test\r\n"
        "Subject: =?utf-8?b?bm90IGJhc2U2NCDigJQ?=\r\n\r\nhello\r\n"
    ).encode()
    root = logging.getLogger()
    collect = _Collect()
    root.addHandler(collect)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        parse_or_refuse(raw)
    finally:
        root.removeHandler(collect)
        root.setLevel(level)
    assert not [line for line in collect.lines if token in line]


# -- well-formed mail round-trips -----------------------------------------------------------

printable = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=80)
# A display name is decoration; flanker reads odd ones ("(\xa0)", '" ') its own way.
display_names = st.text(
    st.characters(categories=("L", "Nd"), include_characters=" .'-"), max_size=40
)
message_ids = st.from_regex(
    r"[A-Za-z0-9.$%_+-]{1,30}@[a-z0-9-]{1,20}(\.[a-z]{2,6})?", fullmatch=True
)


@settings(max_examples=300, deadline=None)
@given(subject=printable, name=display_names, body=printable, message_id=message_ids)
def test_what_a_mail_client_writes_is_what_parse_message_reads(
    subject: str, name: str, body: str, message_id: str
) -> None:
    message = EmailMessage(policy=SMTP)
    message["From"] = Address(display_name=name, addr_spec="Anna@Acme.example")
    message["To"] = "acme.k3vq7xw2m4pa@kollegan.test"
    message["Subject"] = subject
    message["Message-ID"] = f"<{message_id}>"
    message["In-Reply-To"] = "<earlier@acme.example>"
    message.set_content(body + "\n")
    raw = message.as_bytes()

    parsed = parse_message(raw)

    assert_well_formed(parsed)
    assert parsed.message_id == message_id
    assert peek_message_id(raw) == message_id
    assert parsed.in_reply_to == "earlier@acme.example"
    assert parsed.from_address == "anna@acme.example"
    assert " ".join((parsed.from_name or "").split()) == " ".join(name.split())
    assert parsed.to == ("acme.k3vq7xw2m4pa@kollegan.test",)
    assert parsed.subject == " ".join(subject.split())
    assert parsed.text.strip() == body.strip()


# -- what is extracted from real invitations ------------------------------------------------


def test_an_inline_text_calendar_part_is_found_thunderbird() -> None:
    message = parse_message(_read_corpus(INVITATIONS, "tb_single-event_request.eml"))
    assert len(message.calendars) == 1
    assert message.calendars[0].startswith(b"BEGIN:VCALENDAR")
    assert b"METHOD:REQUEST" in message.calendars[0]
    assert message.from_address == "sender@example.com"
    assert message.from_name == "Sender"
    assert message.to == ("receiver@example.com",)
    assert message.message_id is None  # this one was sent without
    assert message.in_reply_to is None
    assert message.subject.startswith("Invitation: Single Event")
    assert message.text  # the text/plain alternative is kept as the body
    assert message.attachments == ()


def test_a_teams_invitation_keeps_message_id_text_html_and_calendar() -> None:
    message = parse_message(_read_corpus(INVITATIONS, "tb_outlook-teams-meeting-invite_fi.eml"))
    assert message.message_id == (
        "HE1PR0802MB228346BE1576FEAB8A7F32328EF30@HE1PR0802MB2283.eurprd08.prod.outlook.com"
    )
    assert message.from_address == "marge@example.com"
    assert message.to == ("bart@example.com", "homer@example.com")
    assert message.content_type == "multipart/alternative"
    assert len(message.calendars) == 1
    assert message.text
    assert message.html
    assert message.in_reply_to is None


def test_an_application_ics_attachment_counts_as_a_calendar_bluemind() -> None:
    raw = _read_corpus(INVITATIONS, "bm_bm.invite.new.eml")
    message = parse_message(raw)
    assert message.message_id == "cmu-lmtpd-17286-1338307522-0@bj"
    assert peek_message_id(raw) == message.message_id
    assert message.from_address == "david@bj.lan"
    # the text/calendar alternative and the event.ics attachment (application/ics)
    assert len(message.calendars) == 2
    assert all(calendar.lstrip().startswith(b"BEGIN:VCALENDAR") for calendar in message.calendars)
    assert message.attachments == ()


def test_an_octet_stream_attachment_named_ics_counts_as_a_calendar_domino() -> None:
    message = parse_message(_read_corpus(INVITATIONS, "bm_domino.invite.new.eml"))
    assert message.from_address == "rkidai@mairie-saint-ouen.fr"
    assert message.from_name == "Rachid KIDAI"
    assert len(message.calendars) == 2  # text/calendar plus c124211.ics as octet-stream
    assert [a.content_type for a in message.attachments] == ["image/gif", "image/gif"]


def test_a_message_that_is_only_a_calendar_outlook() -> None:
    message = parse_message(_read_corpus(INVITATIONS, "bm_outlook.invite.pureics.eml"))
    assert message.content_type == "text/calendar"
    assert len(message.calendars) == 1
    assert message.message_id == "0f3001cdb1bb$9d036ae0$d70a40a0$@blue-mind.net"
    assert message.from_address == "sylvain.garcia@blue-mind.net"
    assert message.has_content


def test_in_reply_to_references_and_auto_submitted_of_a_bounce_office365() -> None:
    message = parse_message(_read_corpus(MALFORMED, "flanker_bounce_office365.eml"))
    assert message.in_reply_to == "20171013111011.20866.254C2F3A4D7AA526@ninomail.com"
    assert message.references == ("20171013111011.20866.254C2F3A4D7AA526@ninomail.com",)
    assert message.content_type == "multipart/report"
    assert message.headers["auto-submitted"] == "auto-replied"


def test_an_ics_file_attached_as_octet_stream_is_a_calendar_not_an_attachment() -> None:
    message = EmailMessage(policy=SMTP)
    message["From"] = "Anna <anna@acme.example>"
    message["Message-ID"] = "<forwarded-invite@acme.example>"
    message.set_content("Se bifogad inbjudan.\n")
    message.add_attachment(
        b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
        maintype="application",
        subtype="octet-stream",
        filename="Möte.ICS",
    )
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="a.pdf")

    parsed = parse_message(message.as_bytes())

    assert parsed.calendars == (b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",)
    assert [(a.filename, a.content_type, a.size) for a in parsed.attachments] == [
        ("a.pdf", "application/pdf", 8)
    ]
    assert parsed.text.strip() == "Se bifogad inbjudan."


def test_a_date_that_cannot_be_expressed_in_utc_is_dropped_not_fatal() -> None:
    raw = b"From: a@b.example\r\nDate: Fri, 31 Dec 9999 23:59:59 -2359\r\n\r\nhej\r\n"
    assert parse_message(raw).date is None


# -- peek_message_id ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"Message-ID: <abc@x.example>\r\n\r\nbody", "abc@x.example"),
        (b"message-id: <abc@x.example>\r\n\r\n", "abc@x.example"),
        (b"MESSAGE-ID: <abc@x.example>\r\n\r\n", "abc@x.example"),
        (b"Message-Id:<abc@x.example>\n\nbody", "abc@x.example"),
        (b"Message-ID: abc@x.example\r\n\r\n", "abc@x.example"),  # without angle brackets
        (b"Message-ID: <abc@x.example> (a comment)\r\n\r\n", "abc@x.example"),
        (b"Message-ID:\r\n <folded@x.example>\r\nSubject: s\r\n\r\n", "folded@x.example"),
        (b"Message-ID:\r\n\t<folded@x.example>\r\n\r\n", "folded@x.example"),
        (b"Subject: s\nMessage-ID:\n  <lf-folded@x.example>\n\n", "lf-folded@x.example"),
        (b"Subject: s\r\nMessage-ID: <a@x>\r\nMessage-ID: <b@x>\r\n\r\n", "a@x"),
        (b"Subject: no id\r\n\r\nbody", None),
        (b"Subject: s\r\n\r\nMessage-ID: <in-body@x.example>\r\n", None),
        (b"X-Original-Message-ID: <other@x.example>\r\n\r\n", None),
        (b"Message-ID: <>\r\n\r\n", None),
        (b"Message-ID: two words\r\n\r\n", None),
        (b"Message-ID:!<C\r\n\r\n", None),  # a truncated one
        (b"Message-ID: a<b@x\r\n\r\n", None),
        (b"Message-ID: <a\x00b@x>\r\n\r\n", None),  # NUL: PostgreSQL refuses it in text
        (b"Message-ID: <a\x7fb@x>\r\n\r\n", None),
        (b"", None),
    ],
)
def test_peek_message_id(raw: bytes, expected: str | None) -> None:
    assert peek_message_id(raw) == expected


def test_peek_stops_at_the_first_blank_line_whatever_the_line_endings() -> None:
    """An LF-only message whose body has a CRLF blank line after a forwarded Message-ID."""
    raw = (
        b"From: a@b.example\nSubject: fwd\n\n"
        b"---------- Forwarded message ----------\n"
        b"Message-ID: <the-original@c.example>\n\r\n\r\nrest"
    )
    assert peek_message_id(raw) is None


@settings(max_examples=1000)
@given(st.binary(max_size=500))
def test_peek_message_id_of_any_bytes_is_none_or_a_bare_id(raw: bytes) -> None:
    found = peek_message_id(raw)
    if found is not None:
        assert found
        assert not any(c.isspace() or c in "<>" for c in found)
