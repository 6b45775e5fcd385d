"""What a form's answer says on the page it leads to: a notice in a signed, one-time cookie.

After a change, a form's handler sends the browser on to a page (post/redirect/get) with
the notice in a cookie signed by the server; that page shows it once and drops it. Never
in the URL: a link someone else wrote can put no words on a page, and nothing said to a
person lingers in their history or the server's access log.
"""

from __future__ import annotations

from typing import Final

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from server.api.deps import services

COOKIE: Final = "smartoffice_notice"
# Long enough for the redirect to be followed on a slow phone; a notice seen later is stale.
MAX_AGE_S: Final = 60


def _signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(services(request).csrf_key, salt="notice")


def redirect(request: Request, path: str, text: str, kind: str = "ok") -> RedirectResponse:
    """To ``path`` (a page of this site), which then says ``text`` once."""
    response = RedirectResponse(path, status_code=303)
    response.set_cookie(
        COOKIE,
        _signer(request).dumps([text, kind]),
        max_age=MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


def taken(request: Request) -> tuple[str, str] | None:
    """The notice this browser was sent on with (text, kind), if any and genuine."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        text, kind = _signer(request).loads(raw, max_age=MAX_AGE_S)
    except (BadSignature, ValueError, TypeError):
        return None
    return str(text), "error" if kind == "error" else "ok"


def forget(request: Request, response: Response) -> None:
    """Drop the notice once a page has shown it."""
    if COOKIE in request.cookies:
        response.delete_cookie(COOKIE, path="/")
