"""The routes an app serves, for tests that walk them (FastAPI keeps included routers whole)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute of ``routes``, also those inside included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from api_routes(inner.routes)
