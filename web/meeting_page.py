"""``/m/<token>``: a meeting's page, linked from the agent's acceptance (its COMMENT and text).

It shows the meeting, says what Kollegan does with it and at which consent level, and has a
button that removes Kollegan from the meeting: the series and its coming meetings are
cancelled, with every mail about them not yet sent. GET changes nothing (link scanners);
POST removes. Deleting what is stored is not built yet, and the page says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agent.readers import reader_zone
from calendar_sync.withdraw import withdraw_series
from core.errors import NotFoundError, SignatureError
from core.types import MeetingStatus
from store import companies, meetings, outbound
from web.pages import Pages, link_refusal, pick_language
from web.portal import Portal

log = logging.getLogger(__name__)

CONSENT_LEVEL = "bas"  # notes only: the levels themselves arrive with the agent-core issue


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class MeetingView:
    company: str
    title: str
    start: datetime
    end: datetime
    all_day: bool
    zone: str
    recurring: bool
    organizer: Person
    attendees: list[Person] = field(default_factory=list)
    withdrawn_at: datetime | None = None
    cancelled: bool = False
    consent_level: str = CONSENT_LEVEL
    just_removed: bool = False


def meeting_routes(portal: Portal, pages: Pages) -> list[Route]:
    async def page(request: Request) -> Response:
        language = pick_language(request)
        try:
            series_id = portal.links.read_meeting_page(
                request.path_params["token"], now=portal.now()
            )
        except SignatureError as exc:  # TokenExpiredError too
            return link_refusal(pages, language, "meeting", exc)
        try:
            if request.method == "POST":
                view = await run_in_threadpool(_remove, portal, series_id)
            else:
                view = await run_in_threadpool(_look, portal, series_id)
        except NotFoundError:
            return pages.response("link-problem", language, status_code=404, problem="gone")
        return pages.response("meeting", language, view=view)

    return [Route("/m/{token}", page, methods=["GET", "POST"])]


def _look(portal: Portal, series_id: int) -> MeetingView:
    with portal.db.reader() as session:
        return _view(session, portal, series_id)


def _remove(portal: Portal, series_id: int) -> MeetingView:
    now = portal.now()
    with portal.db.session() as session:
        cancelled = withdraw_series(
            session, series_id, now, detail="removed on the meeting page (/m/)"
        )
        unsent = outbound.cancel_scheduled_for(session, cancelled, now)
        if cancelled:
            log.info(
                "series %s: Kollegan removed; %d meeting(s), %d mail(s) cancelled",
                series_id,
                len(cancelled),
                unsent,
            )
        return replace(_view(session, portal, series_id), just_removed=True)


def _view(session: Session, portal: Portal, series_id: int) -> MeetingView:
    series = meetings.get_series(session, series_id)
    company = companies.get_company(session, series.company_id)
    listed = list(meetings.occurrences_of(session, series.id))
    if not listed:
        raise NotFoundError(f"series {series_id} has no meetings")
    now = portal.now()
    coming = [m for m in listed if m.end >= now and m.status != MeetingStatus.CANCELLED]
    meeting = coming[0] if coming else listed[-1]
    agent_domain = "@" + portal.mail_domain
    return MeetingView(
        company=company.name,
        title=meeting.title,
        start=meeting.start,
        end=meeting.end,
        all_day=meeting.all_day,
        zone=reader_zone(None, meeting.timezone, company.timezone) or portal.default_timezone,
        recurring=series.recurring,
        organizer=Person(meeting.organizer_name or "", meeting.organizer_email or ""),
        attendees=[
            Person(a.name or "", a.email)
            for a in meeting.attendees
            if not a.email.endswith(agent_domain)
        ],
        withdrawn_at=series.withdrawn_at,
        cancelled=not coming,
    )
