"""``kollegan demo``: a scripted tour of the e-mail loop, narrated step by step.

1. a demo company and its magic address (made once, kept);
2. an invitation for a meeting two hours ahead, sent by SMTP — to the running service when
   one listens on KOLLEGAN_SMTP_PORT, else to an intake this command starts for the tour;
3. the pre-brief the agent mailed back, printed.
"""

from __future__ import annotations

import smtplib
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from core.addresses import new_token
from core.errors import KolleganError, NotFoundError
from core.settings import Settings
from core.types import OutboundKind
from inbox.smtp import serving_in_thread
from kollegan.app import App
from kollegan.samples import sample_invitation
from kollegan.views import company_json, text_part
from store import companies, meetings, outbound

DEMO_SLUG = "demo"
ORGANIZER = ("anna.berg@demo.example", "Anna Berg")
ATTENDEES = [("erik.lind@demo.example", "Erik Lind"), ("sara.holm@partner.example", "Sara Holm")]
WAIT_SECONDS = 30.0


def run_demo(
    settings: Settings,
    *,
    start_worker: Callable[[App, int], Any],
    open_app: Callable[[Settings], App],
) -> int:
    app = open_app(settings)
    address = _demo_address(app)
    print(f"1. Demoföretaget har den magiska adressen {address}")
    now = app.clock.now()
    start = (now + timedelta(hours=2)).replace(second=0, microsecond=0)
    uid = f"demo-{uuid.uuid4()}@demo.example"
    raw = sample_invitation(
        uid=uid,
        to=address,
        organizer=ORGANIZER[0],
        organizer_name=ORGANIZER[1],
        attendees=ATTENDEES,
        title="Styrgruppsmöte: budget 2027",
        start=start,
        agenda="1. Utfall hittills i år\n2. Budgetförslag 2027\n3. Beslut om nästa steg",
        join_url=f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{uid[5:17]}%40thread.v2/0",
        now=now,
    )
    with _smtp_endpoint(app, settings, start_worker) as (host, port, where):
        print(f"2. Skickar en inbjudan via SMTP till {host}:{port} ({where})")
        with smtplib.SMTP(host, port, timeout=30) as client:
            client.sendmail(ORGANIZER[0], [address], raw)
        row_id = _wait_for_prebrief(app, uid)
    with app.db.reader() as session:
        row = outbound.get_outbound(session, row_id, with_raw=True)
        meeting = meetings.get_meeting(session, row.meeting_id or 0)
        print(f"3. Mötet {meeting.title!r} börjar {meeting.start:%Y-%m-%d %H:%M} UTC;")
        print(f"   underlaget gick till {', '.join(row.recipients)}:\n")
        print(text_part(row.raw or b""))
    if not settings.outbox_url:
        print(f"(Alla utgående mejl ligger i Maildir-katalogen {settings.maildir_path})")
    return 0


def _demo_address(app: App) -> str:
    with app.db.session() as session:
        try:
            company = companies.get_company_by_slug(session, DEMO_SLUG)
        except NotFoundError:
            company, _ = companies.create_company(
                session,
                name="Demo AB",
                slug=DEMO_SLUG,
                domains=["demo.example"],
                admin_email=ORGANIZER[0],
                token=new_token(),
                now=app.clock.now(),
            )
        addresses = company_json(company, app.settings.mail_domain)["addresses"]
    if not addresses:
        raise KolleganError("the demo company has no live address (rotate-address demo)")
    return str(addresses[0])


def _is_listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


@contextmanager
def _smtp_endpoint(
    app: App, settings: Settings, start_worker: Callable[[App, int], Any]
) -> Iterator[tuple[str, int, str]]:
    if _is_listening(settings.smtp_host, settings.smtp_port):
        yield settings.smtp_host, settings.smtp_port, "den Kollegan som redan kör"
        return
    consumer = start_worker(app, 1)
    intake = app.smtp_intake(host="127.0.0.1", port=0)
    try:
        with serving_in_thread(intake, timeout=10):
            yield "127.0.0.1", intake.port, "ett SMTP-intag som demon startade"
    finally:
        consumer.stop(graceful=True)


def _wait_for_prebrief(app: App, uid: str) -> int:
    """The id of the sent pre-brief of the meeting with ``uid``, once it is sent."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        with app.db.reader() as session:
            found = meetings.list_meetings(session, limit=1000)
            meeting = next((m for m in found if m.uid == uid), None)
            rows = outbound.list_for_meeting(session, meeting.id) if meeting else []
            sent = [r for r in rows if r.kind == OutboundKind.PRE_BRIEF and r.status == "sent"]
            if sent:
                return sent[0].id
        time.sleep(0.2)
    raise KolleganError(
        f"no pre-brief within {WAIT_SECONDS:.0f} s — is the worker running? "
        "See 'kollegan inbound list'"
    )
