"""Signed tokens and the links built from them: round trips, tampering, purposes, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.addresses import ReplyAddress, decode_address
from core.errors import SignatureError, TokenExpiredError
from core.links import APPROVAL_TTL, MEETING_PAGE_TTL, Links
from core.signing import ADDRESS_SIGNATURE_LENGTH, Purpose, TokenSigner

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
DOMAIN = "kollegan.test"
SIGNER = TokenSigner("k" * 40)
OTHER = TokenSigner("o" * 40)
LINKS = Links("https://kollegan.example.com", DOMAIN, SIGNER)

refs = st.integers(min_value=0, max_value=2**53)
purposes = st.sampled_from(list(Purpose))
values = st.dictionaries(
    st.text(max_size=5), st.one_of(st.integers(), st.text(max_size=20), st.booleans()), max_size=4
)


# -- link tokens ------------------------------------------------------------------------------


@given(purpose=purposes, value=values)
def test_a_link_token_gives_back_what_was_signed(
    purpose: Purpose, value: dict[str, object]
) -> None:
    token = SIGNER.sign(purpose, value, expires_at=LATER)
    assert SIGNER.verify(purpose, token, now=NOW) == value


@given(value=values, position=st.integers(min_value=0), char=st.sampled_from("AZaz09-_."))
def test_a_changed_link_token_is_refused(
    value: dict[str, object], position: int, char: str
) -> None:
    token = SIGNER.sign(Purpose.APPROVAL_LINK, value, expires_at=LATER)
    # not the last character: base64's spare low bits there may not change the bytes
    index = position % (len(token) - 1)
    forged = token[:index] + char + token[index + 1 :]
    if forged == token:
        return
    with pytest.raises(SignatureError):
        SIGNER.verify(Purpose.APPROVAL_LINK, forged, now=NOW)


def test_a_link_token_is_for_one_purpose_and_one_key() -> None:
    token = SIGNER.sign(Purpose.APPROVAL_LINK, {"a": 1}, expires_at=LATER)
    with pytest.raises(SignatureError):
        SIGNER.verify(Purpose.MEETING_PAGE, token, now=NOW)
    with pytest.raises(SignatureError):
        OTHER.verify(Purpose.APPROVAL_LINK, token, now=NOW)


def test_a_link_token_expires() -> None:
    token = SIGNER.sign(Purpose.MEETING_PAGE, {"s": 3}, expires_at=LATER)
    assert SIGNER.verify(Purpose.MEETING_PAGE, token, now=LATER - timedelta(seconds=1))
    with pytest.raises(TokenExpiredError) as caught:
        SIGNER.verify(Purpose.MEETING_PAGE, token, now=LATER)
    assert caught.value.expired_at == LATER


@pytest.mark.parametrize("token", ["", ".", "abc", "a.b.c", "\x00", "ü" * 10, "x" * 5000])
def test_garbage_is_no_link_token(token: str) -> None:
    with pytest.raises(SignatureError):
        SIGNER.verify(Purpose.APPROVAL_LINK, token, now=NOW)


# -- address tokens ---------------------------------------------------------------------------


@given(purpose=purposes, ref=refs, days=st.integers(min_value=1, max_value=3650))
def test_an_address_token_names_its_row_and_fits_a_reply_address(
    purpose: Purpose, ref: int, days: int
) -> None:
    token = SIGNER.sign_reference(purpose, ref, expires_at=NOW + timedelta(days=days))
    assert token == token.lower()
    assert SIGNER.verify_reference(purpose, token, now=NOW) == ref
    assert SIGNER.verify_reference(purpose, token.upper(), now=NOW) == ref  # case is lost
    address = ReplyAddress("approval", token).render(DOMAIN)
    assert len(address.partition("@")[0]) <= 64  # RFC 5321's limit for a local part
    assert decode_address(address, DOMAIN) == ReplyAddress("approval", token)


@given(ref=refs, position=st.integers(min_value=0), char=st.sampled_from("abz279-"))
def test_a_changed_address_token_is_refused(ref: int, position: int, char: str) -> None:
    token = SIGNER.sign_reference(Purpose.APPROVAL_REPLY, ref, expires_at=LATER)
    index = position % len(token)
    forged = token[:index] + char + token[index + 1 :]
    if forged == token:
        return
    with pytest.raises(SignatureError):
        SIGNER.verify_reference(Purpose.APPROVAL_REPLY, forged, now=NOW)


def test_an_address_token_is_for_one_purpose_and_one_key_and_expires() -> None:
    token = SIGNER.sign_reference(Purpose.APPROVAL_REPLY, 42, expires_at=LATER)
    assert len(token.rsplit("-", 1)[1]) == ADDRESS_SIGNATURE_LENGTH
    with pytest.raises(SignatureError):
        SIGNER.verify_reference(Purpose.MEETING_PAGE, token, now=NOW)
    with pytest.raises(SignatureError):
        OTHER.verify_reference(Purpose.APPROVAL_REPLY, token, now=NOW)
    with pytest.raises(TokenExpiredError):
        SIGNER.verify_reference(Purpose.APPROVAL_REPLY, token, now=LATER)


@given(st.text(max_size=80))
def test_any_text_is_an_address_token_only_if_we_signed_it(text: str) -> None:
    with pytest.raises(SignatureError):
        SIGNER.verify_reference(Purpose.APPROVAL_REPLY, text, now=NOW)


# -- links ------------------------------------------------------------------------------------


@given(approval_id=refs, decision=st.sampled_from(["approve", "refuse"]))
def test_an_approval_link_round_trips(approval_id: int, decision: str) -> None:
    url = LINKS.approval_page(approval_id, decision, expires_at=NOW + APPROVAL_TTL)
    assert url.startswith("https://kollegan.example.com/a/")
    link = LINKS.read_approval_page(url.rsplit("/", 1)[1], now=NOW)
    assert (link.approval_id, link.decision) == (approval_id, decision)


def test_a_meeting_link_lasts_long_and_is_no_approval_link() -> None:
    url = LINKS.meeting_page(7, now=NOW)
    token = url.removeprefix("https://kollegan.example.com/m/")
    assert LINKS.read_meeting_page(token, now=NOW + MEETING_PAGE_TTL - timedelta(days=1)) == 7
    with pytest.raises(SignatureError):
        LINKS.read_approval_page(token, now=NOW)
    with pytest.raises(TokenExpiredError):
        LINKS.read_meeting_page(token, now=NOW + MEETING_PAGE_TTL)


def test_an_approval_reply_address_round_trips() -> None:
    address = LINKS.approval_reply_address(12, expires_at=NOW + APPROVAL_TTL)
    recipient = decode_address(address.upper(), DOMAIN)
    assert isinstance(recipient, ReplyAddress)
    assert LINKS.read_approval_reply(recipient, now=NOW) == 12
