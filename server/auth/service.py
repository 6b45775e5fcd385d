"""Accounts: password logins under a rate limit, provider users, and admin changes."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.agencies import service as agencies
from server.agencies.models import Agency
from server.audit.service import record
from server.auth.models import LoginFailure, User, WebSession
from server.auth.passwords import hash_password, needs_rehash, verify_password
from server.auth.schemas import Preferences, UserCreate, UserPublic, UserUpdate, split_buildings
from server.auth.throttle import LoginLimit, Try, note_failure, succeeded, wait_s
from server.auth.tokens import Claims
from server.clock import now_ms
from server.db import DATABASE, Database
from server.exceptions import AuthError, ConflictError, NotFoundError, RateLimited
from server.i18n import T
from server.roles import Role
from server.spaces.models import Building


@dataclass(frozen=True, slots=True)
class Principal:
    """The user a request acts for."""

    username: str
    role: Role
    display_name: str
    team: str | None = None
    agency: str | None = None
    """The agency the person works for; None for the platform's and buildings' own staff."""
    buildings: frozenset[str] | None = None
    """Where an installer may work; None is every building (other roles are not limited)."""
    language: str | None = None
    """The person's choice of language; None follows the browser."""
    uid: str = ""
    """The account's own id, never given again (``User.uid``); empty for a stand-in."""

    def works_in(self, building: str | None) -> bool:
        """Whether this person may work on a device in ``building`` (None: not placed)."""
        return (
            building is None
            or self.role != "installer"
            or self.buildings is None
            or building in self.buildings
        )


def authenticate(
    db: Database,
    *,
    username: str,
    password: str,
    address: str,
    limit: LoginLimit,
    device: str | None = None,
) -> tuple[str, Role] | None:
    """The active user's name and role if the password is right, else None.

    Each try is counted *before* its password is checked, in its own committed
    transaction, and then the tries are weighed (``server.auth.throttle``): however many
    arrive at once, none is checked past its limit. ``device`` is the browser's id when its
    owner signed in on it before. Raises RateLimited saying how long to wait, and AuthError
    for a disabled account.
    """
    now = now_ms()
    attempt = Try(username[:100], address[:64], device)
    with db.session() as session:
        attempt_id = note_failure(session, attempt, now)
    with db.session() as session:
        wait = wait_s(session, attempt, limit, now, attempt_id)
        if wait:
            session.execute(delete(LoginFailure).where(LoginFailure.id == attempt_id))
    if wait:
        raise RateLimited(f"too many failed logins; try again in {wait} s", wait)
    with db.session() as session:
        user = session.scalar(select(User).where(User.username == attempt.username))
        if not verify_password(password, user.password_hash if user else None) or user is None:
            return None
        if not user.active:
            raise AuthError(
                T("account {user} is disabled; ask an administrator", user=repr(username))
            )
        succeeded(session, attempt, now)
        if user.password_hash and needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.last_login_ms = now
        return user.username, cast(Role, user.role)


def principal(session: Session, claims: Claims) -> Principal:
    """The user a verified token speaks for; provider users are created or updated here."""
    if claims.source == "oidc":
        user: User | None = _provider_user(session, claims)
    else:
        user = session.scalar(select(User).where(User.username == claims.username))
    if user is None or not user.active:
        raise AuthError(T("the account of this token no longer exists or is disabled"))
    return Principal(
        username=user.username,
        role=user.role,  # type: ignore[arg-type]
        display_name=user.display_name,
        team=user.team,
        agency=user.agency_id,
        buildings=None if user.buildings is None else frozenset(split_buildings(user.buildings)),
        language=user.language,
        uid=user.uid,
    )


def _follow_agency(session: Session, user: User, claims: Claims) -> None:
    """The person's agency as the provider says, refused when it says none known here.

    Staff (any role but employee) work for the platform: their agency stays none.
    """
    role = claims.role if user.id is None or provider_roles(session) else user.role
    agency = claims.agency if role == "employee" else None
    if role == "employee" and (agency is None or session.get(Agency, agency) is None):
        raise AuthError(
            T(
                "your agency ({agency}) is not known here: ask an administrator to add it",
                agency=agency or "—",
            )
        )
    if user.agency_id == agency:
        return
    if user.id is not None:
        record(
            session,
            actor="oidc",
            action="user.agency",
            target_kind="user",
            target_id=user.username,
            old=user.agency_id,
            new=agency,
        )
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    user.agency_id = agency


def _provider_user(session: Session, claims: Claims) -> User:
    """The account of the provider's (issuer, subject); made at the first sign-in.

    The username is taken from the token only when the account is made, and only if no
    other account has it: a person renamed at the provider keeps their account, and
    nobody can take over another's account by being given their username.
    """
    assert claims.role is not None
    assert claims.issuer is not None
    assert claims.subject is not None
    user = session.scalar(
        select(User).where(User.oidc_issuer == claims.issuer, User.oidc_subject == claims.subject)
    )
    if user is None:
        same_name = session.scalar(select(User).where(User.username == claims.username))
        if same_name is not None and same_name.source == "oidc" and same_name.oidc_subject is None:
            # Made before accounts were keyed on the subject: linked at its next sign-in.
            user, user.oidc_issuer, user.oidc_subject = same_name, claims.issuer, claims.subject
            record(
                session,
                actor="oidc",
                action="user.link",
                target_kind="user",
                target_id=user.username,
                issuer=claims.issuer,
            )
        elif same_name is not None:
            raise AuthError(
                f"the username {claims.username!r} belongs to another account here; an "
                "administrator must rename one of them"
            )
        else:
            user = User(
                uid=uuid.uuid4().hex,
                username=claims.username,
                display_name=claims.display_name or claims.username,
                email=claims.email,
                role=claims.role,
                source="oidc",
                active=True,
                created_ms=now_ms(),
                oidc_issuer=claims.issuer,
                oidc_subject=claims.subject,
            )
            session.add(user)
            record(
                session,
                actor="oidc",
                action="user.create",
                target_kind="user",
                target_id=claims.username,
                role=claims.role,
            )
    if claims.agency_given:
        _follow_agency(session, user, claims)
    if user.role != claims.role and provider_roles(session):
        record(
            session,
            actor="oidc",
            action="user.role",
            target_kind="user",
            target_id=user.username,
            old=user.role,
            new=claims.role,
        )
        user.role = claims.role
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    user.last_login_ms = now_ms()
    return user


def _staff_of_no_agency(role: str, agency: str | None) -> None:
    """Staff (administrators, managers, installers) work for the platform, not an agency.

    Their powers are the platform's or the building's whole; an agency's own administrators
    and managers, limited to it, are not there yet. Until they are, giving a staff account
    an agency would only seem to limit it.
    """
    if agency is not None and role != "employee":
        raise ConflictError(
            T(
                "a {role} works for the platform, not for an agency: leave the agency empty "
                "(an agency's own staff, limited to it, come later)",
                role=role,
            )
        )


def create_user(session: Session, *, actor: str, new: UserCreate) -> UserPublic:
    """A new local account."""
    _staff_of_no_agency(new.role, new.agency)
    user = User(
        uid=uuid.uuid4().hex,
        username=new.username,
        display_name=new.display_name,
        email=new.email,
        team=new.team,
        role=new.role,
        agency_id=agencies.known(session, new.agency),
        buildings=_buildings(session, new.buildings),
        source="local",
        password_hash=hash_password(new.password),
        created_ms=now_ms(),
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise ConflictError(f"username {new.username!r} is taken") from exc
    record(
        session,
        actor=actor,
        action="user.create",
        target_kind="user",
        target_id=new.username,
        role=new.role,
    )
    return UserPublic.model_validate(user)


def update_user(session: Session, *, actor: str, username: str, change: UserUpdate) -> UserPublic:
    """Change an account's details, role, state or password."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    fields = change.model_dump(exclude_unset=True, exclude={"password"})
    if (
        "role" in fields
        and fields["role"] != user.role
        and user.source == "oidc"
        and provider_roles(session)
    ):
        raise ConflictError(
            T(
                "the role of {user} comes from their groups at the identity provider: change "
                "it there (or set SMARTOFFICE_OIDC_ROLES=local to keep roles here)",
                user=repr(username),
            )
        )
    _staff_of_no_agency(
        fields.get("role", user.role),
        fields.get("agency", user.agency_id),
    )
    # What the person may do or see: a change of it ends their sessions.
    before = (user.role, user.active, user.buildings, user.agency_id)
    for key, value in fields.items():
        if key == "buildings":
            user.buildings = _buildings(session, value)
        elif key == "agency":
            user.agency_id = agencies.known(session, value)
        else:
            setattr(user, key, value)
    if change.password is not None:
        if user.source != "local":
            raise ConflictError(f"{username!r} signs in through the identity provider")
        user.password_hash = hash_password(change.password)
        fields["password"] = "changed"
    if change.password is not None or before != (
        user.role,
        user.active,
        user.buildings,
        user.agency_id,
    ):
        # What the person may do changed: every browser signed in as them signs in again.
        ended = session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        fields["sessions_ended"] = ended.rowcount  # type: ignore[attr-defined]
    record(
        session, actor=actor, action="user.update", target_kind="user", target_id=username, **fields
    )
    return UserPublic.model_validate(user)


def provider_roles(session: Session) -> bool:
    """Whether an identity provider's groups decide its people's roles (at every sign-in)."""
    db = session.info.get(DATABASE)
    return db is None or bool(db.provider_roles)


def _buildings(session: Session, buildings: list[str] | None) -> str | None:
    """The buildings as stored, after checking that each exists."""
    if buildings is None:
        return None
    known = set(session.scalars(select(Building.id).where(Building.id.in_(buildings))))
    unknown = sorted(set(buildings) - known)
    if unknown:
        raise NotFoundError(f"no building {', '.join(map(repr, unknown))}")
    return ",".join(sorted(set(buildings)))


@dataclass(frozen=True, slots=True)
class AccountSearch:
    """Which accounts: words in the username or name, an agency, and one page of them."""

    words: str = ""
    agency: str | None = None
    offset: int = 0
    limit: int = 1000


def list_users(session: Session, search: AccountSearch = AccountSearch()) -> list[UserPublic]:
    """The accounts that match, by username (an agency has thousands: a page at a time)."""
    query = _matching(search)
    rows = session.scalars(query.order_by(User.username).offset(search.offset).limit(search.limit))
    return [UserPublic.model_validate(u) for u in rows]


def count_users(session: Session, search: AccountSearch = AccountSearch()) -> int:
    """How many accounts match (all pages)."""
    return session.scalar(select(func.count()).select_from(_matching(search).subquery())) or 0


def _matching(search: AccountSearch) -> Select[User]:
    query = select(User)
    for word in search.words.lower().split()[:5]:
        # What is typed is looked for as it is: its % and _ are characters, not wildcards.
        typed = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{typed}%"
        query = query.where(
            or_(
                func.lower(User.username).like(like, escape="\\"),
                func.lower(User.display_name).like(like, escape="\\"),
            )
        )
    if search.agency is not None:
        query = query.where(User.agency_id == search.agency)
    return query


def preferences(session: Session, username: str) -> dict[str, object]:
    """A person's own choices: the colleague finder opt-in, their language (None: browser's)."""
    row = session.scalar(select(User).where(User.username == username))
    if row is None:
        raise AuthError("the account of this token no longer exists")
    return {"username": username, "share_location": row.share_location, "language": row.language}


def set_preferences(session: Session, *, username: str, prefs: Preferences) -> dict[str, object]:
    """A person's own choices (those given), recorded in the audit log; all of them now."""
    row = session.scalar(select(User).where(User.username == username))
    if row is None:
        raise AuthError("the account of this token no longer exists")
    if prefs.share_location is not None:
        row.share_location = prefs.share_location
    if prefs.language is not None:
        row.language = None if prefs.language == "auto" else prefs.language
    record(
        session,
        actor=username,
        action="user.preferences",
        target_kind="user",
        target_id=username,
        **prefs.model_dump(exclude_none=True),
    )
    return preferences(session, username)


def opted_in(session: Session, ids: Collection[int]) -> set[int]:
    """Those of ``ids`` who chose to be visible to colleagues (the colleague finder)."""
    if not ids:
        return set()
    return set(session.scalars(select(User.id).where(User.id.in_(ids), User.share_location)))
