"""The API's documentation pages, with every script and style served by the server itself.

FastAPI's own ``/docs`` and ``/redoc`` load Swagger UI and ReDoc from a CDN, which a
government intranet cannot reach; these pages load the same libraries, installed from npm
(``package.json``), from ``/static/vendor``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from server.api.deps import Public

CHECKOUT_MODULES: Final = Path(__file__).resolve().parents[2] / "node_modules"
# What each vendored package serves, under /static/vendor/<name>.
PACKAGES: Final = {"swagger-ui": "swagger-ui-dist", "redoc": "redoc/bundles"}
MISSING: Final = (
    "<!doctype html><html lang=en><title>API docs not installed</title><h1>API docs not "
    "installed</h1><p>The documentation's scripts come from npm at install time and are "
    "missing here. Run <code>make web</code> (or <code>npm ci</code>) in the checkout, or "
    "set SMARTOFFICE_WEB_VENDOR_DIR. The API itself is described at "
    "<a href=/openapi.json>/openapi.json</a>.</p></html>"
)

_SWAGGER: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>IKN Smart Office API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
</head><body><div id="swagger-ui"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body></html>"""

_REDOC: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>IKN Smart Office API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
</head><body><redoc spec-url="/openapi.json"></redoc>
<script src="/static/vendor/redoc/redoc.standalone.js"></script>
</body></html>"""

# Swagger UI and ReDoc need inline styles and, for ReDoc, a worker from a blob.
_CSP: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; worker-src 'self' blob:; connect-src 'self'; "
        "frame-ancestors 'none'"
    )
}


def vendor_dir(configured: Path | None) -> Path | None:
    """The front-end libraries' directory, or None when they are not installed."""
    found = configured or CHECKOUT_MODULES
    return found if (found / PACKAGES["swagger-ui"]).is_dir() else None


def install(app: FastAPI, vendor: Path | None) -> None:
    """Serve the docs pages and, when installed, the libraries they load."""
    if vendor is not None:
        for name, inside in PACKAGES.items():
            if (vendor / inside).is_dir():
                app.mount(f"/static/vendor/{name}", StaticFiles(directory=vendor / inside))

    router = APIRouter(include_in_schema=False)

    @router.get("/docs", dependencies=[Public])
    def swagger() -> Response:
        """The API, to read and try (Swagger UI)."""
        if vendor is None:
            return HTMLResponse(MISSING, status_code=503)
        return HTMLResponse(_SWAGGER, headers=_CSP)

    @router.get("/redoc", dependencies=[Public])
    def redoc() -> Response:
        """The API, to read (ReDoc)."""
        if vendor is None:
            return HTMLResponse(MISSING, status_code=503)
        return HTMLResponse(_REDOC, headers=_CSP)

    app.include_router(router)
