"""Rendering mail from Jinja2 templates: ``templates/mail/<name>.<locale>.{subject,txt,html}``.

Swedish is the default, English the second language; a template missing in the asked-for
language falls back to Swedish. HTML is autoescaped; undefined names are errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime, format_time
from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateNotFound, select_autoescape

from core.types import Locale

DEFAULT_LOCALE = Locale.SV


@dataclass(frozen=True, slots=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("templates", "mail"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


class Renderer:
    def __init__(self) -> None:
        self._env = _environment()

    def render(self, name: str, locale: str, context: Mapping[str, Any]) -> RenderedMail:
        values = self._values(locale, context)
        subject = self._one(name, values["locale"], "subject", values)
        return RenderedMail(
            subject=" ".join(subject.split()),
            text=self._one(name, values["locale"], "txt", values),
            html=self._one(name, values["locale"], "html", values),
        )

    def render_part(self, name: str, locale: str, part: str, context: Mapping[str, Any]) -> str:
        """One more part of a mail's templates (e.g. an iMIP ``comment``), as plain text."""
        values = self._values(locale, context)
        return self._one(name, values["locale"], part, values).strip()

    def _values(self, locale: str, context: Mapping[str, Any]) -> dict[str, Any]:
        language = locale if locale in Locale.__members__.values() else DEFAULT_LOCALE
        return {**context, "locale": language, "fmt": Formatter(language)}

    def _one(self, name: str, locale: str, kind: str, values: Mapping[str, Any]) -> str:
        try:
            template = self._env.get_template(f"{name}.{locale}.{kind}")
        except TemplateNotFound:
            template = self._env.get_template(f"{name}.{DEFAULT_LOCALE}.{kind}")
        return template.render(values)


class Formatter:
    """Dates and times in the reader's language and zone (templates call ``fmt.when(...)``)."""

    def __init__(self, locale: str) -> None:
        self._locale = locale

    def when(self, moment: datetime, zone: str) -> str:
        pattern = "EEEE d MMMM y 'kl.' HH:mm" if self._locale == "sv" else "EEEE d MMMM y, HH:mm"
        return str(format_datetime(moment, pattern, tzinfo=_zone(zone), locale=self._locale))

    def time(self, moment: datetime, zone: str) -> str:
        return str(format_time(moment, "HH:mm", tzinfo=_zone(zone), locale=self._locale))

    def day(self, moment: datetime, zone: str) -> str:
        return str(
            format_datetime(moment, "EEEE d MMMM y", tzinfo=_zone(zone), locale=self._locale)
        )


def _zone(name: str) -> Any:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
