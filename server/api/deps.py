"""Typed FastAPI dependencies: the services a route needs, and who is calling.

Every route declares who may call it with one of :data:`Public`, :func:`Roles` or
:data:`CurrentGateway`; a test walks the app's routes and fails on one that does not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from functools import partial
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from server.auth.service import Principal, principal
from server.auth.sessions import CSRF_HEADER, cookie_name, csrf_ok, session_user
from server.auth.tokens import Claims, unverified_issuer
from server.config import ServerSettings
from server.db import Database
from server.exceptions import AuthError
from server.i18n import T, gettext, negotiate, say
from server.ingest.service import IngestService
from server.readings.store import ReadingStore
from server.registry.models import Gateway
from server.registry.schemas import Backlog
from server.registry.service import gateway_for_token
from server.roles import (
    ADMINS,
    EVERYONE,
    INSTALLERS,
    LABELS,
    MANAGERS,
    PEOPLE_ADMINS,
    REPORTERS,
    STAFF,
    Role,
)
from server.services import Services

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The row's id.")]
"""A row id in a path: a 64-bit integer in every database (a larger one names nothing)."""
PlaceParam = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_.:-]{1,32}$")]
"""A building, floor, zone or space code to filter by (a label, never free text)."""


def _month(
    month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
) -> date | None:
    """A calendar month as ``YYYY-MM``: its first day."""
    return date.fromisoformat(f"{month}-01") if month else None


MonthParam = Annotated[date | None, Depends(_month)]
"""A month asked for as ``2026-11`` (its first day), or None."""
_bearer = HTTPBearer(auto_error=False, description="An access token from /api/v1/auth/token")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def services(request: Request) -> Services:
    """The process's services (built when the app started)."""
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


def _settings(s: ServicesDep) -> ServerSettings:
    return s.settings


def _db(s: ServicesDep) -> Database:
    return s.db


def _store(s: ServicesDep) -> ReadingStore:
    return s.store


def _ingest(s: ServicesDep) -> IngestService:
    return s.ingest


SettingsDep = Annotated[ServerSettings, Depends(_settings)]
DatabaseDep = Annotated[Database, Depends(_db)]
StoreDep = Annotated[ReadingStore, Depends(_store)]
IngestDep = Annotated[IngestService, Depends(_ingest)]


def unauthorized(detail: str) -> HTTPException:
    """A 401 that tells the client to send a bearer token."""
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def _backlog(request: Request) -> Backlog | None:
    """What the gateway says it holds unsent; None when it says nothing or nonsense."""
    h = request.headers
    try:
        return Backlog(
            outbox_depth=int(h["x-outbox-depth"]),
            oldest_unsent_age_ms=(
                int(h["x-outbox-oldest-age-ms"]) if "x-outbox-oldest-age-ms" in h else None
            ),
            dead_letters=int(h.get("x-dead-letters", "0")),
        )
    except (KeyError, ValueError):  # pydantic's ValidationError is a ValueError
        return None


def current_gateway(request: Request, creds: Credentials, db: DatabaseDep) -> Gateway:
    """The gateway whose token is presented, or 401."""
    if creds is None:
        raise unauthorized("missing gateway token: send 'Authorization: Bearer <token>'")
    with db.session() as session:
        gateway = gateway_for_token(session, creds.credentials, _backlog(request))
    if gateway is None:
        raise unauthorized("unknown or revoked gateway token")
    return gateway


async def current_user(request: Request, creds: Credentials) -> Principal:
    """The user of the bearer token or of the browser's session cookie; or 401.

    A token is ours or the identity provider's.
    The account behind a token is kept for ``cache_s`` (1 s), or until this process
    changes an account: a role change or a disabled account applies at once through this
    server, and within that time through another replica. A session is looked up on every
    request, so signing out ends it at once everywhere.
    """
    s = services(request)
    if creds is None:
        secret = request.cookies.get(cookie_name(request.url.scheme == "https"))
        if secret is None:
            raise unauthorized(
                T("not logged in: get a token from POST /api/v1/auth/token").said(language(request))
            )
        found = await _session_user(request, s, secret)
    else:
        found = await _token_user(request, s, creds.credentials)
    request.state.language = found.language  # errors are said in it (server.api.errors)
    return found


async def _token_user(request: Request, s: Services, token: str) -> Principal:
    tokens, accounts, db = s.tokens, s.accounts, s.db

    def load(claims: Claims) -> Principal:
        with db.session() as session:
            return principal(session, claims)

    try:
        provider = s.providers.get(unverified_issuer(token) or "")
        if provider is not None:
            # One of the identity providers (told apart by the token's issuer); the verifier
            # may fetch the provider's keys.
            claims = await run_in_threadpool(provider.verify, token)
        else:
            claims = tokens.verify(token)
        found = accounts.peek(claims)
        if found is None:
            found = await run_in_threadpool(accounts.get, claims, partial(load, claims))
    except AuthError as exc:
        raise unauthorized(say(exc.args[0], language(request))) from exc
    return found


async def _session_user(request: Request, s: Services, secret: str) -> Principal:
    # A browser's cookie goes with any request to us, also one a link or another site's
    # page makes: what changes something, or reads personal data with a stated reason (an
    # audit entry), needs the page's own CSRF header too. Bearer tokens are not sent by a
    # browser on its own, so a token's caller may keep ``reason`` in a GET.
    acts = request.method not in SAFE_METHODS or "reason" in request.query_params
    if acts and not csrf_ok(s.csrf_key, secret, request.headers.get(CSRF_HEADER)):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=T(
                "this page is out of date (its security token is missing or wrong): "
                "reload it and try again"
            ).said(language(request)),
        )

    try:
        found = await run_in_threadpool(session_user, s.db, secret)
    except AuthError as exc:
        raise unauthorized(say(exc.args[0], language(request))) from exc
    if found is None:
        raise unauthorized(T("your session has ended: sign in again").said(language(request)))
    return found


CurrentUser = Annotated[Principal, Depends(current_user)]


def language(request: Request) -> str:
    """The language to answer in: the caller's choice, else Accept-Language, else English."""
    return negotiate(
        request.headers.get("accept-language"), getattr(request.state, "language", None), "en"
    )


Language = Annotated[str, Depends(language)]


def _needs_role(lang: str, roles: tuple[Role, ...], role: Role) -> str:
    """What a refused role is told, in ``lang``: the roles the call needs, and theirs."""
    named = [gettext(lang, LABELS[r]) for r in roles]
    needed = gettext(lang, "{some} or {last}").format(some=", ".join(named[:-1]), last=named[-1])
    return gettext(lang, "this needs the role {roles}; you are {role}").format(
        roles=needed if len(named) > 1 else named[0], role=gettext(lang, LABELS[role])
    )


def _roles_check(
    roles: tuple[Role, ...],
) -> Callable[[Request, Principal], Awaitable[Principal]]:
    async def check(request: Request, user: CurrentUser) -> Principal:
        if user.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=_needs_role(language(request), roles, user.role),
            )
        return user

    check.allowed_roles = roles  # type: ignore[attr-defined]
    return check


def Roles(*roles: Role) -> Any:  # noqa: N802  (reads as a declaration in signatures)
    """A dependency admitting only users with one of ``roles``."""
    return Depends(_roles_check(tuple(roles)))


def _public() -> None:
    """Anyone may call this (health, metrics, login)."""


Public = Depends(_public)
CurrentGateway = Annotated[Gateway, Depends(current_gateway)]
# Who may call a route, as the type of its user parameter (one place for every router).
Anyone = Annotated[Principal, Roles(*EVERYONE)]
Installer = Annotated[Principal, Roles(*INSTALLERS)]
Staff = Annotated[Principal, Roles(*STAFF)]
Manager = Annotated[Principal, Roles(*MANAGERS)]
Admin = Annotated[Principal, Roles(*ADMINS)]
# An agency's roles too: the service keeps each to its agency (``Principal.reaches``).
Reporter = Annotated[Principal, Roles(*REPORTERS)]
PeopleAdmin = Annotated[Principal, Roles(*PEOPLE_ADMINS)]
