"""Handing mail over: a local Maildir (embedded default) or an SMTP relay.

``KOLLEGAN_OUTBOX_URL``: unset → Maildir in the data dir; ``maildir:/path``;
``smtp://user:pass@host:587`` (STARTTLS when the relay offers it; ``?starttls=require`` to
insist); ``smtps://user:pass@host:465`` (TLS from the start).
"""

from __future__ import annotations

import mailbox
import smtplib
import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from core.errors import SendError, SettingsError

SMTP_TIMEOUT = 30.0


class Sender(Protocol):
    def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> None:
        """Hand the mail over or raise :class:`SendError` (``permanent``: retrying is futile)."""
        ...


class MaildirSender:
    """Writes each mail into ``<path>/new`` — read it with any mail client or ``mutt -f``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> None:
        envelope = (
            f"X-Kollegan-Envelope-From: <{mail_from}>\r\n"
            f"X-Kollegan-Envelope-To: {', '.join(f'<{r}>' for r in recipients)}\r\n"
        ).encode()
        try:
            box = mailbox.Maildir(self.path, create=True)
            box.add(envelope + raw)
        except OSError as exc:
            raise SendError(f"cannot write to the Maildir {self.path}: {exc.strerror}") from exc


class SmtpRelaySender:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        implicit_tls: bool,
        starttls: str = "auto",
        username: str | None = None,
        password: str | None = None,
        timeout: float = SMTP_TIMEOUT,
        local_hostname: str | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.implicit_tls, self.starttls = implicit_tls, starttls
        self.username, self.password = username, password
        self.timeout = timeout
        self.local_hostname = local_hostname

    def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> None:
        try:
            with self._connect() as client:
                refused = client.sendmail(mail_from, list(recipients), raw)
        except smtplib.SMTPAuthenticationError as exc:
            # temporary on purpose: the operator fixes KOLLEGAN_OUTBOX_URL, the mail waits
            raise SendError(
                f"relay refused the login ({exc.smtp_code}): check KOLLEGAN_OUTBOX_URL"
            ) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise SendError(
                f"relay refused every recipient: {_first(exc.recipients)}",
                permanent=all(code >= 500 for code in codes),
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise SendError(
                f"relay answered {exc.smtp_code} {_text(exc.smtp_error)}",
                permanent=exc.smtp_code >= 500,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(f"relay {self.host}:{self.port} unreachable: {exc}") from exc
        if refused:
            raise SendError(f"relay refused some recipients: {_first(refused)}", permanent=True)

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.implicit_tls:
            client = smtplib.SMTP_SSL(
                self.host,
                self.port,
                timeout=self.timeout,
                context=context,
                local_hostname=self.local_hostname,
            )
        else:
            client = smtplib.SMTP(
                self.host, self.port, timeout=self.timeout, local_hostname=self.local_hostname
            )
        try:
            client.ehlo()
            if not self.implicit_tls and self.starttls != "never":
                if client.has_extn("starttls"):
                    client.starttls(context=context)
                    client.ehlo()
                elif self.starttls == "require":
                    raise SendError("relay does not offer STARTTLS", permanent=False)
            if self.username:
                client.login(self.username, self.password or "")
        except BaseException:
            client.close()
            raise
        return client


def _first(refusals: dict[str, tuple[int, bytes]]) -> str:
    address, (code, message) = next(iter(refusals.items()))
    return f"{address}: {code} {_text(message)}"


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def make_sender(outbox_url: str | None, maildir: Path, local_hostname: str | None = None) -> Sender:
    """The sender ``KOLLEGAN_OUTBOX_URL`` names."""
    if not outbox_url:
        return MaildirSender(maildir)
    if outbox_url.startswith("maildir:"):
        return MaildirSender(Path(outbox_url.removeprefix("maildir:").removeprefix("//")))
    parts = urlsplit(outbox_url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise SettingsError("KOLLEGAN_OUTBOX_URL: expected smtp://host:port or smtps://host:port")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 587)
    except ValueError:
        raise SettingsError("KOLLEGAN_OUTBOX_URL: the port is not a number") from None
    starttls = parse_qs(parts.query).get("starttls", ["auto"])[0]
    if starttls not in ("auto", "require", "never"):
        raise SettingsError("KOLLEGAN_OUTBOX_URL: starttls must be auto, require or never")
    return SmtpRelaySender(
        parts.hostname,
        port,
        implicit_tls=parts.scheme == "smtps",
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        local_hostname=local_hostname,
    )
