"""Server-Sent Events for floor maps: each desk's state change, as it happens."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

logger = logging.getLogger(__name__)
# A map that stops reading is dropped rather than allowed to hold memory.
QUEUE_MAX = 1000
KEEPALIVE_S = 15.0
# Streams one person may hold open at once: a few tabs and a phone, not a flood.
PER_USER_MAX = 5


def person_holder(username: str) -> str:
    """A person's streams, apart from any kiosk's (``kiosk:<id>``) whatever their name."""
    return f"user:{username}"


class EventHub:
    """Fans desk events out to every connected map; ``publish`` is safe from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queues: dict[asyncio.Queue[dict[str, Any] | None], str] = {}
        self._open: dict[str, int] = {}

    def may_open(self, holder: str) -> bool:
        """Whether ``holder`` (a person's or a kiosk's) holds fewer than PER_USER_MAX streams."""
        return self._open.get(holder, 0) < PER_USER_MAX

    @property
    def listeners(self) -> int:
        """How many streams are open."""
        return len(self._queues)

    def publish(self, event: dict[str, Any]) -> None:
        """Send ``event`` to every listener (called from worker threads)."""
        self._loop.call_soon_threadsafe(self._fan_out, event)

    def _fan_out(self, event: dict[str, Any]) -> None:
        if event.get("type") == "holder_revoked":  # a kiosk link turned off: its streams end
            for queue, holder in list(self._queues.items()):
                if holder == event.get("holder"):
                    self._close(queue)
            return
        for queue in list(self._queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                logger.warning("an event stream fell %d events behind; closing it", QUEUE_MAX)
                self._close(queue)

    def _close(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        self._queues.pop(queue, None)
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)

    async def stream(
        self, *, building: str | None, floor: str | None, disconnected: Any, holder: str
    ) -> AsyncIterator[str]:
        """The text/event-stream of one listener, filtered to a building and floor.

        Counted against ``holder``'s streams while it is open; a stream that finds its holder
        over the limit when it starts (several opened at once) ends at once.
        """
        user = holder
        if not self.may_open(user):
            yield f"event: error\ndata: {json.dumps({'detail': 'too many open streams'})}\n\n"
            return
        self._open[user] = self._open.get(user, 0) + 1
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_MAX)
        self._queues[queue] = holder
        try:
            yield ": connected\n\n"
            while not await disconnected():
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if event is None:
                    return
                if building and event.get("building") != building:
                    continue
                if floor and event.get("floor") != floor:
                    continue
                yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
        finally:
            self._queues.pop(queue, None)
            self._open[user] -= 1
            if not self._open[user]:
                del self._open[user]
