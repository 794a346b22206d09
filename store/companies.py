"""Companies, their domains, members and agents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.errors import ConflictError, NotFoundError
from core.types import Role
from store.models import Agent, Company, CompanyDomain, Membership, User


@dataclass(frozen=True, slots=True)
class AgentRef:
    """What the SMTP intake needs to know about a live agent."""

    agent_id: int
    company_id: int
    slug: str


def create_company(
    session: Session,
    *,
    name: str,
    slug: str,
    domains: Sequence[str],
    admin_email: str | None,
    token: str,
    now: datetime,
    locale: str = "sv",
    timezone: str = "Europe/Stockholm",
) -> tuple[Company, Agent]:
    if session.execute(select(Company.id).where(Company.slug == slug)).first():
        raise ConflictError(f"a company with slug {slug!r} already exists")
    company = Company(slug=slug, name=name, locale=locale, timezone=timezone, created_at=now)
    session.add(company)
    for domain in dict.fromkeys(d.lower().strip() for d in domains if d.strip()):
        company.domains.append(CompanyDomain(domain=domain, verified=True, created_at=now))
    agent = Agent(slug=slug, token=token, created_at=now)
    company.agents.append(agent)
    session.flush()
    if admin_email:
        add_member(session, company, admin_email, Role.OWNER, now)
    return company, agent


def add_member(
    session: Session, company: Company, email: str, role: Role, now: datetime
) -> Membership:
    user = get_or_create_user(session, email, now)
    membership = session.execute(
        select(Membership).where(
            Membership.user_id == user.id,
            Membership.company_id == company.id,
            Membership.project_id.is_(None),
        )
    ).scalar_one_or_none()
    if membership is None:
        membership = Membership(
            user_id=user.id, company_id=company.id, role=role.value, created_at=now
        )
        session.add(membership)
    else:
        membership.role = role.value
    session.flush()
    return membership


def get_or_create_user(session: Session, email: str, now: datetime) -> User:
    email = email.strip().lower()
    user = session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if user is None:
        user = User(email=email, created_at=now)
        session.add(user)
        session.flush()
    return user


def find_user(session: Session, email: str) -> User | None:
    return session.execute(
        select(User).where(User.email == email.strip().lower())
    ).scalar_one_or_none()


def find_live_agent(session: Session, token: str) -> AgentRef | None:
    row = session.execute(
        select(Agent.id, Agent.company_id, Agent.slug).where(
            Agent.token == token, Agent.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        return None
    return AgentRef(agent_id=row.id, company_id=row.company_id, slug=row.slug)


def get_agent(session: Session, agent_id: int) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise NotFoundError(f"no agent {agent_id}")
    return agent


def agent_for(session: Session, company_id: int, agent_id: int | None) -> Agent:
    """The agent that speaks for a meeting: the one it was sent to, else the company's."""
    return get_agent(session, agent_id) if agent_id else company_agent(session, company_id)


def company_agent(session: Session, company_id: int) -> Agent:
    """The company's live agent (the one without a project)."""
    agent = (
        session.execute(
            select(Agent)
            .where(
                Agent.company_id == company_id,
                Agent.project_id.is_(None),
                Agent.revoked_at.is_(None),
            )
            .order_by(Agent.id.desc())
        )
        .scalars()
        .first()
    )
    if agent is None:
        raise NotFoundError(f"company {company_id} has no live agent")
    return agent


def get_company(session: Session, company_id: int) -> Company:
    company = session.get(Company, company_id)
    if company is None:
        raise NotFoundError(f"no company {company_id}")
    return company


def get_company_by_slug(session: Session, slug: str) -> Company:
    company = session.execute(
        select(Company).where(Company.slug == slug).options(selectinload(Company.agents))
    ).scalar_one_or_none()
    if company is None:
        raise NotFoundError(f"no company with slug {slug!r}")
    return company


def list_companies(session: Session) -> Sequence[Company]:
    return (
        session.execute(
            select(Company)
            .order_by(Company.slug)
            .options(selectinload(Company.agents), selectinload(Company.domains))
        )
        .scalars()
        .all()
    )


def rotate_agent_token(session: Session, company: Company, token: str, now: datetime) -> Agent:
    """Revoke the company's live agent address and give it a new one."""
    old = company_agent(session, company.id)
    old.revoked_at = now
    agent = Agent(project_id=old.project_id, slug=old.slug, token=token, created_at=now)
    company.agents.append(agent)
    session.flush()
    return agent


def is_member(session: Session, company_id: int, email: str) -> bool:
    return (
        session.execute(
            select(Membership.id)
            .join(User, User.id == Membership.user_id)
            .where(Membership.company_id == company_id, User.email == email.strip().lower())
        ).first()
        is not None
    )


def has_verified_domain(session: Session, company_id: int, domain: str) -> bool:
    return (
        session.execute(
            select(CompanyDomain.id).where(
                CompanyDomain.company_id == company_id,
                CompanyDomain.domain == domain.strip().lower(),
                CompanyDomain.verified.is_(True),
            )
        ).first()
        is not None
    )


ADMIN_ROLES = (Role.OWNER.value, Role.ADMIN.value)


def list_admins(session: Session, company_id: int) -> Sequence[User]:
    """The company's owners and admins (company-wide roles, not a project's), by address."""
    return (
        session.execute(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.company_id == company_id,
                Membership.project_id.is_(None),
                Membership.role.in_(ADMIN_ROLES),
            )
            .order_by(User.email)
        )
        .scalars()
        .unique()
        .all()
    )


def is_admin(session: Session, company_id: int, email: str) -> bool:
    """True for an owner or admin of the whole company."""
    return any(user.email == email.strip().lower() for user in list_admins(session, company_id))


def is_trusted(session: Session, company_id: int, email: str) -> bool:
    """A member of the company, or an address at one of its verified domains."""
    email = email.strip().lower()
    domain = email.rsplit("@", 1)[1] if "@" in email else ""
    return is_member(session, company_id, email) or bool(
        domain and has_verified_domain(session, company_id, domain)
    )
