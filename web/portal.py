"""What the pages behind signed links need from the rest of Kollegan (wired by the
composition root)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from core.links import Links
from inbox.process import Command
from store.db import Database


@dataclass(frozen=True, slots=True)
class Portal:
    db: Database
    links: Links
    now: Callable[[], datetime]
    commands: Mapping[str, Command]  # an approval re-processes held messages with them
    mail_domain: str
    default_timezone: str
    after_change: Callable[[], None]  # after a commit that planned mail: deliver what is due
