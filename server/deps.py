"""Typed FastAPI dependencies: services from app state, and who is calling.

Every route declares who may call it with one of :data:`Public`, :func:`Roles` or
:data:`CurrentGateway`; a test walks the app's routes and fails on one that does not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from server.auth.roles import ADMINS, EVERYONE, INSTALLERS, MANAGERS, STAFF, Role
from server.auth.service import Principal, principal
from server.auth.tokens import LocalTokens, OidcVerifier, unverified_issuer
from server.config import ServerSettings
from server.db import Database
from server.exceptions import AuthError
from server.ingest.service import IngestService
from server.readings.store import ReadingStore
from server.registry.models import Gateway
from server.registry.service import gateway_for_token

_bearer = HTTPBearer(auto_error=False, description="An access token from /api/v1/auth/token")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _settings(request: Request) -> ServerSettings:
    settings: ServerSettings = request.app.state.settings
    return settings


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _store(request: Request) -> ReadingStore:
    store: ReadingStore = request.app.state.store
    return store


def _ingest(request: Request) -> IngestService:
    service: IngestService = request.app.state.ingest
    return service


SettingsDep = Annotated[ServerSettings, Depends(_settings)]
DatabaseDep = Annotated[Database, Depends(_db)]
StoreDep = Annotated[ReadingStore, Depends(_store)]
IngestDep = Annotated[IngestService, Depends(_ingest)]


def unauthorized(detail: str) -> HTTPException:
    """A 401 that tells the client to send a bearer token."""
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def current_gateway(creds: Credentials, db: DatabaseDep) -> Gateway:
    """The gateway whose token is presented, or 401."""
    if creds is None:
        raise unauthorized("missing gateway token: send 'Authorization: Bearer <token>'")
    with db.session() as session:
        gateway = gateway_for_token(session, creds.credentials)
    if gateway is None:
        raise unauthorized("unknown or revoked gateway token")
    return gateway


def current_user(request: Request, creds: Credentials, db: DatabaseDep) -> Principal:
    """The user of the bearer token (ours or the identity provider's), or 401."""
    if creds is None:
        raise unauthorized("not logged in: get a token from POST /api/v1/auth/token")
    token = creds.credentials
    oidc: OidcVerifier | None = request.app.state.oidc
    tokens: LocalTokens = request.app.state.tokens
    try:
        if oidc is not None and unverified_issuer(token) == oidc.issuer:
            claims = oidc.verify(token)
        else:
            claims = tokens.verify(token)
        with db.session() as session:
            return principal(session, claims)
    except AuthError as exc:
        raise unauthorized(str(exc)) from exc


CurrentUser = Annotated[Principal, Depends(current_user)]


def _roles_check(roles: tuple[Role, ...]) -> Callable[[Principal], Principal]:
    def check(user: CurrentUser) -> Principal:
        if user.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"this needs the role {' or '.join(roles)}; you are {user.role}",
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
