"""Accounts: password logins under a rate limit, provider users, and admin changes."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.audit.service import record
from server.auth.models import LoginFailure, User
from server.auth.passwords import hash_password, needs_rehash, verify_password
from server.auth.roles import Role
from server.auth.schemas import UserCreate, UserPublic, UserUpdate
from server.auth.tokens import Claims
from server.exceptions import AuthError, ConflictError, NotFoundError, RateLimited


@dataclass(frozen=True, slots=True)
class Principal:
    """The user a request acts for."""

    username: str
    role: Role
    display_name: str
    team: str | None = None


@dataclass(frozen=True, slots=True)
class LoginLimit:
    """At most ``failures`` failed logins per account in ``window_s``.

    An address may fail four times as often, so one office behind NAT is not locked out by
    one forgetful colleague.
    """

    failures: int = 5
    window_s: int = 300


def _now_ms() -> int:
    return int(time.time() * 1000)


def authenticate(
    session: Session, *, username: str, password: str, address: str, limit: LoginLimit
) -> User | None:
    """The active user with this password, or None after recording the failure.

    Raises RateLimited before checking anything once the limit is reached, and AuthError
    for a disabled account.
    """
    now = _now_ms()
    since = now - limit.window_s * 1000
    for column, value, allowed in (
        (LoginFailure.username, username, limit.failures),
        (LoginFailure.address, address, limit.failures * 4),
    ):
        count, oldest = session.execute(
            select(func.count(), func.min(LoginFailure.at_ms)).where(
                column == value, LoginFailure.at_ms > since
            )
        ).one()
        if count >= allowed:
            retry = max(1, (oldest + limit.window_s * 1000 - now) // 1000 + 1)
            raise RateLimited(
                f"too many failed logins; try again in {retry} s", retry_after_s=int(retry)
            )
    user = session.scalar(select(User).where(User.username == username))
    if not verify_password(password, user.password_hash if user else None) or user is None:
        session.add(LoginFailure(username=username[:100], address=address[:64], at_ms=now))
        return None
    if not user.active:
        raise AuthError(f"account {username!r} is disabled; ask an administrator")
    session.execute(delete(LoginFailure).where(LoginFailure.username == username))
    session.execute(delete(LoginFailure).where(LoginFailure.at_ms <= since))
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_ms = now
    return user


def principal(session: Session, claims: Claims) -> Principal:
    """The user a verified token speaks for; provider users are created or updated here."""
    user = session.scalar(select(User).where(User.username == claims.username))
    if claims.source == "oidc":
        assert claims.role is not None
        if user is None:
            user = User(
                username=claims.username,
                display_name=claims.display_name or claims.username,
                email=claims.email,
                role=claims.role,
                source="oidc",
                active=True,
                created_ms=_now_ms(),
            )
            session.add(user)
            record(session, actor="oidc", action="user.create", target_kind="user",
                   target_id=claims.username, role=claims.role)  # fmt: skip
        elif user.source != "oidc":
            raise AuthError(f"{claims.username!r} is a local account; log in with its password")
        elif user.role != claims.role:
            record(session, actor="oidc", action="user.role", target_kind="user",
                   target_id=claims.username, old=user.role, new=claims.role)  # fmt: skip
            user.role = claims.role
        user.last_login_ms = _now_ms()
    if user is None or not user.active:
        raise AuthError("the account of this token no longer exists or is disabled")
    return Principal(
        username=user.username,
        role=user.role,  # type: ignore[arg-type]
        display_name=user.display_name,
        team=user.team,
    )


def create_user(session: Session, *, actor: str, new: UserCreate) -> UserPublic:
    """A new local account."""
    user = User(
        username=new.username,
        display_name=new.display_name,
        email=new.email,
        team=new.team,
        role=new.role,
        source="local",
        password_hash=hash_password(new.password),
        created_ms=_now_ms(),
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise ConflictError(f"username {new.username!r} is taken") from exc
    record(session, actor=actor, action="user.create", target_kind="user",
           target_id=new.username, role=new.role)  # fmt: skip
    return UserPublic.model_validate(user)


def update_user(session: Session, *, actor: str, username: str, change: UserUpdate) -> UserPublic:
    """Change an account's details, role, state or password."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    fields = change.model_dump(exclude_unset=True, exclude={"password"})
    for key, value in fields.items():
        setattr(user, key, value)
    if change.password is not None:
        if user.source != "local":
            raise ConflictError(f"{username!r} signs in through the identity provider")
        user.password_hash = hash_password(change.password)
        fields["password"] = "changed"
    record(session, actor=actor, action="user.update", target_kind="user",
           target_id=username, **fields)  # fmt: skip
    return UserPublic.model_validate(user)


def list_users(session: Session) -> list[UserPublic]:
    """Every account."""
    return [
        UserPublic.model_validate(u) for u in session.scalars(select(User).order_by(User.username))
    ]
