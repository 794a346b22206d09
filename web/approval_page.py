"""``/a/<token>``: the page behind an approval request's signed links.

GET only shows the question — mail systems' link scanners fetch every link, and must decide
nothing — and POST (the page's button) decides. A forged link is refused (404) and an expired
one too (410); both are logged, without the token. Nothing changes then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.errors import NotFoundError, ParseError, SignatureError
from core.links import ApprovalLink
from inbox.approvals import Decision, decide
from inbox.parse import parse_message
from store import approvals, companies, inbound
from store.models import Approval
from web.pages import Pages, link_refusal, pick_language
from web.portal import Portal

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ApprovalView:
    """What the page shows about one approval."""

    company: str
    zone: str
    sender: str
    subject: str
    received_at: datetime
    status: str
    decided_by: str | None  # an admin's address when they answered by mail
    decided_via: str | None  # link, reply
    decided_at: datetime | None
    just_decided: bool = False


def approval_routes(portal: Portal, pages: Pages) -> list[Route]:
    async def page(request: Request) -> Response:
        language = pick_language(request)
        try:
            link = portal.links.read_approval_page(request.path_params["token"], now=portal.now())
        except SignatureError as exc:  # TokenExpiredError too
            return link_refusal(pages, language, "approval", exc)
        try:
            if request.method == "POST":
                view = await run_in_threadpool(_decide, portal, link)
                await run_in_threadpool(portal.after_change)
            else:
                view = await run_in_threadpool(_look, portal, link.approval_id)
        except NotFoundError:
            return pages.response("link-problem", language, status_code=404, problem="gone")
        return pages.response("approval", language, decision=link.decision, view=view)

    return [Route("/a/{token}", page, methods=["GET", "POST"])]


def _look(portal: Portal, approval_id: int) -> ApprovalView:
    with portal.db.reader() as session:
        approval = approvals.get_approval(session, approval_id)
        if approval.lead_id is not None:
            approval = approvals.get_approval(session, approval.lead_id)
        return _view(session, approval)


def _decide(portal: Portal, link: ApprovalLink) -> ApprovalView:
    with portal.db.session() as session:
        decided = decide(
            session,
            link.approval_id,
            Decision(link.decision),
            decided_by=None,
            via="link",
            commands=portal.commands,
            mail_domain=portal.mail_domain,
            now=portal.now(),
        )
        if decided.changed:
            log.info("approval %s %s via link", decided.approval.id, decided.approval.status)
        return _view(session, decided.approval, just_decided=decided.changed)


def _view(session: Session, approval: Approval, *, just_decided: bool = False) -> ApprovalView:
    company = companies.get_company(session, approval.company_id)
    held = inbound.get_inbound(session, approval.inbound_id, with_raw=True)
    try:
        subject = parse_message(held.raw).subject
    except ParseError:  # kept whatever its bytes; the page shows without a subject then
        subject = ""
    return ApprovalView(
        company=company.name,
        zone=company.timezone,
        sender=approval.sender,
        subject=subject,
        received_at=held.received_at,
        status=approval.status,
        decided_by=approval.decided_by,
        decided_via=approval.decided_via,
        decided_at=approval.decided_at,
        just_decided=just_decided,
    )
