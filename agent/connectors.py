"""How the agent attaches to a meeting as it starts: one protocol, connectors behind it.

Real transcript sources (Teams, Zoom, Meet) come later; this issue ships the interface and a
connector that records each attempt and reports that no live source is available — so every
meeting is, honestly, analysed after the fact from the notes people send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class MeetingView:
    meeting_id: int
    title: str
    start: datetime
    join_url: str | None


@dataclass(frozen=True, slots=True)
class AttachResult:
    attached: bool
    detail: str


class Connector(Protocol):
    name: str

    def attach(self, meeting: MeetingView, attempt: int) -> AttachResult:
        """Try to attach to the live meeting (its transcript); never raise for a refusal."""
        ...


class RecordingConnector:
    """Records the attempt; there is no live transcript source yet."""

    name = "recording"

    def __init__(self) -> None:
        self.attempts: list[tuple[int, int]] = []

    def attach(self, meeting: MeetingView, attempt: int) -> AttachResult:
        self.attempts.append((meeting.meeting_id, attempt))
        where = "its join link" if meeting.join_url else "no join link"
        return AttachResult(False, f"no live transcript source for {where} yet")
