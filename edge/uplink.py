"""Send the outbox to the server in gzip batches, in order, with backoff and jitter."""

from __future__ import annotations

import gzip
import logging
import random
import threading
import time

import httpx
from pydantic import ValidationError

from contracts.batch import IngestResult
from edge.exceptions import UplinkError
from edge.metrics import EdgeMetrics
from edge.outbox import Outbox

logger = logging.getLogger(__name__)
# Statuses after which re-sending the same batch cannot succeed: the batch is moved to
# quarantine with the server's reason rather than blocking the outbox forever.
PERMANENT = frozenset({400, 404, 409, 410, 415, 422})


class Uplink:
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
        self.batch_size = batch_size
        self._backoff_initial = backoff_initial_s
        self._backoff_max = backoff_max_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="edge-uplink", daemon=True)
        self.failures = 0
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
        """Full-jitter exponential backoff for the current run of failures."""
        cap = min(self._backoff_max, self._backoff_initial * 2 ** min(self.failures, 30))
        return random.uniform(self._backoff_initial / 2, cap)  # noqa: S311  (jitter, not crypto)

    def _run(self) -> None:
        while not self._stop.is_set():
            rows = self._outbox.peek(self.batch_size)
            if not rows:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            try:
                self.send(rows)
            except UplinkError as exc:
                self.failures += 1
                self.last_error = str(exc)
                self._metrics.uplink_failures.labels(
                    "permanent" if exc.permanent else "retry"
                ).inc()
                if exc.permanent:
                    logger.error(
                        "server refused %d readings for good, quarantined: %s", len(rows), exc
                    )
                    self._outbox.quarantine_rows(rows, f"refused by server: {exc}")
                    continue
                delay = self.backoff_s()
                logger.warning("uplink failed (%s); retrying in %.1f s", exc, delay)
                self._stop.wait(delay)
            else:
                self.failures = 0
                self.last_error = None

    def send(self, rows: list[tuple[int, bytes]]) -> IngestResult:
        """Send one batch; on success remove it from the outbox."""
        first, last = rows[0][0], rows[-1][0]
        batch_id = f"{self._gateway_id}-{first}-{last}"
        body = b'{"v":1,"gateway_id":"%s","batch_id":"%s","readings":[%s]}' % (
            self._gateway_id.encode(),
            batch_id.encode(),
            b",".join(b for _, b in rows),
        )
        started = time.monotonic()
        try:
            resp = self._http.post(
                "/api/v1/ingest",
                content=gzip.compress(body, compresslevel=3),
                headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise UplinkError(f"server unreachable: {exc!r}") from exc
        if resp.status_code == 413 and self.batch_size > 100:
            self.batch_size //= 2
            raise UplinkError("batch too large; halving the batch size", status=413)
        if resp.status_code != 200:
            raise UplinkError(
                f"HTTP {resp.status_code}: {resp.text[:300]}",
                status=resp.status_code,
                permanent=resp.status_code in PERMANENT,
            )
        try:
            result = IngestResult.model_validate_json(resp.content)
        except ValidationError as exc:
            raise UplinkError(f"unexpected answer from server: {resp.text[:200]}") from exc
        self._metrics.uplink_seconds.observe(time.monotonic() - started)
        rejected = {r.index: r.reason for r in result.rejections if 0 <= r.index < len(rows)}
        if rejected:
            logger.error(
                "server rejected %d readings of batch %s: %s",
                len(rejected),
                batch_id,
                list(rejected.values())[:3],
            )
            self._outbox.quarantine_rows(
                [rows[i] for i in sorted(rejected)],
                "refused by server: " + "; ".join(sorted(set(rejected.values())))[:500],
            )
        self._outbox.remove_through(last)
        self._metrics.sent.inc(result.accepted + result.duplicates)
        self._metrics.outbox_depth.set(self._outbox.depth)
        self._metrics.last_success.set_to_current_time()
        self.last_success_ms = int(time.time() * 1000)
        return result
