"""The Huey instance (a leaf: nothing here knows what the tasks do).

Redis in production; embedded, a SQLite file in the data dir. Queue entries are only
notifications — the database row is the durable record — so a lost entry costs a delay until
the next sweep, never a message.
"""

from __future__ import annotations

from pathlib import Path

from huey import RedisHuey, SqliteHuey
from huey.api import Huey

QUEUE_NAME = "kollegan"


def make_huey(
    *, redis_url: str | None, queue_path: Path, name: str = QUEUE_NAME, immediate: bool = False
) -> Huey:
    if redis_url:
        return RedisHuey(name=name, url=redis_url, results=False, utc=True, immediate=immediate)
    queue_path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        name=name,
        filename=str(queue_path),
        results=False,
        utc=True,
        fsync=False,  # a lost entry is found again by the sweep
        timeout=30,
        immediate=immediate,
    )
