"""The pages for people, added to the app: routes, static files, the API docs."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from server.i18n import gettext
from server.web import (
    admin,
    audit,
    desks,
    devices,
    docs,
    errors,
    kiosk,
    manage,
    mine,
    plan,
    privacy,
    pwa,
    remind,
    rooms,
    signin,
    today,
)
from server.web.browser import SignInNeeded, WrongRole, sign_in_redirect
from server.web.render import HERE, ROLES, page_language, render


def install(app: FastAPI, *, vendor: Path | None) -> None:
    """Serve the pages, their scripts and styles, and the API's docs (all without a CDN)."""
    for pages in (signin, today, desks, rooms, mine, plan, pwa, remind):
        app.include_router(pages.router)
    app.include_router(kiosk.router)
    for console in (*manage.ROUTERS, *admin.ROUTERS):
        app.include_router(console)
    app.include_router(devices.router)
    app.include_router(audit.router)
    app.include_router(privacy.router)
    docs.install(app, vendor)  # its /static/vendor mounts first: /static would hide them
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    errors.install(app)

    @app.exception_handler(SignInNeeded)
    async def _sign_in(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInNeeded)
        return sign_in_redirect(exc.next_path)

    @app.exception_handler(WrongRole)
    async def _wrong_role(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WrongRole)
        user = exc.browser.user
        lang = page_language(request, user)
        who = ", ".join(gettext(lang, ROLES[r]) for r in exc.roles)
        message = gettext(
            lang,
            "This page is for: {roles}. You are signed in as {name} "
            "({role}); ask an administrator if you need it.",
        ).format(
            roles=who, name=user.display_name or user.username, role=gettext(lang, ROLES[user.role])
        )
        return render(
            request,
            "problem.html",
            user=user,
            csrf=exc.browser.csrf,
            status=403,
            message=message,
            switch=True,
        )
