"""``/healthz`` and ``/metrics`` of the gateway on a small HTTP server thread."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


class HealthServer:
    """Serves the gateway's health and metrics."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        health: Callable[[], tuple[bool, dict[str, Any]]],
        registry: CollectorRegistry,
        before_metrics: Callable[[], None],
    ) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802  (the name http.server calls)
                if self.path == "/healthz":
                    ok, body = outer._health()
                    self._send(200 if ok else 503, "application/json", json.dumps(body).encode())
                elif self.path == "/metrics":
                    outer._before_metrics()
                    self._send(200, CONTENT_TYPE_LATEST, generate_latest(outer._registry))
                else:
                    self._send(404, "application/json", b'{"detail":"try /healthz or /metrics"}')

            def _send(self, code: int, ctype: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._health = health
        self._registry = registry
        self._before_metrics = before_metrics
        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="edge-http", daemon=True
        )

    def start(self) -> None:
        """Start serving."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
