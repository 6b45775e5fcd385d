"""The installable app: its manifest, its service worker, and its icons.

With these a browser offers to install the app on a phone's home screen (iOS delivers Web
Push only to an installed web app), and the app opens on a weak connection: see
``static/sw.js`` for what it keeps and how it says a kept page is not current.
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response
from PIL import Image, ImageDraw

from server.api.deps import Public
from server.i18n import gettext
from server.web.render import HERE, page_language

router = APIRouter(include_in_schema=False)
BRAND = "#0b5c4a"
SIZES = (192, 512)


@router.get("/manifest.webmanifest", dependencies=[Public])
async def manifest(request: Request) -> Response:
    """The web app manifest, in the visitor's language."""
    lang = page_language(request, None)
    doc = {
        "name": "IKN Smart Office",
        "short_name": "Smart Office",
        "description": gettext(lang, "Book a desk, plan your week, check in."),
        "lang": lang,
        "id": "/app",
        "start_url": "/app",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f3f5f8",
        "theme_color": BRAND,
        "icons": [
            {"src": f"/icons/{n}.png", "sizes": f"{n}x{n}", "type": "image/png", "purpose": p}
            for n in SIZES
            for p in ("any", "maskable")
        ],
        "shortcuts": [
            {"name": gettext(lang, "Find a desk"), "url": "/app/find"},
            {"name": gettext(lang, "Work plan"), "url": "/app/plan"},
        ],
    }
    return JSONResponse(doc, media_type="application/manifest+json")


@router.get("/sw.js", dependencies=[Public])
async def service_worker() -> Response:
    """The service worker, at the root so that it serves the whole app."""
    return Response(
        _worker(),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


@lru_cache(maxsize=1)
def _worker() -> bytes:
    return (HERE / "static" / "sw.js").read_bytes()


@router.get("/icons/{size}.png", dependencies=[Public])
async def icon(size: Annotated[Literal["192", "512"], Path()]) -> Response:
    """The app's icon at a home screen's sizes (drawn as static/icon.svg is)."""
    return Response(
        _icon(int(size)),
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@lru_cache(maxsize=len(SIZES))
def _icon(size: int) -> bytes:
    """static/icon.svg's desk and dot on the brand's green, with a maskable margin."""
    image = Image.new("RGB", (size, size), BRAND)
    draw = ImageDraw.Draw(image)
    u = size / 32  # the SVG's unit; the drawing keeps inside the maskable safe zone (80 %)

    def box(x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:
        return (x * u, y * u, (x + w) * u, (y + h) * u)

    draw.rectangle(box(8, 14, 16, 3.5), fill="white")
    draw.rectangle(box(9.8, 17.5, 2.2, 7), fill="white")
    draw.rectangle(box(20, 17.5, 2.2, 7), fill="white")
    draw.ellipse(box(13.5, 7.5, 5, 5), fill="#7ee2b8")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
