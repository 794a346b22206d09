"""The grammar of our own addresses: encode/decode round-trips, role addresses, hostile text."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.addresses import (
    MAX_ADDRESS_LENGTH,
    MAX_LOCAL_LENGTH,
    TOKEN_ALPHABET,
    TOKEN_LENGTH,
    AgentAddress,
    ReplyAddress,
    RoleAddress,
    decode_address,
    encode_agent_address,
    encode_reply_address,
    is_valid_slug,
    new_token,
)
from core.errors import AddressError

DOMAIN = "kollegan.test"

slugs = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?", fullmatch=True)
tokens = st.text(alphabet=TOKEN_ALPHABET, min_size=TOKEN_LENGTH, max_size=TOKEN_LENGTH)
domains = st.lists(
    st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True), min_size=2, max_size=4
).map(".".join)


def _mixed_case(text: str, flips: list[bool]) -> str:
    return (
        "".join(c.upper() if flip else c for c, flip in zip(text, flips, strict=False))
        + text[len(flips) :]
    )


# -- agents ---------------------------------------------------------------------------------


@given(slug=slugs, token=tokens, domain=domains)
def test_an_encoded_agent_address_decodes_to_the_same_agent(
    slug: str, token: str, domain: str
) -> None:
    address = encode_agent_address(slug, token, domain)
    assert decode_address(address, domain) == AgentAddress(slug=slug, token=token)
    assert AgentAddress(slug, token).render(domain) == address


@given(
    slug=slugs,
    token=tokens,
    separator=st.sampled_from([".", "+"]),
    flips=st.lists(st.booleans(), max_size=80),
    brackets=st.booleans(),
    trailing_dot=st.booleans(),
)
def test_either_separator_any_letter_case_and_angle_brackets_name_the_same_agent(
    *,
    slug: str,
    token: str,
    separator: str,
    flips: list[bool],
    brackets: bool,
    trailing_dot: bool,
) -> None:
    address = _mixed_case(f"{slug}{separator}{token}@{DOMAIN}", flips)
    if trailing_dot:
        address += "."
    if brackets:
        address = f"<{address}>"
    assert decode_address(address, DOMAIN) == AgentAddress(slug=slug, token=token)


def test_the_configured_domain_is_compared_without_regard_to_case() -> None:
    token = new_token()
    assert decode_address(f"acme.{token}@kollegan.test", "Kollegan.TEST") == AgentAddress(
        "acme", token
    )


@settings(max_examples=200)
@given(st.data())
def test_new_tokens_are_valid_and_decode(data: st.DataObject) -> None:
    token = new_token()
    assert len(token) == TOKEN_LENGTH
    assert set(token) <= set(TOKEN_ALPHABET)
    slug = data.draw(slugs)
    assert decode_address(f"{slug}+{token}@{DOMAIN}", DOMAIN) == AgentAddress(slug, token)


def test_new_tokens_differ() -> None:
    assert len({new_token() for _ in range(1000)}) == 1000


@pytest.mark.parametrize(
    "address",
    [
        "acme@kollegan.test",  # no token
        "acme.k3vq7xw2m4pa@other.example",  # not our domain
        "acme.k3vq7xw2m4pa@kollegan.test.evil.example",
        "acme.k3vq7xw2m4pa",  # no domain, not a role
        "acme.k3vq7xw2m4p@kollegan.test",  # token one short
        "acme.k3vq7xw2m4paa@kollegan.test",  # token one long
        "acme.k3vq7xw2m4p1@kollegan.test",  # '1' is not in the alphabet
        "acme.k3vq7xw2m4pa\n@kollegan.test",  # a trailing newline is not part of a token
        "acme\n.k3vq7xw2m4pa@kollegan.test",
        "-acme.k3vq7xw2m4pa@kollegan.test",  # slug may not start with '-'
        "acme_co.k3vq7xw2m4pa@kollegan.test",
        "acme-k3vq7xw2m4pa@kollegan.test",  # '-' is not a separator
        '"acme.k3vq7xw2m4pa"@kollegan.test',
        "acme.\u212a3vq7xw2m4pa@kollegan.test",  # KELVIN SIGN lower-cases to 'k'
        "acme.k3vq7xw2m4pa@\u212aollegan.test",
        "<>",
        "",
        "   ",
        "@kollegan.test",
        "postmaster@other.example",
        "x" * (MAX_ADDRESS_LENGTH - len("@kollegan.test") + 1) + "@kollegan.test",
    ],
)
def test_addresses_that_name_none_of_ours_are_refused(address: str) -> None:
    with pytest.raises(AddressError):
        decode_address(address, DOMAIN)


def test_an_address_must_be_text() -> None:
    with pytest.raises(AddressError):
        decode_address(b"acme.k3vq7xw2m4pa@kollegan.test", DOMAIN)  # type: ignore[arg-type]


@pytest.mark.parametrize("slug", ["", "Acme", "acme\n", "acme-", "a" * 41, "åäö", "ac.me"])
def test_invalid_slugs_are_refused_when_encoding(slug: str) -> None:
    assert not is_valid_slug(slug)
    with pytest.raises(AddressError):
        encode_agent_address(slug, new_token(), DOMAIN)


@pytest.mark.parametrize("token", ["", "short", "K3VQ7XW2M4PA", "k3vq7xw2m4pa\n", "k3vq7xw2m4p0"])
def test_invalid_tokens_are_refused_when_encoding(token: str) -> None:
    with pytest.raises(AddressError):
        encode_agent_address("acme", token, DOMAIN)


@given(st.text())
@example("acme\n")
@example("acme")
def test_a_valid_slug_is_only_lower_case_ascii_letters_digits_and_hyphens(slug: str) -> None:
    if is_valid_slug(slug):
        assert re.fullmatch(r"[a-z0-9-]{1,40}", slug)
        assert not slug.startswith("-")
        assert not slug.endswith("-")


# -- role addresses (RFC 5321 §4.5.1, RFC 2142) ---------------------------------------------


@given(
    role=st.sampled_from(["postmaster", "abuse"]),
    flips=st.lists(st.booleans(), max_size=10),
    with_domain=st.booleans(),
    brackets=st.booleans(),
)
@example(role="postmaster", flips=[True], with_domain=False, brackets=True)  # <Postmaster>
def test_postmaster_and_abuse_decode_with_or_without_domain_in_any_case(
    role: str, flips: list[bool], with_domain: bool, brackets: bool
) -> None:
    address = _mixed_case(role, flips)
    if with_domain:
        address += "@" + DOMAIN.upper()
    if brackets:
        address = f"<{address}>"
    assert decode_address(address, DOMAIN) == RoleAddress(role)


# -- reply addresses ------------------------------------------------------------------------

reply_tokens = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=16),
    min_size=2,
    max_size=3,
).map("-".join)


@given(token=reply_tokens, domain=domains)
def test_an_encoded_reply_address_decodes_to_the_same_reply(token: str, domain: str) -> None:
    address = encode_reply_address("approval", token, domain)
    assert decode_address(address, domain) == ReplyAddress("approval", token)
    assert ReplyAddress("approval", token).render(domain) == address


@given(
    token=reply_tokens,
    separator=st.sampled_from([".", "+"]),
    flips=st.lists(st.booleans(), max_size=80),
    brackets=st.booleans(),
)
def test_a_reply_address_survives_either_separator_and_any_letter_case(
    token: str, separator: str, flips: list[bool], brackets: bool
) -> None:
    address = _mixed_case(f"approval{separator}{token}@{DOMAIN}", flips)
    if brackets:
        address = f"<{address}>"
    assert decode_address(address, DOMAIN) == ReplyAddress("approval", token)


def test_a_company_called_approval_keeps_its_agent_address() -> None:
    token = new_token()
    assert decode_address(f"approval.{token}@{DOMAIN}", DOMAIN) == AgentAddress("approval", token)


@pytest.mark.parametrize(
    "address",
    [
        "approval@kollegan.test",  # no token
        "approval+abc@kollegan.test",  # a token has at least one '-'
        "approval+-abc@kollegan.test",
        "approval+abc-@kollegan.test",
        "approval+ab--cd@kollegan.test",
        "approval+ab_cd-ef@kollegan.test",
        "approval+ab.cd-ef@kollegan.test",
        "nudge+ab-cd@kollegan.test",  # not a kind of ours
        "approval+ab-cd@other.example",
        "approval+" + "-".join(["a" * 20] * 3) + "@kollegan.test",  # local part over 64
    ],
)
def test_reply_addresses_that_are_not_ours_are_refused(address: str) -> None:
    with pytest.raises(AddressError):
        decode_address(address, DOMAIN)


@pytest.mark.parametrize(
    ("kind", "token"), [("nudge", "ab-cd"), ("approval", "abcd"), ("approval", "AB-CD")]
)
def test_invalid_reply_addresses_are_refused_when_encoding(kind: str, token: str) -> None:
    with pytest.raises(AddressError):
        encode_reply_address(kind, token, DOMAIN)


# -- hostile text ---------------------------------------------------------------------------

address_like = st.builds(
    lambda local, at, host: local + at + host,
    st.one_of(
        st.text(
            alphabet=st.sampled_from('acmek3vq7xw2m4p.+-<>@ \t\n"\\Kk\u212a\u0130\x00'),
            max_size=40,
        ),
        st.builds(
            lambda kind, rest: kind + rest,
            st.sampled_from(["approval+", "approval.", "Approval+", "approva1+"]),
            st.text(alphabet=st.sampled_from("ab9-.+_ \n\u212a"), max_size=70),
        ),
    ),
    st.sampled_from(["@", "", "@@", "<@"]),
    st.sampled_from([DOMAIN, DOMAIN.upper() + ".", "", "other.example", DOMAIN + ">"]),
)


@settings(max_examples=1000)
@given(address=st.one_of(st.text(), address_like), domain=st.one_of(st.just(DOMAIN), st.text()))
@example(address="acme.\u212a3vq7xw2m4pa@kollegan.test", domain=DOMAIN)
@example(address="acme.k3vq7xw2m4pa\n@kollegan.test", domain=DOMAIN)
def test_decoding_any_text_returns_a_recipient_or_raises_address_error(
    address: str, domain: str
) -> None:
    try:
        recipient = decode_address(address, domain)
    except AddressError:
        return
    if isinstance(recipient, AgentAddress):
        assert is_valid_slug(recipient.slug)
        assert re.fullmatch(f"[{TOKEN_ALPHABET}]{{{TOKEN_LENGTH}}}", recipient.token)
        assert decode_address(recipient.render(domain), domain) == recipient
        assert address.strip().strip("<>").isascii()
    elif isinstance(recipient, ReplyAddress):
        assert recipient.kind == "approval"
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)+", recipient.token)
        assert len(recipient.kind) + 1 + len(recipient.token) <= MAX_LOCAL_LENGTH
        assert decode_address(recipient.render(domain), domain) == recipient
    else:
        assert recipient.role in ("postmaster", "abuse")
