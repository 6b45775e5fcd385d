"""Request bodies are bounded before anything reads, parses or authenticates them.

An ASGI middleware: a declared ``Content-Length`` over the route's limit is answered 413 at
once, and a body streamed without one is counted as it arrives and cut off at the limit,
so no request, with or without a valid token, can make the server hold more than that.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

KIB: Final = 1024
MIB: Final = 1024 * KIB
# Most requests are a few hundred bytes of JSON; a layout of a large building, a floor plan
# and a gateway's gzip batch are the big ones.
DEFAULT_LIMIT: Final = 256 * KIB
ROUTE_LIMITS: Final[Mapping[str, int]] = {
    "/api/v1/ingest": 16 * MIB,
    "/layout": 8 * MIB,
    "/plan": 10 * MIB,
}


def limit_for(path: str, limits: Mapping[str, int] = ROUTE_LIMITS) -> int:
    """The body limit of a path: the first route ending or equal to a configured one."""
    for suffix, limit in limits.items():
        if path == suffix or path.endswith(suffix):
            return limit
    return DEFAULT_LIMIT


class BodyLimit:
    """Answers 413 for a body over its route's limit, before the app sees any of it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, limit)
            return
        received = 0
        over = False
        answered = False

        async def counted() -> Message:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Stop reading: the app sees a client that went away, and whatever
                    # it answers to that is replaced by the 413 below.
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def watched(message: Message) -> None:
            nonlocal answered
            if not over:
                await send(message)
            elif not answered:
                answered = True
                await _refuse(send, limit)

        try:
            await self.app(scope, counted, watched)
        except Exception:
            if not over:
                raise
            if not answered:
                await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(
        {"detail": f"request body too large: at most {limit // KIB} KiB here"}
    ).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
