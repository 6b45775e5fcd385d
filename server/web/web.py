"""The pages for people, added to the app: routes, static files, the API docs."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from server.web import docs, kiosk, pages
from server.web.browser import SignInNeeded, sign_in_redirect
from server.web.render import HERE


def install(app: FastAPI, *, vendor: Path | None) -> None:
    """Serve the pages, their scripts and styles, and the API's docs (all without a CDN)."""
    app.include_router(pages.router)
    app.include_router(kiosk.router)
    docs.install(app, vendor)  # its /static/vendor mounts first: /static would hide them
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(SignInNeeded)
    async def _sign_in(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInNeeded)
        return sign_in_redirect(exc.next_path)
