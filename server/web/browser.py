"""Who is at the browser: the session cookie's person, and what a page needs to act for them.

A page that needs a person sends a visitor without a session to the sign-in page and
back afterwards; a form that changes something carries the session's CSRF token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated, Final
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from server.api.deps import services
from server.auth.service import Principal
from server.auth.sessions import COOKIE, csrf_ok, csrf_token, session_user
from server.exceptions import AuthError
from server.roles import ADMINS, EVERYONE, INSTALLERS, MANAGERS, Role

LOGIN_CSRF_COOKIE: Final = "smartoffice_login"


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
    secret = request.cookies.get(COOKIE)
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


def _needs(*roles: Role):  # type: ignore[no-untyped-def]
    async def check(request: Request) -> Browser:
        found = await signed_in(request)
        if found is None:
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise SignInNeeded(path)
        if found.user.role not in roles:
            raise WrongRole(found, roles)
        return found

    check.allowed_roles = roles  # type: ignore[attr-defined]
    return check


Person = Annotated[Browser, Depends(_needs(*EVERYONE))]
"""Any signed-in person (employees and everyone else)."""
ManagerPage = Annotated[Browser, Depends(_needs(*MANAGERS))]
"""Facility managers (and admins): the building's consoles."""
InstallerPage = Annotated[Browser, Depends(_needs(*INSTALLERS))]
"""Installers (and admins): devices and commissioning."""
AdminPage = Annotated[Browser, Depends(_needs(*ADMINS))]
"""Administrators: accounts, rules, gateways, kiosks, the audit log."""


async def maybe_signed_in(request: Request) -> Browser | None:
    """The person if signed in; pages anyone may open (sign-in, the language switch)."""
    return await signed_in(request)


Visitor = Annotated[Browser | None, Depends(maybe_signed_in)]


def form_csrf_ok(request: Request, browser: Browser, presented: str | None) -> bool:
    """Whether a form of this session carried its CSRF token."""
    return csrf_ok(services(request).csrf_key, browser.secret, presented)


def sign_in_redirect(next_path: str) -> RedirectResponse:
    """To the sign-in page, and back to ``next_path`` afterwards."""
    return RedirectResponse(f"/app/login?next={quote(next_path, safe='/')}", status_code=303)


def new_login_token() -> str:
    """A fresh CSRF token for the sign-in form (there is no session yet to sign it with)."""
    return secrets.token_urlsafe(24)


def keep_login_token(request: Request, response: Response, token: str) -> None:
    """The sign-in form's token also in a cookie: the form must echo it (double submit)."""
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/app/login")  # fmt: skip


def safe_next(path: str | None) -> str:
    """Only a path on this site to go back to (never another site's URL)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/app"
    return path
