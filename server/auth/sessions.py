"""Browser sessions: a random secret in an HttpOnly cookie, its hash in ``web_sessions``.

The JSON API keeps its bearer tokens; a browser signed in to the pages sends the cookie
instead, and every request that changes something must also carry the session's CSRF
token (an HMAC of the secret, so nothing more is stored): a page puts it in a form field
or the ``X-CSRF-Token`` header, which another site cannot read or forge.

Signing out deletes the row, so the cookie is worthless from then on, wherever it is.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.auth.models import User, WebSession
from server.auth.service import Principal, principal
from server.auth.tokens import Claims
from server.clock import now_ms as clock_ms
from server.db import Database

COOKIE = "smartoffice_session"
SECURE_COOKIE = "__Host-smartoffice_session"
"""Under HTTPS the cookie is ``__Host-``: only this host set it, Secure, for every path."""
CSRF_HEADER = "x-csrf-token"
LIFETIME_S = 12 * 3600
"""A session lasts a working day; signing in again starts a new one."""


def cookie_name(https: bool) -> str:
    """The session cookie's name on an HTTPS (``__Host-``) or a plain HTTP site."""
    return SECURE_COOKIE if https else COOKIE


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token(key: str, secret: str) -> str:
    """The CSRF token of a session (or of a login form's pre-session secret)."""
    return hmac.new(key.encode(), b"csrf:" + secret.encode(), hashlib.sha256).hexdigest()[:32]


def csrf_ok(key: str, secret: str, presented: str | None) -> bool:
    """Whether ``presented`` is the CSRF token of ``secret``."""
    return presented is not None and hmac.compare_digest(csrf_token(key, secret), presented)


@dataclass(frozen=True, slots=True)
class Opened:
    """A new session: the cookie's value, and how long it lasts."""

    secret: str
    max_age_s: int
    role: str
    """The role the session opens for (where the person's work starts)."""


def open_session(session: Session, *, username: str, now_ms: int | None = None) -> Opened:
    """Start a session for an active user (the password or provider was checked already)."""
    now = now_ms if now_ms is not None else clock_ms()
    user = session.scalar(select(User).where(User.username == username, User.active))
    if user is None:
        raise LookupError(username)
    secret = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id=_digest(secret), user_id=user.id, created_ms=now, expires_ms=now + LIFETIME_S * 1000
        )
    )
    session.execute(delete(WebSession).where(WebSession.expires_ms <= now))
    return Opened(secret, LIFETIME_S, user.role)


def end_session(session: Session, secret: str) -> None:
    """Sign out: the cookie no longer opens anything."""
    session.execute(delete(WebSession).where(WebSession.id == _digest(secret)))


def session_claims(session: Session, secret: str, now_ms: int | None = None) -> Claims | None:
    """Who a live session's cookie speaks for, or None (unknown, expired, account disabled)."""
    now = now_ms if now_ms is not None else clock_ms()
    row = session.execute(
        select(User.username, User.role, User.source)
        .join(WebSession, WebSession.user_id == User.id)
        .where(WebSession.id == _digest(secret), WebSession.expires_ms > now, User.active)
    ).first()
    if row is None:
        return None
    # Provider users are found by name too: their row exists since they signed in.
    return Claims(username=row.username, role=row.role, source="local")


def session_user(db: Database, secret: str) -> Principal | None:
    """The person of a live session, or None; AuthError if their account was disabled."""
    with db.session() as session:
        claims = session_claims(session, secret)
        return None if claims is None else principal(session, claims)
