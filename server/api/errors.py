"""How the API answers what goes wrong.

A 4xx that says what was wrong, a 503 when a store is away, never a 500 for bad input.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from server.api.bookings import refusal_response
from server.api.deps import language
from server.exceptions import (
    AuthError,
    ConflictError,
    DatabaseError,
    Forbidden,
    LayoutError,
    NotFoundError,
    QueryError,
    Refusal,
    RegistryError,
    StoreError,
)
from server.i18n import say

logger = logging.getLogger(__name__)

STATUSES: dict[type[Exception], int] = {
    RegistryError: 400,
    LayoutError: 400,
    NotFoundError: 404,
    ConflictError: 409,
    Forbidden: 403,
    AuthError: 401,
}
"""The HTTP status of each domain error that is the caller's to mend."""


def status_of(exc: Exception, default: int = 409) -> int:
    """The status an API answer (or a page's) gives for ``exc``."""
    return next((s for k, s in STATUSES.items() if isinstance(exc, k)), default)


def install(app: FastAPI) -> None:
    """Register the answers to every error the services raise."""

    @app.exception_handler(StoreError)
    @app.exception_handler(DatabaseError)
    async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
        # The store's own words stay in the log: they may echo what was sent, and they
        # tell a caller nothing it can act on.
        logger.error("storage failed: %s", exc)
        which = "reading store" if isinstance(exc, StoreError) else "database"
        return JSONResponse(
            {
                "detail": f"the {which} is unavailable; try again later. Nothing was "
                "acknowledged: sending the same request again is safe."
            },
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Never the input itself: a 10 MB body must not come back as a 20 MB answer.
        errors = exc.errors()
        detail = [
            {
                "loc": [str(p)[:64] for p in err["loc"][:8]],
                "msg": str(err["msg"])[:200],
                "type": err["type"],
            }
            for err in errors[:10]
        ]
        if len(errors) > 10:
            detail.append({"loc": [], "msg": f"and {len(errors) - 10} more", "type": "more"})
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(QueryError)
    async def _query_error(_: Request, exc: QueryError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"detail": say(exc.args[0] if exc.args else "", language(request))},
            status_code=status_of(exc),
        )

    for kind in STATUSES:
        app.add_exception_handler(kind, _domain_error)
    app.add_exception_handler(Refusal, refusal_response)
