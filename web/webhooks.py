"""``POST /webhooks/mailgun/mime``: Mailgun's raw-MIME inbound route.

``200`` once the message is stored; ``401`` unsigned, badly signed or stale; ``406`` refused
for good (replayed token, unknown recipient, not raw MIME, too large, unreadable form) —
Mailgun does not retry a 406; ``503`` when we cannot store it now or the key is not
configured — Mailgun retries. The body is read here, bounded, and ``body-mime`` is stored
byte for byte (see :mod:`web.forms`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from core.errors import ParseError, SignatureError, StoreUnavailableError
from core.types import Source
from inbox import mailgun
from inbox.addressing import RecipientResolver
from inbox.ingest import Accepted, store_message
from store.db import Database
from store.inbound import remember_webhook_token
from web import forms

log = logging.getLogger(__name__)

FORM_OVERHEAD = 3  # percent-encoding writes a byte as three characters at worst
FIELDS_ALLOWANCE = 1024 * 1024  # Mailgun repeats the headers as fields and in message-headers
STATUS = {
    mailgun.Refusal.NOT_CONFIGURED: 503,
    mailgun.Refusal.UNSIGNED: 401,
    mailgun.Refusal.BAD_SIGNATURE: 401,
    mailgun.Refusal.STALE: 401,
    mailgun.Refusal.REPLAY: 406,
    mailgun.Refusal.NOT_MIME: 406,
    mailgun.Refusal.TOO_LARGE: 406,
    mailgun.Refusal.UNKNOWN_RECIPIENT: 406,
    mailgun.Refusal.UNREADABLE: 406,
}


@dataclass(frozen=True, slots=True)
class MailgunEndpoint:
    db: Database
    resolver: RecipientResolver
    signing_key: str | None
    max_age: timedelta
    max_message_size: int
    now: Callable[[], datetime]
    on_stored: Callable[[Accepted], None]

    async def handle(self, request: Request) -> JSONResponse:
        if not self.signing_key:
            return _refuse(mailgun.Refusal.NOT_CONFIGURED)
        limit = FORM_OVERHEAD * self.max_message_size + FIELDS_ALLOWANCE
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return _refuse(mailgun.Refusal.TOO_LARGE)
        try:
            body = await forms.read_body(request.stream(), limit)
        except forms.TooLargeError:
            return _refuse(mailgun.Refusal.TOO_LARGE)
        content_type = request.headers.get("content-type", "")
        try:
            fields = await run_in_threadpool(forms.parse_form, content_type, body)
        except ParseError:
            return _refuse(mailgun.Refusal.UNREADABLE)
        vetted = self._vet(self.signing_key, fields)
        if isinstance(vetted, mailgun.Refusal):
            return _refuse(vetted)
        raw, token = vetted
        return await self._store(fields, raw, token)

    def _vet(self, key: str, fields: Mapping[str, bytes]) -> tuple[bytes, str] | mailgun.Refusal:
        """The raw message and the token when the POST is signed, fresh, MIME and not too big."""
        try:
            signed = mailgun.verify(key, _text(fields), now=self.now(), max_age=self.max_age)
        except SignatureError as exc:
            return mailgun.Refusal(str(exc))
        raw = fields.get("body-mime")
        if not raw:
            return mailgun.Refusal.NOT_MIME
        if len(raw) > self.max_message_size:
            return mailgun.Refusal.TOO_LARGE
        return raw, signed.token

    async def _store(self, fields: Mapping[str, bytes], raw: bytes, token: str) -> JSONResponse:
        try:
            outcome = await run_in_threadpool(self._store_sync, fields, raw, token)
        except StoreUnavailableError as exc:
            log.warning("Mailgun POST deferred, store unavailable: %s", exc)
            return JSONResponse({"error": "temporarily unavailable"}, status_code=503)
        if isinstance(outcome, mailgun.Refusal):
            return _refuse(outcome)
        return JSONResponse(
            {"stored": list(outcome.ids)},
            background=BackgroundTask(self._notify, outcome) if outcome.new_ids else None,
        )

    def _store_sync(
        self, fields: Mapping[str, bytes], raw: bytes, token: str
    ) -> Accepted | mailgun.Refusal:
        text = _text(fields)
        recipients = [
            resolved
            for address in mailgun.recipients_of(text)
            if (resolved := self.resolver.resolve(address, recheck_unknown=True)) is not None
        ]
        if not recipients:
            return mailgun.Refusal.UNKNOWN_RECIPIENT
        with self.db.session() as session:
            if not remember_webhook_token(session, token, self.now()):
                return mailgun.Refusal.REPLAY
            return store_message(
                session,
                raw,
                mail_from=mailgun.sender_of(text),
                recipients=recipients,
                source=Source.MAILGUN,
                now=self.now(),
            )

    def _notify(self, accepted: Accepted) -> None:
        try:
            self.on_stored(accepted)
        except Exception:
            log.exception("could not enqueue inbound %s", accepted.new_ids)


def _text(fields: Mapping[str, bytes]) -> dict[str, str]:
    """The few text fields we read, as UTF-8 (an undecodable byte cannot verify or match)."""
    return {
        name: fields[name].decode("utf-8", "replace")
        for name in mailgun.TEXT_FIELDS
        if name in fields
    }


def _refuse(refusal: mailgun.Refusal) -> JSONResponse:
    return JSONResponse({"error": refusal.value}, status_code=STATUS[refusal])
