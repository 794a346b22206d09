"""The signed links and reply addresses the agent puts in its mail (and reads back).

One place knows their shapes: ``/a/<token>`` (an admin's approve/refuse page),
``/m/<token>`` (a meeting's page: what Kollegan does there, and its removal) and
``approval+<token>@<mail domain>`` (the reply address of an approval request).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.addresses import ReplyAddress
from core.errors import SignatureError
from core.signing import Purpose, TokenSigner

APPROVAL_TTL = timedelta(days=30)  # an approval request's links and reply address
MEETING_PAGE_TTL = timedelta(days=400)  # the link sits in organizers' calendars for long
APPROVAL_KIND = "approval"  # the reply address kind: approval+<token>@<mail domain>
DECISIONS = ("approve", "refuse")


@dataclass(frozen=True, slots=True)
class ApprovalLink:
    approval_id: int
    decision: str  # one of DECISIONS


@dataclass(frozen=True, slots=True)
class Links:
    public_url: str  # no trailing slash
    mail_domain: str
    signer: TokenSigner

    def approval_page(self, approval_id: int, decision: str, *, expires_at: datetime) -> str:
        if decision not in DECISIONS:
            raise ValueError(f"no such decision: {decision!r}")
        token = self.signer.sign(
            Purpose.APPROVAL_LINK, {"a": approval_id, "d": decision}, expires_at=expires_at
        )
        return f"{self.public_url}/a/{token}"

    def read_approval_page(self, token: str, *, now: datetime) -> ApprovalLink:
        value = self.signer.verify(Purpose.APPROVAL_LINK, token, now=now)
        approval_id, decision = value.get("a"), value.get("d")
        if not isinstance(approval_id, int) or decision not in DECISIONS:
            raise SignatureError("the link names no approval")
        return ApprovalLink(approval_id, str(decision))

    def approval_reply_address(self, approval_id: int, *, expires_at: datetime) -> str:
        token = self.signer.sign_reference(
            Purpose.APPROVAL_REPLY, approval_id, expires_at=expires_at
        )
        return ReplyAddress(APPROVAL_KIND, token).render(self.mail_domain)

    def read_approval_reply(self, address: ReplyAddress, *, now: datetime) -> int:
        if address.kind != APPROVAL_KIND:
            raise SignatureError(f"not an approval reply address ({address.kind})")
        return self.signer.verify_reference(Purpose.APPROVAL_REPLY, address.token, now=now)

    def meeting_page(self, series_id: int, *, now: datetime) -> str:
        token = self.signer.sign(
            Purpose.MEETING_PAGE, {"s": series_id}, expires_at=now + MEETING_PAGE_TTL
        )
        return f"{self.public_url}/m/{token}"

    def read_meeting_page(self, token: str, *, now: datetime) -> int:
        series_id = self.signer.verify(Purpose.MEETING_PAGE, token, now=now).get("s")
        if not isinstance(series_id, int):
            raise SignatureError("the link names no meeting")
        return series_id
