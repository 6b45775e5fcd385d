"""Accounts: password logins under a rate limit, provider users, and admin changes."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.agencies import service as agencies
from server.agencies.models import Agency
from server.audit.service import AuditPublic, Within, entries, record
from server.auth.models import LoginFailure, User, WebSession
from server.auth.passwords import hash_password, needs_rehash, verify_password
from server.auth.schemas import Preferences, UserCreate, UserPublic, UserUpdate, split_buildings
from server.auth.throttle import LoginLimit, Try, note_failure, succeeded, wait_s
from server.auth.tokens import Claims
from server.clock import now_ms
from server.db import DATABASE, Database
from server.exceptions import AuthError, ConflictError, Forbidden, NotFoundError, RateLimited
from server.i18n import T
from server.roles import AGENCY_ROLES, ROLES, Role
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

    @property
    def scope(self) -> str | None:
        """The one agency this person's role reaches; None: every agency.

        An agency's administrator or facility manager reaches their agency's people, floors,
        rules and reports only; the platform's administrator and the building's operator
        reach every agency. (An employee's agency is where they work, not a reach.)
        """
        return self.agency if self.role in AGENCY_ROLES else None

    def reaches(self, agency: str | None) -> bool:
        """Whether this person's role reaches things of ``agency`` (None: the building's)."""
        return self.scope is None or agency == self.scope

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
    return principal_of(user)


def principal_of(user: User) -> Principal:
    """The person of an account row, as services take the acting person."""
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

    Employees and an agency's own staff (``AGENCY_ROLES``) belong to the agency it names;
    the platform's and the building's staff work for no agency: theirs stays none.
    """
    role = claims.role if user.id is None or provider_roles(session) else user.role
    of_agency = role in (*AGENCY_ROLES, "employee")
    agency = claims.agency if of_agency else None
    if of_agency and (agency is None or session.get(Agency, agency) is None):
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


def _follow_unit(session: Session, user: User, unit: str) -> None:
    """The person's unit as the provider says (SMARTOFFICE_OIDC_UNIT_CLAIM).

    The provider (the civil service's personnel system) knows the agency's units: one it
    names that is not listed here yet is added to the agency.
    """
    assert user.agency_id is not None
    if unit not in agencies.units(session, user.agency_id):
        agencies.add_unit(session, actor="oidc", agency=user.agency_id, name=unit)
    user.team = unit


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
    if claims.unit is not None and user.agency_id is not None:
        _follow_unit(session, user, claims.unit)
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


def _fits_agency(role: str, agency: str | None) -> None:
    """An agency's administrator or manager needs their agency; the other staff have none.

    Administrators of the platform, building operators and installers work for the building
    or the platform as a whole: an agency would only seem to limit them.
    """
    if role in AGENCY_ROLES and agency is None:
        raise ConflictError(T("a {role} acts for one agency: choose which", role=role))
    if agency is not None and role not in (*AGENCY_ROLES, "employee"):
        raise ConflictError(
            T(
                "a {role} works for the whole building or platform, not for an agency: leave "
                "the agency empty (or choose an agency's own role)",
                role=role,
            )
        )


AGENCY_GRANTS: tuple[Role, ...] = ("employee", "agency_manager", "agency_admin")
"""The roles an agency's administrator may give: their own agency's."""


def grantable(actor: Principal) -> tuple[Role, ...]:
    """The roles ``actor`` may give: an agency's administrator, their agency's own roles."""
    return ROLES if actor.scope is None else AGENCY_GRANTS


def _within_reach(actor: Principal | str, role: str, agency: str | None) -> None:
    """Forbidden unless ``actor`` may give ``role`` in ``agency`` (an agency's admin: its own)."""
    if isinstance(actor, str) or actor.scope is None:
        return
    if agency != actor.scope:
        raise Forbidden(T("you administer the accounts of {agency} only", agency=actor.scope))
    if role not in grantable(actor):
        raise Forbidden(
            T(
                "an agency's administrator gives its own roles only ({roles})",
                roles=", ".join(AGENCY_GRANTS),
            )
        )


def _name(actor: Principal | str) -> str:
    return actor if isinstance(actor, str) else actor.username


def create_user(session: Session, *, actor: Principal | str, new: UserCreate) -> UserPublic:
    """A new local account, made by ``actor``.

    ``actor`` is the person acting, whose reach is checked (an agency's administrator makes
    accounts of their agency, and an account given no agency is theirs), or a name for the
    platform's operator at the command line.
    """
    if not isinstance(actor, str) and actor.scope is not None and new.agency is None:
        new = new.model_copy(update={"agency": actor.scope})
    _fits_agency(new.role, new.agency)
    _within_reach(actor, new.role, new.agency)
    agencies.check_unit(session, new.agency, new.team)
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
        actor=_name(actor),
        action="user.create",
        target_kind="user",
        target_id=new.username,
        role=new.role,
        agency=new.agency,
    )
    return UserPublic.model_validate(user)


def update_user(
    session: Session, *, actor: Principal | str, username: str, change: UserUpdate
) -> UserPublic:
    """Change an account's details, role, state or password (``actor`` as in create_user).

    An agency's administrator changes accounts of their agency only, and keeps them there;
    another agency's account is not found for them. A person moved to another agency leaves
    their unit behind, unless a unit of the new agency is given with the move.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not (isinstance(actor, str) or actor.reaches(user.agency_id)):
        raise NotFoundError(T("no user {user}", user=repr(username)))
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
    _fits_agency(fields.get("role", user.role), fields.get("agency", user.agency_id))
    _within_reach(actor, fields.get("role", user.role), fields.get("agency", user.agency_id))
    # What the person may do or see: a change of it ends their sessions.
    before = (user.role, user.active, user.buildings, user.agency_id)
    for key, value in fields.items():
        if key == "buildings":
            user.buildings = _buildings(session, value)
        elif key == "agency":
            user.agency_id = agencies.known(session, value)
        else:
            setattr(user, key, value)
    if "agency" in fields and "team" not in fields and before[3] != user.agency_id:
        user.team = None  # the unit was the old agency's
    if "team" in fields or "agency" in fields:
        agencies.check_unit(session, user.agency_id, user.team)
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
        session,
        actor=_name(actor),
        action="user.update",
        target_kind="user",
        target_id=username,
        **fields,
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


def list_users(
    session: Session, search: AccountSearch = AccountSearch(), actor: Principal | None = None
) -> list[UserPublic]:
    """The accounts that match, by username (an agency has thousands: a page at a time).

    Seen by ``actor``: an agency's administrator sees their agency's accounts only.
    """
    query = _matching(_reached(search, actor))
    rows = session.scalars(query.order_by(User.username).offset(search.offset).limit(search.limit))
    return [UserPublic.model_validate(u) for u in rows]


def count_users(
    session: Session, search: AccountSearch = AccountSearch(), actor: Principal | None = None
) -> int:
    """How many accounts match (all pages), seen by ``actor`` as in list_users."""
    matching = _matching(_reached(search, actor))
    return session.scalar(select(func.count()).select_from(matching.subquery())) or 0


def _reached(search: AccountSearch, actor: Principal | None) -> AccountSearch:
    """The search within the actor's reach: another agency's accounts match nothing."""
    if actor is None or actor.scope is None:
        return search
    if search.agency not in (None, actor.scope):
        return replace(search, agency="")  # no agency has an empty code: nothing matches
    return replace(search, agency=actor.scope)


def audit_entries(session: Session, reader: Principal, **filters: Any) -> list[AuditPublic]:
    """The audit log as ``reader`` may read it (``server.audit.service.entries``' filters).

    An agency's administrator reads the entries about their agency, and those made by or
    about its people; the platform's administrator reads all.
    """
    within = None
    if reader.scope is not None:
        people = select(User.username).where(User.agency_id == reader.scope)
        within = Within(agency=reader.scope, people=people)
    return entries(session, within=within, **filters)


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
