"""Send the outbox to the server in gzip batches, in order, with capped backoff and jitter.

The head of the outbox never blocks the rest for good. A failure that is not the batch's
fault (server unreachable, overloaded, its storage down) is retried with a backoff capped
at ``backoff_max_s``. When the server says a batch is bad, or fails inside on it, the batch
is halved until the reading at fault stands alone, and that reading is set aside in the
quarantine as a dead letter, with the server's reason; the queue then moves on.
"""

from __future__ import annotations

import gzip
import logging
import random
import threading
import time

import httpx
from pydantic import ValidationError

from contracts.batch import IngestResult, batch_json
from edge.exceptions import UplinkError
from edge.metrics import EdgeMetrics
from edge.outbox import Outbox

logger = logging.getLogger(__name__)
# The server says the batch itself is wrong: sending it again as it is cannot succeed.
CONTENT = frozenset({400, 413, 415, 422})
# Nothing about the batch: the server is away, overloaded or misconfigured for a while.
TRANSIENT = frozenset({401, 403, 404, 408, 425, 429, 502, 503, 504})
# A single reading that makes the server fail this many times in a row is set aside: a
# server error that repeats on one reading alone is that reading's doing.
SUSPECT_STRIKES = 3


class OutboxSender:
    """Drains the outbox on its own thread."""

    def __init__(
        self,
        *,
        outbox: Outbox,
        http: httpx.Client,
        gateway_id: str,
        metrics: EdgeMetrics,
        batch_size: int,
        backoff_initial_s: float,
        backoff_max_s: float,
    ) -> None:
        self._outbox = outbox
        self._http = http
        self._gateway_id = gateway_id
        self._metrics = metrics
        self.max_batch_size = batch_size
        self.batch_size = batch_size
        self._backoff_initial = backoff_initial_s
        self._backoff_max = backoff_max_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="edge-uplink", daemon=True)
        self.failures = 0
        self._strikes = 0
        self.failing_since_ms: int | None = None
        self.last_success_ms: int | None = None
        self.last_error: str | None = None

    def notify(self) -> None:
        """New rows are in the outbox."""
        self._wake.set()

    def start(self) -> None:
        """Start draining."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the batch in flight."""
        self._stop.set()
        self._wake.set()
        self._thread.join(35)

    def backoff_s(self) -> float:
        """Full-jitter exponential backoff for the current run of failures, capped."""
        cap = min(self._backoff_max, self._backoff_initial * 2 ** min(self.failures, 30))
        return random.uniform(min(cap, self._backoff_initial / 2), cap)  # noqa: S311  (jitter)

    def _run(self) -> None:
        while not self._stop.is_set():
            rows = self._outbox.peek(self.batch_size)
            if not rows:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            self.step(rows)

    def step(self, rows: list[tuple[int, bytes]]) -> None:
        """Send one batch and act on the outcome: done, narrowed, set aside, or wait."""
        try:
            self.send(rows)
        except UplinkError as exc:
            self._failed(rows, exc)
        else:
            self.failures = self._strikes = 0
            self.failing_since_ms = None
            self.last_error = None
            self.batch_size = min(self.max_batch_size, self.batch_size * 2)

    def _failed(self, rows: list[tuple[int, bytes]], exc: UplinkError) -> None:
        self.last_error = str(exc)
        if self.failing_since_ms is None:
            self.failing_since_ms = int(time.time() * 1000)
        self._metrics.uplink_failures.labels(exc.kind).inc()
        if exc.status == 413:
            # Too large for the server (or a proxy before it): stay below this size.
            self.max_batch_size = max(1, min(self.max_batch_size, len(rows) // 2))
        if exc.kind != "transient" and len(rows) > 1:
            # Narrow down to the reading at fault; the good half goes through next time.
            self.batch_size = max(1, len(rows) // 2)
            logger.warning(
                "server refused a batch of %d (%s); trying %d", len(rows), exc, self.batch_size
            )
            if exc.kind == "suspect":
                self._stop.wait(self._backoff_initial)
            return
        if exc.kind == "suspect":
            self._strikes += 1
        if exc.kind == "content" or self._strikes >= SUSPECT_STRIKES:
            logger.error("reading %d set aside as a dead letter: %s", rows[0][0], exc)
            self._outbox.dead_letter([(i, body, f"refused by server: {exc}") for i, body in rows])
            self._strikes = 0
            return
        self.failures += 1
        delay = self.backoff_s()
        logger.warning("uplink failed (%s); retrying in %.1f s", exc, delay)
        self._stop.wait(delay)

    def send(self, rows: list[tuple[int, bytes]]) -> IngestResult:
        """Send one batch; on success remove it from the outbox (refused readings aside)."""
        first, last = rows[0][0], rows[-1][0]
        batch_id = f"{self._gateway_id}-{first}-{last}"
        body = batch_json(self._gateway_id, batch_id, [b for _, b in rows])
        started = time.monotonic()
        try:
            resp = self._http.post(
                "/api/v1/ingest",
                content=gzip.compress(body, compresslevel=3),
                headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise UplinkError(f"server unreachable: {exc!r}") from exc
        if resp.status_code != 200:
            code = resp.status_code
            kind = "content" if code in CONTENT else "transient" if code in TRANSIENT else "suspect"
            raise UplinkError(f"HTTP {code}: {resp.text[:300]}", status=code, kind=kind)
        try:
            result = IngestResult.model_validate_json(resp.content)
        except ValidationError as exc:
            raise UplinkError(
                f"unexpected answer from server: {resp.text[:200]}", kind="suspect"
            ) from exc
        self._metrics.uplink_seconds.observe(time.monotonic() - started)
        refused = {r.index: r for r in result.rejections if 0 <= r.index < len(rows)}
        if refused:
            logger.error(
                "server refused %d readings of batch %s: %s",
                len(refused),
                batch_id,
                [r.reason for r in refused.values()][:3],
            )
            self._outbox.dead_letter(
                [
                    (rows[i][0], rows[i][1], f"refused by server ({r.kind}): {r.reason}")
                    for i, r in sorted(refused.items())
                ],
                through=last,
            )
        else:
            self._outbox.remove_through(last)
        self._metrics.sent.inc(result.accepted + result.duplicates)
        self._metrics.outbox_depth.set(self._outbox.depth)
        self._metrics.last_success.set_to_current_time()
        self.last_success_ms = int(time.time() * 1000)
        return result
