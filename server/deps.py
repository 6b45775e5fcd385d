"""Typed FastAPI dependencies: services from app state, and who is calling."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from server.config import ServerSettings
from server.db import Database
from server.ingest.service import IngestService
from server.readings.store import ReadingStore
from server.registry.models import Gateway
from server.registry.service import gateway_for_token

_bearer = HTTPBearer(auto_error=False)
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


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def current_gateway(creds: Credentials, db: DatabaseDep) -> Gateway:
    """The gateway whose token is presented, or 401."""
    if creds is None:
        raise _unauthorized("missing gateway token: send 'Authorization: Bearer <token>'")
    with db.session() as session:
        gateway = gateway_for_token(session, creds.credentials)
    if gateway is None:
        raise _unauthorized("unknown or revoked gateway token")
    return gateway


def require_admin(creds: Credentials, settings: SettingsDep) -> None:
    """Only callers holding the admin token (until user accounts exist)."""
    if settings.admin_token is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="the read API is disabled: set SMARTOFFICE_ADMIN_TOKEN",
        )
    if creds is None:
        raise _unauthorized("missing token: send 'Authorization: Bearer <admin token>'")
    if not hmac.compare_digest(creds.credentials, settings.admin_token.get_secret_value()):
        raise _unauthorized("wrong admin token")


CurrentGateway = Annotated[Gateway, Depends(current_gateway)]
AdminOnly = Depends(require_admin)
