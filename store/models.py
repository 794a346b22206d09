"""SQLAlchemy models: the tables every part meets in.

Times are stored in UTC (:class:`UTCDateTime`); a meeting also keeps the time zone its
invitation was written in. Status columns hold the stable names of ``core.types``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC; SQLite gives it back aware too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
        list[str]: JSON,
    }


# -- companies, people, agents --------------------------------------------------------------


class Company(Base):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(8), default="sv")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Stockholm")
    created_at: Mapped[datetime]

    domains: Mapped[list[CompanyDomain]] = relationship(
        back_populates="company", cascade="all, delete-orphan"
    )
    agents: Mapped[list[Agent]] = relationship(
        back_populates="company", cascade="all, delete-orphan"
    )


class CompanyDomain(Base):
    """A mail domain of the company; mail from a verified one counts as the company's own."""

    __tablename__ = "company_domains"
    __table_args__ = (UniqueConstraint("company_id", "domain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(253), index=True)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]

    company: Mapped[Company] = relationship(back_populates="domains")


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("company_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-case
    display_name: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Membership(Base):
    """A user's role in a company, or in one project of it."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "company_id", "project_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]

    user: Mapped[User] = relationship()


class Agent(Base):
    """A magic address: ``<slug>.<token>@<mail domain>``. The token is what identifies it."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(40))
    token: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    company: Mapped[Company] = relationship(back_populates="agents")


# -- mail in ----------------------------------------------------------------------------------


class InboundMessage(Base):
    """One accepted message for one recipient, raw bytes as received."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("dedupe_key", "rcpt_to"),
        Index("ix_inbound_messages_status_received_at", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    received_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16))
    mail_from: Mapped[str] = mapped_column(String(320))
    rcpt_to: Mapped[str] = mapped_column(String(320))
    message_id: Mapped[str | None] = mapped_column(String(998))
    dedupe_key: Mapped[str] = mapped_column(String(998))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    raw: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    rule_hits: Mapped[list[str]] = mapped_column(default=list)
    command: Mapped[str | None] = mapped_column(String(40))
    sender: Mapped[str | None] = mapped_column(String(320))
    sender_trusted: Mapped[bool | None]
    reason: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    processed_at: Mapped[datetime | None]


class Approval(Base):
    """A held message from a sender the company does not trust, and an admin's decision.

    One row per held message. The first pending row for a (company, sender, topic) is the
    *lead*: its approval request is mailed to the admins, and deciding it decides its
    followers (``lead_id``) too — later messages about the same thing that came meanwhile."""

    __tablename__ = "approvals"
    __table_args__ = (
        Index("ix_approvals_company_id_sender_topic", "company_id", "sender", "topic"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    inbound_id: Mapped[int] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="CASCADE"), unique=True
    )
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("approvals.id", ondelete="SET NULL"), index=True
    )
    sender: Mapped[str] = mapped_column(String(320))  # lower-case: whose trust was missing
    topic: Mapped[str] = mapped_column(String(500))  # what it is about, e.g. "uid:<UID>"
    status: Mapped[str] = mapped_column(String(16))  # pending, approved, refused
    decided_by: Mapped[str | None] = mapped_column(String(320))
    decided_via: Mapped[str | None] = mapped_column(String(16))  # link, reply
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class WebhookToken(Base):
    """Mailgun tokens already used (replay protection), kept for the freshness window."""

    __tablename__ = "webhook_tokens"

    token: Mapped[str] = mapped_column(String(128), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(index=True)


# -- meetings ---------------------------------------------------------------------------------


class MeetingSeries(Base):
    """What the organizer's calendar holds for one UID: the event, or a recurring series with
    its overrides, kept as iCalendar text. Meetings are its occurrences."""

    __tablename__ = "meeting_series"
    __table_args__ = (UniqueConstraint("company_id", "uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    uid: Mapped[str] = mapped_column(String(500))
    sequence: Mapped[int] = mapped_column(default=0)
    dtstamp: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20))  # active, cancelled
    recurring: Mapped[bool] = mapped_column(default=False)
    timezone: Mapped[str] = mapped_column(String(100))
    organizer_email: Mapped[str | None] = mapped_column(String(320))
    join_url: Mapped[str | None] = mapped_column(Text, index=True)
    ical: Mapped[str] = mapped_column(Text, deferred=True)
    horizon_end: Mapped[datetime | None]  # occurrences exist as meetings up to here
    withdrawn_at: Mapped[datetime | None]  # Kollegan was removed: updates no longer apply
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CalendarEvent(Base):
    """Every iTIP message applied to (or only recorded for) a series, with its outcome."""

    __tablename__ = "calendar_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("meeting_series.id", ondelete="CASCADE"), index=True
    )
    inbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="SET NULL")
    )
    method: Mapped[str] = mapped_column(String(20))
    uid: Mapped[str] = mapped_column(String(500))
    recurrence_id: Mapped[str] = mapped_column(String(64), default="")
    sequence: Mapped[int] = mapped_column(default=0)
    sender: Mapped[str | None] = mapped_column(String(320))
    outcome: Mapped[str] = mapped_column(String(20))  # applied, stale, unchanged, recorded, …
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class Meeting(Base):
    """One meeting (or one occurrence of a series) the agent takes part in."""

    __tablename__ = "meetings"
    __table_args__ = (UniqueConstraint("company_id", "uid", "recurrence_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("meeting_series.id", ondelete="CASCADE"), index=True
    )
    uid: Mapped[str] = mapped_column(String(500))
    recurrence_id: Mapped[str] = mapped_column(String(64), default="")  # "" for a single event
    sequence: Mapped[int] = mapped_column(default=0)
    dtstamp: Mapped[datetime | None]
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(Text, default="")
    organizer_email: Mapped[str | None] = mapped_column(String(320))
    organizer_name: Mapped[str | None] = mapped_column(String(200))
    start: Mapped[datetime] = mapped_column(index=True)
    end: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(100))  # the invitation's own zone
    all_day: Mapped[bool] = mapped_column(default=False)
    join_url: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(20), default="live", server_default="live")
    attach_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attach_at: Mapped[datetime | None]
    attached_at: Mapped[datetime | None]
    source_inbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="SET NULL")
    )
    source_message_id: Mapped[str | None] = mapped_column(String(998))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    attendees: Mapped[list[Attendee]] = relationship(
        back_populates="meeting",
        cascade="all, delete-orphan",
        order_by="Attendee.position",
    )


class AttachAttempt(Base):
    """One try to attach to a meeting's live transcript source, and what came of it."""

    __tablename__ = "attach_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    connector: Mapped[str] = mapped_column(String(40))
    attempt: Mapped[int]
    attached: Mapped[bool]
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


class Attendee(Base):
    __tablename__ = "meeting_attendees"
    __table_args__ = (UniqueConstraint("meeting_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32), default="REQ-PARTICIPANT")
    partstat: Mapped[str] = mapped_column(String(32), default="NEEDS-ACTION")

    meeting: Mapped[Meeting] = relationship(back_populates="attendees")


# -- mail out ---------------------------------------------------------------------------------


class OutboundMessage(Base):
    """A mail the agent sends, from the moment it is planned until it is handed over."""

    __tablename__ = "outbound_messages"
    __table_args__ = (Index("ix_outbound_messages_status_send_at", "status", "send_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    recipients: Mapped[list[str]] = mapped_column(JSON)
    locale: Mapped[str] = mapped_column(String(8), default="sv")
    subject: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(998))
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    raw: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    status: Mapped[str] = mapped_column(String(16))
    send_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
