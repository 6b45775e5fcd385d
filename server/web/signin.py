"""Signing in and out: the password form, the agency's single sign-on, the language switch.

A new session is opened at every sign-in (never one the browser brought along), and its
cookie is ``__Host-`` under HTTPS. The sign-in form has no session to bind a CSRF token
to, so its token is signed by the server and echoed from a cookie (double submit).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from server.api.deps import DatabaseDep, Public, SettingsDep, services
from server.auth import sso as sso_flow
from server.auth.schemas import Preferences
from server.auth.service import authenticate, principal, set_preferences
from server.auth.sessions import Opened, cookie_name, end_session, open_session
from server.auth.throttle import LoginLimit
from server.exceptions import AuthError, RateLimited
from server.i18n import LANGUAGES, gettext, say
from server.web.browser import (
    LOGIN_CSRF_COOKIE,
    Visitor,
    VisitorForm,
    drop_session,
    https,
    keep_login_token,
    keep_session,
    known_device,
    login_token_ok,
    new_login_token,
    remember_device,
    safe_next,
    start_page,
)
from server.web.render import LANG_COOKIE, page_language, render

router = APIRouter(include_in_schema=False)


@router.get("/", dependencies=[Public])
def home() -> RedirectResponse:
    """The app."""
    return RedirectResponse("/app", status_code=307)


@router.get("/app/login", dependencies=[Public])
async def login_page(
    request: Request, visitor: Visitor, next: Annotated[str | None, Query(max_length=2000)] = None
) -> Response:
    """The sign-in form (a signed-in visitor goes straight on)."""
    if visitor is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, next=safe_next(next))


def _login_form(
    request: Request,
    *,
    next: str,
    error: str | None = None,
    username: str | None = None,
    status: int = 200,
) -> Response:
    token = new_login_token(request)
    ssos = [(c.index, c.name) for c in services(request).ssos]
    response = render(
        request,
        "login.html",
        user=None,
        status=status,
        next=next,
        error=error,
        username=username,
        login_csrf=token,
        ssos=ssos,
    )
    keep_login_token(request, response, token)
    return response


@router.post("/app/login", dependencies=[Public])
async def login(
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/app",
) -> Response:
    """Check the password, start a new session, go on to ``next``."""
    lang = page_language(request, None)
    target = safe_next(next)
    name = username.strip().lower()
    if not login_token_ok(request, csrf):
        error = gettext(lang, "The sign-in form expired. Please try again.")
        return _login_form(request, next=target, error=error, username=name, status=400)
    address = request.client.host if request.client else "unknown"
    limit = LoginLimit(settings.login_max_failures, settings.login_window_s)
    device = known_device(request, name)
    try:
        found = await run_in_threadpool(
            authenticate,
            db,
            username=name,
            password=password,
            address=address,
            limit=limit,
            device=device,
        )
    except RateLimited as exc:
        error = gettext(lang, "Too many failed sign-ins. Try again in {s} seconds.").format(
            s=exc.retry_after_s
        )
        return _login_form(request, next=target, error=error, username=name, status=429)
    except AuthError:
        error = gettext(lang, "This account is disabled. Ask an administrator.")
        return _login_form(request, next=target, error=error, username=name, status=403)
    if found is None:
        error = gettext(lang, "Wrong username or password.")
        return _login_form(request, next=target, error=error, username=name, status=401)
    response = await _signed_in(request, db, found[0], target)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/app/login")
    remember_device(request, response, found[0])
    return response


async def _signed_in(request: Request, db: DatabaseDep, username: str, target: str) -> Response:
    """A new session for ``username``; a session the browser brought is ended, not kept."""
    old = request.cookies.get(cookie_name(https(request)))

    def start() -> Opened:
        with db.session() as session:
            if old is not None:
                end_session(session, old)
            return open_session(session, username=username)

    opened = await run_in_threadpool(start)
    response = RedirectResponse(start_page(opened.role, target), status_code=303)
    keep_session(request, response, opened.secret)
    return response


@router.get("/app/login/sso", dependencies=[Public])
async def sso_begin(
    request: Request,
    next: Annotated[str | None, Query(max_length=2000)] = None,
    provider: Annotated[int, Query(ge=0, le=100)] = 0,
) -> Response:
    """To the agency's identity provider (authorization code with PKCE)."""
    ssos = services(request).ssos
    sso = ssos[provider] if provider < len(ssos) else None
    target = safe_next(next)
    if sso is None:
        return RedirectResponse(f"/app/login?next={target}", status_code=303)
    try:
        url, pending = await sso.begin(target)
    except AuthError:
        lang = page_language(request, None)
        error = gettext(
            lang,
            "The agency sign-in cannot be reached now. Try again later, or sign in with a "
            "password.",
        )
        return _login_form(request, next=target, error=error, status=503)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        sso_flow.COOKIE,
        pending,
        max_age=sso_flow.LIFETIME_S,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=sso_flow.COOKIE_PATH,
    )
    return response


@router.get("/app/login/sso/callback", dependencies=[Public])
async def sso_callback(
    request: Request,
    db: DatabaseDep,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    state: Annotated[str | None, Query(max_length=200)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Back from the identity provider: check its answer, start a session."""
    ssos = services(request).ssos
    asked = sso_flow.provider_of(request.cookies.get(sso_flow.COOKIE))
    sso = ssos[asked] if asked < len(ssos) else None
    lang = page_language(request, None)
    if sso is None:
        return RedirectResponse("/app/login", status_code=303)
    if error or not code or not state:
        message = gettext(lang, "The agency sign-in was cancelled or refused.")
        return _login_form(request, next="/app", error=message, status=401)
    try:
        claims, target = await sso.finish(
            code=code, state=state, cookie=request.cookies.get(sso_flow.COOKIE)
        )

        def known() -> str:
            with db.session() as session:
                return principal(session, claims).username  # kept up to date from the claims

        username = await run_in_threadpool(known)
    except AuthError as exc:
        message = gettext(lang, "The agency sign-in did not succeed: {reason}").format(
            reason=say(exc.args[0], lang)
        )
        return _login_form(request, next="/app", error=message, status=401)
    response = await _signed_in(request, db, username, safe_next(target))
    response.delete_cookie(sso_flow.COOKIE, path=sso_flow.COOKIE_PATH)
    return response


@router.post("/app/logout", dependencies=[Public])
async def logout(request: Request, visitor: VisitorForm, db: DatabaseDep) -> Response:
    """End the session (the cookie opens nothing from now on)."""
    if visitor is not None:

        def end() -> None:
            with db.session() as session:
                end_session(session, visitor.secret)

        await run_in_threadpool(end)
    response = RedirectResponse("/app/login", status_code=303)
    drop_session(request, response)
    return response


@router.post("/app/language", dependencies=[Public])
async def choose_language(
    request: Request,
    visitor: VisitorForm,
    db: DatabaseDep,
    language: Annotated[str, Form(max_length=8)],
    next: Annotated[str, Form(max_length=2000)] = "/app",
) -> Response:
    """Switch the pages' language: for this browser, and the person's choice if signed in."""
    if language not in LANGUAGES:
        language = LANGUAGES[0]
    if visitor is not None:

        def keep() -> None:
            with db.session() as session:
                prefs = Preferences.model_validate({"language": language})
                set_preferences(session, username=visitor.user.username, prefs=prefs)

        await run_in_threadpool(keep)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        LANG_COOKIE,
        language,
        max_age=365 * 86400,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response
