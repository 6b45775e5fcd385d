"""Commands and desired states from the server, published to the devices' topics.

The gateway long-polls the server, which also says when the gateway's registry is out of
date (the gateway then pulls it at once); each item is published at QoS 1 and confirmed to the
server only once the broker has acknowledged it, so a gateway that dies mid-way publishes
the item again (a device ignores a repeated ``cmd_id``; a state is idempotent).
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable

import httpx
from pydantic import ValidationError

from contracts.downlink import DownlinkBatch, DownlinkSent
from contracts.topics import Topics

logger = logging.getLogger(__name__)


class DownlinkPoller:
    """Polls ``/api/v1/gateway/downlink`` on its own thread and publishes what it gets."""

    def __init__(
        self,
        *,
        http: httpx.Client,
        topics: Topics,
        publish: Callable[[str, bytes, bool], bool],
        registry_version: Callable[[], str | None],
        registry_stale: Callable[[], None],
        wait_s: float = 5.0,
        backoff_max_s: float = 30.0,
    ) -> None:
        self._http = http
        self._topics = topics
        self._publish = publish
        self._registry_version = registry_version
        self._registry_stale = registry_stale
        self._wait_s = wait_s
        self._backoff_max_s = backoff_max_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="edge-downlink", daemon=True)
        self.published = 0

    def start(self) -> None:
        """Start polling."""
        self._thread.start()

    def stop(self) -> None:
        """Stop once the poll waiting at the server returns (within ``wait_s``)."""
        self._stop.set()
        self._thread.join(self._wait_s + 15)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self.poll_once()
                failures = 0
            except (httpx.HTTPError, ValidationError) as exc:
                failures += 1
                delay = random.uniform(0, min(self._backoff_max_s, 0.5 * 2**failures))
                logger.warning("downlink poll failed (%s); again in %.1f s", exc, delay)
                self._stop.wait(delay)

    def poll_once(self) -> int:
        """One poll: publish what the server has and confirm it; returns how many."""
        params: dict[str, str | float] = {"wait": self._wait_s}
        held = self._registry_version()
        if held is not None:
            params["registry"] = held
        resp = self._http.get("/api/v1/gateway/downlink", params=params, timeout=self._wait_s + 10)
        resp.raise_for_status()
        batch = DownlinkBatch.model_validate_json(resp.content)
        if batch.registry_version is not None and batch.registry_version != held:
            # A device was registered, moved or retired: pull the registry now, so a
            # freshly flashed node's first messages are not refused as unknown.
            self._registry_stale()
            if not batch.items:
                self._stop.wait(0.5)  # let the refresh land before asking again
        sent = []
        for item in batch.items:
            if item.zone is not None:
                topic = self._topics.zone_down(item.zone, item.channel)
            else:
                assert item.device is not None  # the contract allows one or the other
                topic = self._topics.down(item.device, item.channel)
            payload = json.dumps(item.payload, separators=(",", ":")).encode()
            if not self._publish(topic, payload, item.retain):
                logger.warning("broker did not take %s; will retry", topic)
                break
            sent.append(item.id)
        if sent:
            self._http.post(
                "/api/v1/gateway/downlink/sent", json=DownlinkSent(ids=sent).model_dump()
            ).raise_for_status()
            self.published += len(sent)
            logger.debug("published %d downlink message(s)", len(sent))
        elif not batch.items:
            return 0
        else:
            self._stop.wait(1.0)  # the broker is away: do not spin
        return len(sent)
