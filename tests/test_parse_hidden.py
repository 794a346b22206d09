"""Where invitations hide: forwards (inline and attached), winmail.dat (TNEF) and S/MIME.

The fixtures in tests/fixtures/hidden/ are ours (see generate.py there): a Swedish Gmail
inline forward, a Swedish Outlook forward as an attached message, an Outlook meeting request
as winmail.dat (written by tests/tnef_writer.py), and an invitation signed with S/MIME both
as multipart/signed and as opaque smime.p7m.

Unreadable winmail.dat and smime.p7m attachments are ignored (kept as attachments, no
calendar taken from them); they never make the message itself unreadable.
"""

from __future__ import annotations

import base64
import contextlib
import struct
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, default
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tnefparse.tnef import TNEF

from calendar_sync.ical import CalendarObject, parse_calendar
from core.errors import ParseError
from inbox.forward import find_forward_header, html_to_text
from inbox.parse import ParsedMessage, parse_message
from inbox.parts import MAX_ENCLOSED_DEPTH
from inbox.smime import signed_content
from inbox.tnef import TnefError, read_tnef
from inbox.tnef_meeting import calendar_from_tnef, global_object_uid
from tests.fixtures.hidden import generate
from tests.test_parse import parse_or_refuse
from tests.tnef_writer import (
    ATT_MSG_PROPS,
    ATT_RECIP_TABLE,
    LEVEL_MESSAGE,
    PSETID_MEETING,
    Meeting,
    global_object_id,
    meeting_request,
    record,
    stream,
)

FIXTURES = Path(__file__).parent / "fixtures" / "hidden"
AGENT = generate.AGENT


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def only_calendar(message: ParsedMessage) -> CalendarObject:
    assert len(message.calendars) == 1
    calendar = parse_calendar(message.calendars[0])
    assert len(calendar.events) == 1
    return calendar


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# -- the fixtures ---------------------------------------------------------------------------


def test_a_gmail_inline_forward_in_swedish_is_attributed_to_its_forwarder() -> None:
    message = parse_message(fixture("gmail-inline-forward-sv.eml"))

    calendar = only_calendar(message)
    event = calendar.events[0]
    assert calendar.method == "REQUEST"
    assert event.uid == generate.GOOGLE_UID
    assert event.title == "Styrelsemöte"
    assert event.start == utc(2026, 12, 9, 9, 0)
    assert event.timezone == "Europe/Stockholm"
    assert event.organizer is not None
    assert event.organizer.email == "anna@partner.example"
    assert message.calendars[0] == generate.google_invitation()  # invite.ics, byte for byte
    assert message.forwarded
    assert message.from_address == "bo@acme.example"  # the forwarder
    assert message.original_from == "anna@partner.example"
    assert message.subject.startswith("Fwd: Inbjudan: Styrelsemöte")
    assert message.attachments == ()


def test_an_outlook_forward_as_attachment_in_swedish_names_the_enclosed_sender() -> None:
    message = parse_message(fixture("outlook-forward-attached-sv.eml"))

    calendar = only_calendar(message)
    event = calendar.events[0]
    assert calendar.method == "REQUEST"
    assert event.uid == generate.OUTLOOK_UID
    assert event.title == "Projektmöte Q1"
    assert event.start == utc(2027, 1, 12, 12, 0)  # W. Europe Standard Time, CET in January
    assert event.end == utc(2027, 1, 12, 13, 0)
    assert message.forwarded
    assert message.from_address == "bo@acme.example"
    assert message.original_from == "cecilia@partner.example"
    assert message.subject == "VB: Projektmöte Q1"
    assert message.text.startswith("Hej Kollegan,")  # the forwarder's note, not the original's


def test_an_outlook_meeting_request_as_winmail_dat_becomes_a_calendar() -> None:
    message = parse_message(fixture("outlook-winmail-sv.eml"))

    calendar = only_calendar(message)
    event = calendar.events[0]
    assert calendar.method == "REQUEST"
    assert event.uid == global_object_uid(generate.WINMAIL_GOID)
    assert event.uid.startswith("040000008200E00074C5B7101A82E00800000000")
    assert event.title == "Leverantörsgenomgång"
    assert event.start == utc(2027, 1, 20, 8, 0)
    assert event.end == utc(2027, 1, 20, 9, 30)
    assert event.location == "Konferensrum Vänern"
    assert event.description.startswith("Hej!\nVi går igenom leverantörernas anbud.")
    assert event.sequence == 0
    assert event.dtstamp == utc(2026, 11, 23, 9, 12)
    assert event.status == "CONFIRMED"
    assert event.organizer is not None
    assert (event.organizer.email, event.organizer.name) == ("dan@partner.example", "Dan Dahl")
    assert [(a.email, a.name, a.role) for a in event.attendees] == [
        ("bo@acme.example", "Bo Berg", "REQ-PARTICIPANT"),
        (AGENT, "Kollegan", "REQ-PARTICIPANT"),
        ("frida@partner.example", "Frida Falk", "OPT-PARTICIPANT"),
    ]
    assert not message.forwarded
    assert message.original_from is None
    assert [(a.filename, a.content_type) for a in message.attachments] == [
        ("winmail.dat", "application/ms-tnef")
    ]


def test_the_committed_winmail_dat_is_what_the_writer_writes() -> None:
    parsed = message_from_bytes(fixture("outlook-winmail-sv.eml"), policy=default)
    (part,) = [p for p in parsed.walk() if p.get_filename() == "winmail.dat"]
    assert part.get_payload(decode=True) == meeting_request(generate.WINMAIL_MEETING)


@pytest.mark.parametrize(
    ("name", "uid", "title", "start"),
    [
        (
            "smime-multipart-signed.eml",
            generate.SIGNED_UID,
            "Ledningsgrupp",
            utc(2027, 2, 3, 7, 30),
        ),
        (
            "smime-opaque-signed.eml",
            generate.OPAQUE_UID,
            "Kvartalsuppföljning",
            utc(2027, 3, 10, 13, 0),
        ),
    ],
)
def test_a_signed_invitation_is_read_through_its_signature(
    name: str, uid: str, title: str, start: datetime
) -> None:
    message = parse_message(fixture(name))

    calendar = only_calendar(message)
    event = calendar.events[0]
    assert calendar.method == "REQUEST"
    assert (event.uid, event.title, event.start) == (uid, title, start)
    assert message.from_address == "eva@acme.example"
    assert message.text.startswith("Hej!")  # the note inside the signed entity
    assert not message.forwarded
    assert message.original_from is None
    assert all(a.filename != "smime.p7m" for a in message.attachments)


def test_the_opaque_fixture_carries_a_signed_data_object() -> None:
    parsed = message_from_bytes(fixture("smime-opaque-signed.eml"), policy=default)
    assert parsed.get_content_type() == "application/pkcs7-mime"
    assert parsed.get_param("smime-type") == "signed-data"
    der = parsed.get_payload(decode=True)
    assert isinstance(der, bytes)
    content = signed_content(der)
    assert content is not None
    assert content.startswith(b"Content-Type: multipart/mixed")
    assert pkcs7.load_der_pkcs7_certificates(der)  # the signer's certificate travels along


def test_an_invitation_sent_directly_is_not_forwarded() -> None:
    message = EmailMessage(policy=SMTP)
    message["From"] = "Anna Andersson <anna@partner.example>"
    message["To"] = AGENT
    message["Subject"] = "Inbjudan: Styrelsemöte"
    message.set_content("Du har blivit inbjuden till följande händelse.\n")
    message.add_attachment(
        generate.google_invitation(),
        maintype="text",
        subtype="calendar",
        filename="invite.ics",
        params={"method": "REQUEST"},
    )

    parsed = parse_message(message.as_bytes())

    assert len(parsed.calendars) == 1
    assert not parsed.forwarded
    assert parsed.original_from is None


# -- inline forwards --------------------------------------------------------------------------


def inline_forward(body: str, *, html: str | None = None) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = "Bo Berg <bo@acme.example>"
    message["To"] = AGENT
    message["Subject"] = "VB: Inbjudan"
    if html is None:
        message.set_content(body)
    else:
        message.set_content(html, subtype="html")
    message.add_attachment(
        generate.google_invitation(), maintype="application", subtype="ics", filename="invite.ics"
    )
    return message.as_bytes()


OUTLOOK_SV = (
    "Till Kollegan.\n\n"
    "________________________________\n"
    "Från: Anna Andersson <anna@partner.example>\n"
    "Skickat: den 23 november 2026 09:14\n"
    "Till: Bo Berg <bo@acme.example>\n"
    "Ämne: Styrelsemöte\n\n"
    "Välkomna!\n"
)
OUTLOOK_EN_MAILTO = (
    "FYI\n\n"
    "From: Anna Andersson [mailto:Anna@Partner.example]\n"
    "Sent: Monday, November 23, 2026 9:14 AM\n"
    "To: Bo Berg\n"
    "Subject: Board meeting\n"
)
GMAIL_EN = (
    "---------- Forwarded message ---------\n"
    "From: *Anna Andersson* <anna@partner.example>\n"
    "Date: Mon, Nov 23, 2026 at 9:14 AM\n"
    "Subject: Invitation: Board meeting\n"
    "To: <bo@acme.example>\n"
)
THUNDERBIRD_SV = (
    "\n\n-------- Vidarebefordrat meddelande --------\n"
    "Ämne: \tStyrelsemöte\n"
    "Datum: \tMon, 23 Nov 2026 09:14:00 +0100\n"
    "Från: \tAnna Andersson <anna@partner.example>\n"
    "Till: \tBo Berg <bo@acme.example>\n"
)
APPLE_EN = (
    "Begin forwarded message:\n\n"
    "From: Anna Andersson <anna@partner.example>\n"
    "Subject: Board meeting\n"
    "Date: 23 November 2026 at 09:14:00 CET\n"
    "To: Bo Berg <bo@acme.example>\n"
)
MARKER_WITHOUT_FROM = "---------- Forwarded message ---------\nDate: today\nSubject: x\n"


@pytest.mark.parametrize(
    ("body", "original_from"),
    [
        (OUTLOOK_SV, "anna@partner.example"),
        (OUTLOOK_EN_MAILTO, "anna@partner.example"),
        (GMAIL_EN, "anna@partner.example"),
        (THUNDERBIRD_SV, "anna@partner.example"),
        (APPLE_EN, "anna@partner.example"),
        (MARKER_WITHOUT_FROM, None),
    ],
    ids=["outlook-sv", "outlook-en-mailto", "gmail-en", "thunderbird-sv", "apple-en", "no-from"],
)
def test_inline_forwards_of_each_client_are_recognised(
    body: str, original_from: str | None
) -> None:
    message = parse_message(inline_forward(body))
    assert len(message.calendars) == 1
    assert message.forwarded
    assert message.original_from == original_from


def test_an_inline_forward_in_an_html_only_body_is_recognised() -> None:
    html = (
        '<div dir="ltr">Till Kollegan<br><div class="gmail_quote">'
        "---------- Vidarebefordrat meddelande ---------<br>"
        'Från: <strong>Anna Andersson</strong> &lt;<a href="mailto:anna@partner.example">'
        "anna@partner.example</a>&gt;<br>Date: mån 23 nov. 2026<br>Subject: Möte<br></div></div>"
    )
    message = parse_message(inline_forward("", html=html))
    assert message.forwarded
    assert message.original_from == "anna@partner.example"


@pytest.mark.parametrize(
    "body",
    [
        "Hej!\n\nFrom: my point of view this works.\nSee you then.\n",  # prose, not a block
        "Från: Anna Andersson <anna@partner.example>\nHej!\n",  # no Sent/Date, no Subject
        "Den mån 23 nov. 2026 skrev Anna <anna@partner.example>:\n> Välkomna\n",  # a reply
        "",
    ],
)
def test_a_body_without_a_forward_header_block_is_no_forward(body: str) -> None:
    assert find_forward_header(body) is None
    message = parse_message(inline_forward(body))
    assert len(message.calendars) == 1
    assert not message.forwarded
    assert message.original_from is None


def test_the_first_block_counts_when_a_forward_quotes_older_mail() -> None:
    body = GMAIL_EN + "\n\n" + OUTLOOK_EN_MAILTO.replace("Anna@Partner", "older@old")
    header = find_forward_header(body)
    assert header is not None
    assert "anna@partner.example" in header.sender


def test_a_forward_header_without_a_calendar_changes_nothing() -> None:
    message = EmailMessage(policy=SMTP)
    message["From"] = "Bo Berg <bo@acme.example>"
    message.set_content(OUTLOOK_SV)
    parsed = parse_message(message.as_bytes())
    assert parsed.calendars == ()
    assert not parsed.forwarded
    assert parsed.original_from is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000))
@example("<" * 5000 + "[mailto:" * 500)
def test_forward_header_detection_takes_any_text(text: str) -> None:
    header = find_forward_header(text)
    assert header is None or isinstance(header.sender, str)
    assert isinstance(html_to_text(text), str)


# -- forwards as attached messages -----------------------------------------------------------


def invitation_message(sender: str = "Anna Andersson <anna@partner.example>") -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = "bo@acme.example"
    message["Subject"] = "Inbjudan: Styrelsemöte"
    message.set_content("Välkomna!\n")
    message.add_attachment(
        generate.google_invitation(), maintype="text", subtype="calendar", filename="invite.ics"
    )
    return message


def forward_as_attachment(inner: EmailMessage, sender: str) -> EmailMessage:
    outer = EmailMessage(policy=SMTP)
    outer["From"] = sender
    outer["To"] = AGENT
    outer["Subject"] = "VB: Inbjudan"
    outer.set_content("Se bifogat.\n")
    outer.add_attachment(inner)
    return outer


def forward_chain(depth: int) -> bytes:
    """The invitation forwarded as an attachment ``depth`` times (written out: the email
    package itself cannot serialise hundreds of levels)."""
    message = invitation_message().as_bytes()
    for level in range(depth):
        head = (
            f"From: person{level}@acme.example\r\nTo: {AGENT}\r\nSubject: VB: Inbjudan\r\n"
            f'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b{level}"\r\n\r\n'
            f"--b{level}\r\nContent-Type: text/plain\r\n\r\nSe bifogat.\r\n"
            f"--b{level}\r\nContent-Type: message/rfc822\r\n"
            "Content-Disposition: attachment\r\n\r\n"
        )
        message = head.encode() + message + f"\r\n--b{level}--\r\n".encode()
    return message


@pytest.mark.parametrize("depth", range(1, MAX_ENCLOSED_DEPTH + 1))
def test_forwards_inside_forwards_up_to_the_limit_are_followed(depth: int) -> None:
    message = parse_message(forward_chain(depth))
    assert len(message.calendars) == 1
    assert message.forwarded
    assert message.from_address == f"person{depth - 1}@acme.example"  # the last forwarder
    assert message.original_from == "anna@partner.example"  # who sent the invitation


def test_forwards_nested_beyond_the_limit_are_kept_as_attachments_not_followed() -> None:
    message = parse_message(forward_chain(MAX_ENCLOSED_DEPTH + 1))
    assert message.calendars == ()
    assert not message.forwarded
    assert [a.content_type for a in message.attachments] == ["message/rfc822"]


@pytest.mark.parametrize("depth", [40, 200])
def test_absurdly_deep_forwards_are_a_message_or_a_parse_error(depth: int) -> None:
    message = parse_or_refuse(forward_chain(depth))
    assert message is None or message.calendars == ()


def test_an_eml_file_attached_as_octet_stream_is_a_forward_too() -> None:
    outer = EmailMessage(policy=SMTP)
    outer["From"] = "Bo Berg <bo@acme.example>"
    outer["To"] = AGENT
    outer.set_content("Se bifogat.\n")
    outer.add_attachment(
        invitation_message().as_bytes(),
        maintype="application",
        subtype="octet-stream",
        filename="Inbjudan Styrelsemöte.eml",
    )
    message = parse_message(outer.as_bytes())
    assert len(message.calendars) == 1
    assert message.forwarded
    assert message.original_from == "anna@partner.example"


def test_a_winmail_dat_inside_a_forward_is_forwarded_with_the_inner_sender_as_fallback() -> None:
    exchange_only = Meeting(organizer="/O=EXCHANGELABS/OU=EXCHANGE ADMINISTRATIVE GROUP/CN=DAN")
    inner = winmail_mail(meeting_request(exchange_only), sender="Dan Dahl <dan@partner.example>")
    message = parse_message(forward_as_attachment(inner, "bo@acme.example").as_bytes())

    event = only_calendar(message).events[0]
    assert event.organizer is not None
    assert event.organizer.email == "dan@partner.example"  # the From of the mail carrying it
    assert message.forwarded
    assert message.original_from == "dan@partner.example"


# -- winmail.dat ------------------------------------------------------------------------------


def winmail_mail(tnef: bytes, *, sender: str = "Dan Dahl <dan@partner.example>") -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = AGENT
    message["Subject"] = "Leverantörsgenomgång"
    message.set_content("Hej!\n")
    message.add_attachment(tnef, maintype="application", subtype="ms-tnef", filename="winmail.dat")
    return message


def test_the_tnef_writer_is_read_back_by_tnefparse() -> None:
    tnef = TNEF(meeting_request(generate.WINMAIL_MEETING), do_checksum=True)
    attributes = tnef.dump()["attributes"]
    assert all(obj.good_checksum for obj in tnef.objects)
    assert attributes["Message Class"] == "IPM.Schedule.Meeting.Request"
    assert attributes["Subject"] == "Leverantörsgenomgång"
    assert attributes["Date Start"] == datetime(2027, 1, 20, 8, 0)
    assert [r["MAPI_SMTP_ADDRESS"] for r in attributes["Recipients"]] == [
        "bo@acme.example",
        AGENT,
        "frida@partner.example",
    ]
    assert tnef.body.startswith("Hej!")
    meeting_props = [p for p in tnef.mapiprops if p.guid == PSETID_MEETING]
    assert {p.guid_prop for p in meeting_props} >= {0x0003, 0x0023}  # the global object ids


def test_a_cancellation_in_winmail_dat_is_a_cancel_with_its_sequence() -> None:
    cancelled = Meeting(
        message_class="IPM.Schedule.Meeting.Canceled",
        subject="Inställt: Leverantörsgenomgång",
        sequence=2,
        global_object_id=generate.WINMAIL_GOID,
    )
    message = parse_message(winmail_mail(meeting_request(cancelled)).as_bytes())

    calendar = only_calendar(message)
    event = calendar.events[0]
    assert calendar.method == "CANCEL"
    assert event.status == "CANCELLED"
    assert event.sequence == 2
    assert event.uid == global_object_uid(generate.WINMAIL_GOID)


def test_an_ics_inside_winmail_dat_is_used_as_it_is() -> None:
    invitation = generate.outlook_invitation()
    note = Meeting(
        message_class="IPM.Note",
        with_appointment_props=False,
        attachments=(("agenda.txt", b"1. Anbud\r\n"), ("invite.ics", invitation)),
    )
    message = parse_message(winmail_mail(meeting_request(note)).as_bytes())
    assert message.calendars == (invitation,)


def test_a_winmail_dat_without_a_meeting_gives_no_calendar() -> None:
    note = Meeting(
        message_class="IPM.Note",
        with_appointment_props=False,
        attachments=(("offert.pdf", b"%PDF-1.4 ..."),),
    )
    message = parse_message(winmail_mail(meeting_request(note)).as_bytes())
    assert message.calendars == ()
    assert [a.filename for a in message.attachments] == ["winmail.dat"]


def test_a_meeting_known_by_its_vcal_uid_keeps_that_uid() -> None:
    data = b"vCal-Uid\x01\x00\x00\x00" + generate.GOOGLE_UID.encode() + b"\x00"
    goid = global_object_id(utc(2026, 11, 23, 8, 0), data)
    calendar = calendar_from_tnef(meeting_request(Meeting(global_object_id=goid)))
    assert calendar is not None
    assert parse_calendar(calendar).events[0].uid == generate.GOOGLE_UID


def test_the_uid_is_the_same_for_every_occurrence_of_a_series() -> None:
    series = global_object_id(utc(2026, 11, 23, 8, 0), bytes(range(16)))
    exception = global_object_id(utc(2026, 11, 23, 8, 0), bytes(range(16)), (2027, 2, 17))
    assert series != exception
    assert global_object_uid(series) == global_object_uid(exception)
    assert global_object_uid(series) == series.hex().upper()


def test_a_meeting_without_a_global_object_id_gets_one_stable_uid() -> None:
    first = calendar_from_tnef(meeting_request(Meeting(global_object_id=None)))
    second = calendar_from_tnef(meeting_request(Meeting(global_object_id=None, body="ändrad")))
    other = calendar_from_tnef(meeting_request(Meeting(global_object_id=None, subject="Annat")))
    assert first is not None and second is not None and other is not None
    uid = parse_calendar(first).events[0].uid
    assert uid.startswith("tnef-")
    assert parse_calendar(second).events[0].uid == uid
    assert parse_calendar(other).events[0].uid != uid


def tnef_with_message_props(block: bytes) -> bytes:
    return stream([record(LEVEL_MESSAGE, ATT_MSG_PROPS, block)])


HOSTILE_TNEF = {
    # counts that tnefparse alone would believe, and loop over for hours
    "four-billion-properties": tnef_with_message_props(struct.pack("<I", 0xFFFFFFFF)),
    "four-billion-shorts": tnef_with_message_props(
        struct.pack("<IHHI", 1, 0x1002, 0x0001, 0xFFFFFFFF)
    ),
    "four-billion-strings": tnef_with_message_props(
        struct.pack("<IHHI", 1, 0x001F, 0x0037, 0xFFFFFFFF)
    ),
    "four-billion-recipients": stream(
        [record(LEVEL_MESSAGE, ATT_RECIP_TABLE, struct.pack("<I", 0xFFFFFFFF))]
    ),
    "many-records": stream([record(LEVEL_MESSAGE, 0x00018004, b"x\x00")] * 5000),
    "record-past-the-end": stream([record(LEVEL_MESSAGE, ATT_MSG_PROPS, b"")])[:-3] + b"\xff" * 9,
    "signature-only": struct.pack("<IH", 0x223E9F78, 0),
    "not-tnef": b"%PDF-1.4",
}


@pytest.mark.parametrize("tnef", list(HOSTILE_TNEF.values()), ids=list(HOSTILE_TNEF))
def test_hostile_winmail_dat_gives_no_calendar_and_the_message_still_parses(tnef: bytes) -> None:
    assert calendar_from_tnef(tnef) is None
    message = parse_message(winmail_mail(tnef).as_bytes())
    assert message.calendars == ()
    assert [a.filename for a in message.attachments] == ["winmail.dat"]


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "truncate", "delete", "insert", "int"]))
        if kind == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "truncate":
            del data[at:]
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:  # a length or count field made huge, small or zero
            data[at : at + 4] = struct.pack("<I", draw(st.sampled_from([0, 1, 0xFFFF, 0xFFFFFFFF])))
    return bytes(data)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(meeting_request(generate.WINMAIL_MEETING)))
def test_mutated_winmail_dat_gives_a_calendar_or_none(tnef: bytes) -> None:
    calendar = calendar_from_tnef(tnef)
    assert calendar is None or isinstance(calendar, bytes)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_after_a_tnef_signature_give_a_calendar_or_none(tail: bytes) -> None:
    tnef = struct.pack("<IH", 0x223E9F78, 0) + tail
    calendar = calendar_from_tnef(tnef)
    assert calendar is None or isinstance(calendar, bytes)
    with contextlib.suppress(TnefError):  # and nothing else
        read_tnef(tnef)


# -- S/MIME -----------------------------------------------------------------------------------

DATA_OID = bytes.fromhex("2a864886f70d010701")
SIGNED_DATA_OID = bytes.fromhex("2a864886f70d010702")
SHA256_OID = bytes.fromhex("608648016503040201")


def der(tag: int, body: bytes) -> bytes:
    if len(body) < 0x80:
        return bytes([tag, len(body)]) + body
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def ber_signed_data(content: bytes, chunk: int = 100) -> bytes:
    """SignedData as streaming encoders write it: indefinite lengths, content in chunks."""
    chunks = b"".join(der(0x04, content[i : i + chunk]) for i in range(0, len(content), chunk))
    encapsulated = (
        b"\x30\x80" + der(0x06, DATA_OID) + b"\xa0\x80\x24\x80" + chunks + b"\x00\x00" * 3
    )
    digests = der(0x31, der(0x30, der(0x06, SHA256_OID) + b"\x05\x00"))
    signed = b"\x30\x80" + der(0x02, b"\x01") + digests + encapsulated + der(0x31, b"") + b"\0\0"
    return b"\x30\x80" + der(0x06, SIGNED_DATA_OID) + b"\xa0\x80" + signed + b"\x00\x00" * 2


def signed_entity() -> bytes:
    return generate.signed_entity(
        "b0undary",
        "Hej!",
        generate.thunderbird_invitation("ber-uid", "BER", "20270105T090000", "20270105T100000"),
    )


def p7m_mail(der_bytes: bytes, smime_type: str = "signed-data") -> bytes:
    head = (
        "From: Eva Ek <eva@acme.example>\r\n"
        f"To: {AGENT}\r\n"
        "Subject: Inbjudan\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: application/pkcs7-mime; smime-type={smime_type}; name="smime.p7m"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        'Content-Disposition: attachment; filename="smime.p7m"\r\n\r\n'
    )
    return head.encode() + generate.b64(der_bytes).encode() + b"\r\n"


def test_ber_with_indefinite_lengths_and_chunked_content_is_unwrapped() -> None:
    entity = signed_entity()
    assert signed_content(ber_signed_data(entity)) == entity
    message = parse_message(p7m_mail(ber_signed_data(entity)))
    assert parse_calendar(message.calendars[0]).events[0].uid == "ber-uid"


def test_der_from_cryptography_is_unwrapped_and_a_detached_signature_has_no_content() -> None:
    entity = signed_entity()
    assert signed_content(generate.sign(entity, detached=False)) == entity
    assert signed_content(generate.sign(entity, detached=True)) is None


def test_an_encrypted_message_stays_an_attachment() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Kollegan")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(utc(2026, 1, 1))
        .not_valid_after(utc(2028, 1, 1))
        .sign(key, hashes.SHA256())
    )
    enveloped = (
        pkcs7.PKCS7EnvelopeBuilder()
        .set_data(signed_entity())
        .add_recipient(certificate)
        .encrypt(serialization.Encoding.DER, [])
    )
    assert signed_content(enveloped) is None
    message = parse_message(p7m_mail(enveloped, "enveloped-data"))
    assert message.calendars == ()
    assert [a.filename for a in message.attachments] == ["smime.p7m"]


def test_a_p7m_file_holding_base64_text_is_unwrapped_too() -> None:
    entity = signed_entity()
    assert signed_content(base64.encodebytes(generate.sign(entity, detached=False))) == entity


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x30",
        b"\x30\x80",
        b"\x30\x80" * 5000,  # nested deeper than any SignedData
        b"\x30\x84\xff\xff\xff\xff",
        b"\x24\x80" + b"\x04\x01x" * 100 + b"\x00\x00",
        b"\x1f\xff\xff\xff\xff\xff",
    ],
)
def test_garbage_p7m_gives_no_content(data: bytes) -> None:
    assert signed_content(data) is None
    message = parse_message(p7m_mail(data))
    assert message.calendars == ()


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(ber_signed_data(b"Content-Type: text/plain\r\n\r\nhej\r\n", chunk=8)))
def test_mutated_signed_data_gives_content_or_none(data: bytes) -> None:
    content = signed_content(data)
    assert content is None or isinstance(content, bytes)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_as_smime_p7m_give_content_or_none(data: bytes) -> None:
    content = signed_content(data)
    assert content is None or isinstance(content, bytes)


# -- the whole message, mutated ---------------------------------------------------------------

SEEDS = [path.read_bytes() for path in sorted(FIXTURES.glob("*.eml"))]


def test_the_mutation_seeds_are_the_five_fixtures() -> None:
    assert len(SEEDS) == 5


@st.composite
def mutated_fixture(draw: st.DrawFn) -> bytes:
    seed: bytes = draw(st.sampled_from(SEEDS))
    return draw(mutated(seed))


@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated_fixture())
def test_mutated_fixtures_give_a_message_or_parse_error(raw: bytes) -> None:
    message = parse_or_refuse(raw)
    if message is not None:
        assert isinstance(message.forwarded, bool)
        assert message.original_from is None or message.original_from.islower()


SIGNED_P7M = generate.sign(
    generate.signed_entity("b", "Hej!", generate.google_invitation()), detached=False
)  # once: each signature differs, and a strategy must draw the same way every time


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.tuples(st.just("winmail.dat"), mutated(meeting_request(generate.WINMAIL_MEETING))),
        st.tuples(st.just("smime.p7m"), mutated(SIGNED_P7M)),
    )
)
def test_a_broken_attachment_never_makes_the_message_unreadable(
    attachment: tuple[str, bytes],
) -> None:
    """The winmail.dat or smime.p7m itself mutated, inside well-formed mail."""
    name, data = attachment
    raw = winmail_mail(data).as_bytes() if name == "winmail.dat" else p7m_mail(data)
    try:
        message = parse_message(raw)
    except ParseError as exc:  # pragma: no cover - what this test exists to catch
        pytest.fail(f"a broken {name} refused the whole message: {exc}")
    assert message.from_address is not None
    assert len(message.calendars) <= 1
