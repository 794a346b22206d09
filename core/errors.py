"""Errors every part may raise; each carries a message fit to show a user."""

from __future__ import annotations

from datetime import datetime


class KolleganError(Exception):
    """Base of Kollegan's own errors."""


class SettingsError(KolleganError):
    """A setting is missing or wrong; the message names the variable."""


class AddressError(KolleganError):
    """An address is not one of ours, or not an address at all."""


class ParseError(KolleganError):
    """A message (or a part of one) could not be parsed."""


class CalendarError(KolleganError):
    """An iCalendar object could not be understood; ``code`` names the refusal."""

    def __init__(self, message: str, code: str = "unreadable") -> None:
        super().__init__(message)
        self.code = code


class SignatureError(KolleganError):
    """A signature, token or timestamp did not verify."""


class TokenExpiredError(SignatureError):
    """A signed token verified, but its time is up."""

    def __init__(self, message: str, expired_at: datetime | None = None) -> None:
        super().__init__(message)
        self.expired_at = expired_at


class NotFoundError(KolleganError):
    """A row asked for by id does not exist."""


class ConflictError(KolleganError):
    """The request contradicts what is stored (e.g. a slug already taken)."""


class StoreUnavailableError(KolleganError):
    """The database cannot be reached right now; the caller should ask to retry later."""


class SendError(KolleganError):
    """Mail could not be handed to the relay."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
