"""Web Push: the browsers people let notify them, and sending what is queued for them.

A browser subscribes with the server's VAPID public key (``application_server_key``) and
gives an endpoint at its push service (Google's, Mozilla's, Apple's, Microsoft's) and its
keys; the message is encrypted for the browser (RFC 8291, aes128gcm) and signed for the
push service (RFC 8292, VAPID) by ``pywebpush``. Only endpoints at the push services the
settings name are taken: the server never posts to an address a person made up. A
subscription the push service says is gone (404, 410) is deleted.
"""

from __future__ import annotations

import base64
import logging
from ipaddress import ip_address
from typing import Protocol
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid
from pywebpush import WebPushException, webpush
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.clock import now_ms
from server.db import Database
from server.exceptions import ConflictError
from server.i18n import T
from server.notify.models import PushMessage, PushSubscription

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 10
TTL_S = 3600
"""How long a push service keeps a message for a browser that is offline: a reminder an
hour late is no use."""


def new_private_key() -> str:
    """A new VAPID private key: base64url of the raw 32-byte P-256 scalar."""
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_key(private: str) -> str:
    """The application server key browsers subscribe with (base64url, uncompressed point)."""
    vapid = Vapid.from_string(private_key=private)
    point = vapid.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()


def allowed(endpoint: str, hosts: list[str]) -> bool:
    """Whether ``endpoint`` is at one of the push services ``hosts`` names.

    Over https only; plain http only on a loopback address, for tests.
    """
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    if not any(host == h or host.endswith("." + h) for h in hosts):
        return False
    if parts.scheme == "https":
        return True
    try:
        return parts.scheme == "http" and ip_address(host).is_loopback
    except ValueError:
        return False


def subscribe(
    session: Session,
    *,
    user_id: int,
    endpoint: str,
    p256dh: str,
    auth: str,
    hosts: list[str],
) -> PushSubscription:
    """Keep a browser's subscription for the person (the same endpoint again: updated)."""
    if not allowed(endpoint, hosts):
        raise ConflictError(
            T(
                "this browser's push service ({host}) is not one this server sends to",
                host=urlsplit(endpoint).hostname or "?",
            )
        )
    row = session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if row is None:
        row = PushSubscription(endpoint=endpoint, user_id=user_id, created_ms=now_ms())
        session.add(row)
    row.user_id, row.p256dh, row.auth = user_id, p256dh, auth
    session.flush()
    return row


def unsubscribe(session: Session, *, user_id: int, endpoint: str) -> int:
    """Forget a browser of the person's; how many went (0 or 1)."""
    gone = session.execute(
        delete(PushSubscription).where(
            PushSubscription.user_id == user_id, PushSubscription.endpoint == endpoint
        )
    )
    return int(gone.rowcount or 0)  # type: ignore[attr-defined]


def subscriptions(session: Session, user_id: int) -> int:
    """How many browsers the person lets notify them."""
    return len(
        session.scalars(
            select(PushSubscription.id).where(PushSubscription.user_id == user_id)
        ).all()
    )


class Pusher(Protocol):
    """Delivers one encrypted message to a browser's push service, or raises."""

    def push(self, sub: PushSubscription, payload: str) -> None:
        """Send ``payload`` to ``sub``."""


class WebPusher:
    """pywebpush with the server's VAPID key."""

    def __init__(self, *, private_key: str, subject: str, timeout_s: float = 10) -> None:
        self.vapid = Vapid.from_string(private_key=private_key)
        self.subject, self.timeout_s = subject, timeout_s

    def push(self, sub: PushSubscription, payload: str) -> None:
        """Encrypt and send (raises WebPushException on the service's refusal)."""
        webpush(
            {"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}},
            data=payload,
            vapid_private_key=self.vapid,
            vapid_claims={"sub": self.subject},
            ttl=TTL_S,
            timeout=self.timeout_s,
            headers={"Urgency": "high"},
        )


def deliver(db: Database, pusher: Pusher, batch: int = 50) -> int:
    """Send queued pushes; a failure is kept and retried, a gone browser forgotten."""
    sent = 0
    with db.session() as session:
        pending = session.execute(
            select(PushMessage, PushSubscription)
            .join(PushSubscription, PushSubscription.id == PushMessage.subscription_id)
            .where(PushMessage.sent_ms.is_(None), PushMessage.attempts < MAX_ATTEMPTS)
            .order_by(PushMessage.id)
            .limit(batch)
        ).all()
        for message, sub in pending:
            message.attempts += 1
            try:
                pusher.push(sub, message.payload)
            except WebPushException as exc:
                status = exc.response.status_code if exc.response is not None else None
                if status in (404, 410):
                    logger.info("push subscription %d is gone (%s): forgotten", sub.id, status)
                    session.delete(sub)
                    continue
                message.last_error = f"{status}: {exc}"[:300]
                logger.warning("push %d failed: %s", message.id, message.last_error)
                continue
            except OSError as exc:
                message.last_error = f"{exc.__class__.__name__}: {exc}"[:300]
                logger.warning("push %d failed: %s", message.id, message.last_error)
                break  # the network is away: the rest at the next sweep
            message.sent_ms = sub.last_sent_ms = now_ms()
            sent += 1
    return sent
