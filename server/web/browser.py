"""Who is at the browser: the session cookie's person, and what a page needs to act for them.

A page that needs a person sends a visitor without a session to the sign-in page and
back afterwards. Every form or script call that changes something declares it by its
person's type (``PersonForm``, ``AdminForm``, ...): that one dependency checks the
session's CSRF token, so no route checks it by hand (``tests/web/test_routes.py`` walks
every unsafe page route and fails on one without it).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Final
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from server.api.deps import services
from server.auth.service import Principal
from server.auth.sessions import (
    CSRF_HEADER,
    LIFETIME_S,
    cookie_name,
    csrf_ok,
    csrf_token,
    session_user,
)
from server.exceptions import AuthError, ServerError
from server.i18n import T
from server.roles import ADMINS, EVERYONE, INSTALLERS, MANAGERS, PEOPLE_ADMINS, REPORTERS, Role

LOGIN_CSRF_COOKIE: Final = "smartoffice_login"
LOGIN_FORM_S: Final = 3600
DEVICE_COOKIE: Final = "smartoffice_device"
DEVICE_S: Final = 365 * 86400
FORM_TYPES: Final = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True, slots=True)
class Browser:
    """A signed-in browser: the person, and the CSRF token its forms and scripts send."""

    user: Principal
    secret: str
    csrf: str


class WrongRole(Exception):
    """A signed-in person opened a page for another role: they are told so, not sent away."""

    def __init__(self, browser: Browser, roles: tuple[Role, ...]) -> None:
        super().__init__(browser.user.username)
        self.browser, self.roles = browser, roles


class SignInNeeded(Exception):
    """The page needs a person; the handler sends the browser to sign in, then back."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


async def signed_in(request: Request) -> Browser | None:
    """The browser's person, or None without a live session."""
    secret = request.cookies.get(cookie_name(https(request)))
    if not secret:
        return None
    s = services(request)

    try:
        user = await run_in_threadpool(session_user, s.db, secret)
    except AuthError:
        return None
    if user is None:
        return None
    return Browser(user, secret, csrf_token(s.csrf_key, secret))


class FormExpired(ServerError):
    """A form or script call without its session's CSRF token (a stale page, or a forgery)."""


async def presented_token(request: Request) -> str | None:
    """The CSRF token a request carries: a script's header, else a form's ``csrf`` field."""
    header = request.headers.get(CSRF_HEADER)
    if header is not None:
        return header
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get("csrf")
        return value if isinstance(value, str) else None
    return None


def _needs(*roles: Role, form: bool = False):  # type: ignore[no-untyped-def]
    async def check(request: Request) -> Browser:
        found = await signed_in(request)
        if found is None:
            if form:  # a form posted after the session ended: sign in, then see its page
                raise SignInNeeded(safe_next(urlsplit(request.headers.get("referer", "")).path))
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise SignInNeeded(path)
        if form and not form_csrf_ok(request, found, await presented_token(request)):
            raise FormExpired(T("this page was out of date: reload it and try again"))
        if found.user.role not in roles:
            raise WrongRole(found, roles)
        return found

    check.allowed_roles = roles  # type: ignore[attr-defined]
    check.checks_csrf = form  # type: ignore[attr-defined]
    return check


Person = Annotated[Browser, Depends(_needs(*EVERYONE))]
"""Any signed-in person (employees and everyone else)."""
ManagerPage = Annotated[Browser, Depends(_needs(*MANAGERS))]
"""Facility managers (and admins): the building's consoles."""
InstallerPage = Annotated[Browser, Depends(_needs(*INSTALLERS))]
"""Installers (and admins): devices and commissioning."""
AdminPage = Annotated[Browser, Depends(_needs(*ADMINS))]
"""Administrators of the platform: rules, gateways, kiosks, agencies."""
PeopleAdminPage = Annotated[Browser, Depends(_needs(*PEOPLE_ADMINS))]
"""Administrators, an agency's too (for their agency): accounts, the audit log, requests."""
ReporterPage = Annotated[Browser, Depends(_needs(*REPORTERS))]
"""Facility managers, an agency's too (for their agency's floors): reports, the live map."""

PersonForm = Annotated[Browser, Depends(_needs(*EVERYONE, form=True))]
"""A form (or script call) of any signed-in person, with its session's CSRF token."""
ManagerForm = Annotated[Browser, Depends(_needs(*MANAGERS, form=True))]
"""A facility manager's form, with its CSRF token."""
InstallerForm = Annotated[Browser, Depends(_needs(*INSTALLERS, form=True))]
"""An installer's form or script call, with its CSRF token."""
AdminForm = Annotated[Browser, Depends(_needs(*ADMINS, form=True))]
"""An administrator's form, with its CSRF token."""
PeopleAdminForm = Annotated[Browser, Depends(_needs(*PEOPLE_ADMINS, form=True))]
"""An administrator's form that an agency's administrator may send too (for their agency)."""
ReporterForm = Annotated[Browser, Depends(_needs(*REPORTERS, form=True))]
"""A facility manager's form that an agency's manager may send too (for their floors)."""


async def maybe_signed_in(request: Request) -> Browser | None:
    """The person if signed in; pages anyone may open (sign-in, the language switch)."""
    return await signed_in(request)


Visitor = Annotated[Browser | None, Depends(maybe_signed_in)]


async def visitor_form(request: Request) -> Browser | None:
    """The person if signed in and the form is theirs (CSRF); a visitor without a session."""
    found = await signed_in(request)
    if found is not None and not form_csrf_ok(request, found, await presented_token(request)):
        raise FormExpired(T("this page was out of date: reload it and try again"))
    return found


visitor_form.checks_csrf = True  # type: ignore[attr-defined]
VisitorForm = Annotated[Browser | None, Depends(visitor_form)]
"""A form anyone may send (language, sign-out); a signed-in person's carries their token."""


def form_csrf_ok(request: Request, browser: Browser, presented: str | None) -> bool:
    """Whether a form of this session carried its CSRF token."""
    return csrf_ok(services(request).csrf_key, browser.secret, presented)


def sign_in_redirect(next_path: str) -> RedirectResponse:
    """To the sign-in page, and back to ``next_path`` afterwards."""
    return RedirectResponse(f"/app/login?next={quote(next_path, safe='/')}", status_code=303)


def https(request: Request) -> bool:
    """Whether the browser reached us over HTTPS (directly, or through a trusted proxy)."""
    return request.url.scheme == "https"


def keep_session(request: Request, response: Response, secret: str) -> None:
    """The session's cookie: HttpOnly, SameSite=Lax, and ``__Host-`` + Secure under HTTPS."""
    response.set_cookie(
        cookie_name(https(request)),
        secret,
        max_age=LIFETIME_S,
        httponly=True,
        samesite="lax",
        secure=https(request),
        path="/",
    )


def drop_session(request: Request, response: Response) -> None:
    """Forget the session's cookie in this browser."""
    response.delete_cookie(cookie_name(https(request)), path="/", secure=https(request))


def _login_signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(services(request).csrf_key, salt="login-form")


def new_login_token(request: Request) -> str:
    """A fresh, signed token for the sign-in form (there is no session yet to bind it to)."""
    return str(_login_signer(request).dumps(secrets.token_urlsafe(16)))


def login_token_ok(request: Request, presented: str) -> bool:
    """Whether the form echoed its cookie's token, and the server signed it within the hour."""
    kept = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not presented or not kept or not hmac.compare_digest(presented, kept):
        return False
    try:
        _login_signer(request).loads(presented, max_age=LOGIN_FORM_S)
    except BadSignature:
        return False
    return True


def _device_signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(services(request).csrf_key, salt="device")


def known_device(request: Request, username: str) -> str | None:
    """The browser's id when ``username`` signed in on it before (a device cookie)."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        who, device = _device_signer(request).loads(raw, max_age=DEVICE_S)
    except (BadSignature, ValueError, TypeError):
        return None
    return str(device) if who == username else None


def remember_device(request: Request, response: Response, username: str) -> None:
    """Mark the browser as one ``username`` signs in on (``server.auth.throttle``)."""
    device = known_device(request, username) or secrets.token_hex(16)
    value = _device_signer(request).dumps([username, device])
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=DEVICE_S,
        httponly=True,
        samesite="strict",
        secure=https(request),
        path="/app/login",
    )


def keep_login_token(request: Request, response: Response, token: str) -> None:
    """The sign-in form's token also in a cookie: the form must echo it (double submit)."""
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=LOGIN_FORM_S,
        httponly=True,
        samesite="strict",
        secure=https(request),
        path="/app/login",
    )


# Where each role's work starts when a person signs in without asking for a page.
START: Final = {
    "employee": "/app",
    "facility_manager": "/app/manage",
    "agency_manager": "/app/manage/floor",
    "installer": "/app/devices",
    "admin": "/app/admin",
    "agency_admin": "/app/admin",
}


def start_page(role: str, asked: str) -> str:
    """``asked``, or the role's own start when the person asked for no page (the app's door)."""
    return START.get(role, "/app") if asked == "/app" else asked


def safe_next(path: str | None) -> str:
    """Only a path on this site to go back to (never another site's URL)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/app"
    return path
