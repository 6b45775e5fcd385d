"""The side effects of a change, set off once the change is committed, and only then.

What must happen because of a change is written in the change's own transaction: mail is
a row of ``mail_messages``, a device command or a desk's LED state a row of ``downlinks``.
Two signals about those rows are noted on the session instead of sent at once: waking the
gateway that has something new to fetch (``wake``), and telling the live maps (``announce``).
The database's after-commit hook hands them to the ``Effects`` the app set on it; a
rollback drops them, so nothing is announced that did not happen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.orm import Session

WAKE: Final = "effects.wake"
EVENTS: Final = "effects.events"


def wake(session: Session, gateway_id: str | None) -> None:
    """Once ``session`` commits, wake the gateway's poll: it has something new to fetch."""
    if gateway_id is not None:
        session.info.setdefault(WAKE, set()).add(gateway_id)


def announce(session: Session, event: dict[str, Any]) -> None:
    """Once ``session`` commits, send ``event`` to the live maps (of every replica)."""
    session.info.setdefault(EVENTS, []).append(event)


@dataclass(frozen=True)
class Effects:
    """Who sets the signals off: called after each commit, from the committing thread."""

    wake: Callable[[str], None]
    announce: Callable[[list[dict[str, Any]]], None]

    def committed(self, info: dict[str, Any]) -> None:
        """Set off what a committed session noted."""
        for gateway_id in sorted(info.pop(WAKE, ())):
            self.wake(gateway_id)
        events = info.pop(EVENTS, None)
        if events:
            self.announce(events)


def forget(info: dict[str, Any]) -> None:
    """Drop what a rolled-back session noted."""
    info.pop(WAKE, None)
    info.pop(EVENTS, None)
