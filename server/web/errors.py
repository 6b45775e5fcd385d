"""One answer for everything that goes wrong on a page: the problem page.

It is said in the person's language, with the status the API gives the same error. A page
route raises the services' errors as an API route does; what the browser gets is
decided here, once. A request of a page's script (it sends the CSRF header, or asks for
JSON) and every ``/api/`` path keep the API's JSON answer.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from server.api.errors import status_of
from server.auth.sessions import CSRF_HEADER
from server.exceptions import (
    DatabaseError,
    QueryError,
    Refusal,
    ServerError,
    StoreError,
)
from server.i18n import N_, gettext, say
from server.web.browser import FormExpired, signed_in
from server.web.render import page_language, render

logger = logging.getLogger(__name__)

Handler = Callable[[Request, Any], Response | Awaitable[Response]]

NOT_PAGES: Final = ("/api/", "/static/", "/healthz", "/metrics", "/docs", "/redoc", "/openapi")
HTTP_WORDS: Final = {
    404: N_("There is no such page. Check the address, or start again from today's page."),
    405: N_("This address cannot be used that way. Start again from today's page."),
    413: N_("What was sent is too large."),
}
FIELD_WORDS: Final = N_(
    "This value cannot be used: {fields}. Change it and try again (dates between 2000 and "
    "2099, times as 08:30)."
)


def is_page(request: Request) -> bool:
    """Whether a person's browser asked for a page (not the API, nor a page's script)."""
    if request.url.path.startswith(NOT_PAGES) or CSRF_HEADER in request.headers:
        return False
    return "application/json" not in request.headers.get("accept", "").split(",")[0]


def _message(lang: str, exc: Exception) -> tuple[int, str]:
    if isinstance(exc, RequestValidationError | ValidationError):
        fields = sorted({str(e["loc"][-1]) for e in exc.errors() if e.get("loc")})
        return 422, gettext(lang, FIELD_WORDS).format(fields=", ".join(fields[:5]) or "?")
    if isinstance(exc, HTTPException):
        words = HTTP_WORDS.get(exc.status_code)
        return exc.status_code, gettext(lang, words) if words else say(exc.detail, lang)
    if isinstance(exc, Refusal):
        return exc.status, say(exc.args[0], lang)
    if isinstance(exc, StoreError | DatabaseError):
        return 503, gettext(lang, "The data cannot be reached just now. Try again in a minute.")
    if isinstance(exc, FormExpired):
        return 403, say(exc.args[0], lang)
    if isinstance(exc, QueryError):
        return 400, say(exc.args[0], lang)
    return status_of(exc, default=400), say(exc.args[0] if exc.args else "", lang)


async def problem_page(request: Request, exc: Exception) -> Response:
    """The problem page for ``exc``: what was wrong, in the person's language."""
    browser = await signed_in(request)
    user = browser.user if browser else None
    status, message = _message(page_language(request, user), exc)
    if status >= 500:
        logger.error("page %s failed: %s", request.url.path, type(exc).__name__)
    return render(
        request,
        "problem.html",
        user=user,
        csrf=browser.csrf if browser else None,
        status=status,
        message=message,
    )


def install(app: FastAPI) -> None:
    """Pages answer every error with the problem page; the API keeps its JSON answers."""

    def either(api: Handler | None) -> Handler:
        async def answer(request: Request, exc: Exception) -> Response:
            if is_page(request):
                return await problem_page(request, exc)
            if api is not None:
                answered = api(request, exc)
                return await answered if inspect.isawaitable(answered) else answered
            status, message = _message("en", exc)
            return JSONResponse({"detail": message}, status_code=status)

        return answer

    kinds: list[type[Exception]] = [
        RequestValidationError,
        ValidationError,
        HTTPException,
        ServerError,
    ]
    kinds += [
        k for k in app.exception_handlers if isinstance(k, type) and issubclass(k, ServerError)
    ]
    for kind in dict.fromkeys(kinds):
        app.add_exception_handler(kind, either(app.exception_handlers.get(kind)))
