"""A browser's push service for tests: it takes Web Push messages and decrypts them.

It stands where Google's or Mozilla's push service would, at ``endpoint``, and holds the keys
a browser would (a P-256 key pair and an auth secret), so it can read what the server sent
(RFC 8291, aes128gcm, with ``http_ece``) and check its VAPID signature header is there.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class PushService:
    """A push endpoint on a loopback port; ``received`` holds the decrypted payloads."""

    def __init__(self, status: int = 201) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = secrets.token_bytes(16)
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.status = status
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                plain = http_ece.decrypt(
                    body, private_key=service.key, auth_secret=service.auth, version="aes128gcm"
                )
                service.headers.append({k.lower(): v for k, v in self.headers.items()})
                service.received.append(json.loads(plain))
                self.send_response(service.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        """Where the browser's subscription says to send."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/push/browser-1"

    def subscription(self) -> dict[str, Any]:
        """The subscription a browser hands the server (``PushSubscription.toJSON()``)."""
        point = self.key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "keys": {"p256dh": _b64(point), "auth": _b64(self.auth)}}

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
