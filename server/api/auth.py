"""Login, the current user, and account administration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from server.api.deps import (
    CurrentUser,
    DatabaseDep,
    PeopleAdmin,
    Public,
    SettingsDep,
    language,
    services,
)
from server.auth.schemas import Preferences, Token, UserCreate, UserPublic, UserUpdate
from server.auth.service import AccountSearch, authenticate, count_users, set_preferences
from server.auth.service import create_user as create_user_row
from server.auth.service import list_users as list_user_rows
from server.auth.service import update_user as update_user_row
from server.auth.throttle import LoginLimit
from server.auth.tokens import LocalTokens
from server.bookings.visibility import audit_read
from server.exceptions import AuthError, RateLimited
from server.i18n import T, say

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/token", response_model=Token, dependencies=[Public])
def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    db: DatabaseDep,
    settings: SettingsDep,
) -> Token:
    """Log in with username and password (OAuth2 password flow); returns a short-lived JWT."""
    address = request.client.host if request.client else "unknown"
    limit = LoginLimit(settings.login_max_failures, settings.login_window_s)
    try:
        user = authenticate(
            db,
            username=form.username.strip().lower(),
            password=form.password,
            address=address,
            limit=limit,
        )
        if user is None:
            raise AuthError(T("wrong username or password"))
        username, role = user
    except RateLimited as exc:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=say(exc.args[0], language(request)),
            headers={"Retry-After": str(exc.retry_after_s)},
        ) from exc
    except AuthError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=say(exc.args[0], language(request)),
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc
    tokens: LocalTokens = services(request).tokens
    return Token(
        access_token=tokens.issue(username=username, role=role),
        expires_in=tokens.lifetime_s,
        role=role,
    )


@router.get("/auth/me")
def me(user: CurrentUser) -> dict[str, str | None]:
    """Who the token belongs to: their role, team and agency."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "team": user.team,
        "agency": user.agency,
    }


@router.patch("/auth/me")
def update_me(prefs: Preferences, user: CurrentUser, db: DatabaseDep) -> dict[str, object]:
    """Change your own preferences: the colleague finder opt-in, your language."""
    with db.session() as session:
        return set_preferences(session, username=user.username, prefs=prefs)


@router.get("/users", response_model=list[UserPublic])
def list_users(
    admin: PeopleAdmin,
    db: DatabaseDep,
    response: Response,
    q: Annotated[str, Query(max_length=100, description="Words in the username or name")] = "",
    agency: Annotated[str | None, Query(max_length=32, description="An agency's code")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> list[UserPublic]:
    """The accounts that match, a page at a time (admins; the read is audited).

    An agency's administrator sees their agency's accounts. ``X-Total-Count`` says how
    many match in all.
    """
    search = AccountSearch(q, agency, offset, limit)
    with db.session() as session:
        audit_read(session, actor=admin, person="*", what="accounts", reason="")
        response.headers["X-Total-Count"] = str(count_users(session, search, admin))
        return list_user_rows(session, search, admin)


@router.post("/users", response_model=UserPublic, status_code=201)
def create_user(new: UserCreate, admin: PeopleAdmin, db: DatabaseDep) -> UserPublic:
    """Create a local account (admins; an agency's administrator, in their agency)."""
    with db.session() as session:
        return create_user_row(session, actor=admin, new=new)


@router.patch("/users/{username}", response_model=UserPublic)
def update_user(
    username: str, change: UserUpdate, admin: PeopleAdmin, db: DatabaseDep
) -> UserPublic:
    """Change an account's details, role, password, or disable it (admins).

    An agency's administrator changes their agency's accounts only.
    """
    with db.session() as session:
        return update_user_row(session, actor=admin, username=username, change=change)
