"""Strict-Transport-Security on every answer given over HTTPS.

Once a browser has reached the server over HTTPS (directly, or through a trusted proxy
that says so), it is told to use nothing else for a year: a later ``http://`` link, or
someone on the network between, cannot bring it back to plain HTTP and read its cookie.
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS: Final = (b"strict-transport-security", b"max-age=31536000")


class StrictTransport:
    """Adds HSTS to the answers of HTTPS requests; plain HTTP (a laptop demo) gets none."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; mark its answer when it came over HTTPS."""
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), HSTS]
            await send(message)

        await self.app(scope, receive, marked)
