"""An SMTP server's inbox for tests (aiosmtpd's handler)."""

from __future__ import annotations

from email import message_from_bytes
from email.message import Message
from typing import Any


class Inbox:
    """Collects every message the SMTP server accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"
