"""The registry snapshot: pulled from the server, cached on disk for when it is away."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from pydantic import ValidationError

from contracts.registry import DeviceEntry, RegistrySnapshot

logger = logging.getLogger(__name__)
# An unknown device asks for a refresh at most this often, so a flood of messages from
# an unregistered device cannot turn into a flood of requests to the server.
UNKNOWN_REFRESH_MIN_S = 5.0


class RegistryCache:
    """Device lookups from the newest snapshot, refreshed in the background."""

    def __init__(
        self,
        *,
        http: httpx.Client,
        path: Path,
        refresh_s: float,
        on_change: Callable[[RegistrySnapshot], object] | None = None,
    ) -> None:
        self._http = http
        self._on_change = on_change
        self._path = path
        self._refresh_s = refresh_s
        self._devices: dict[str, DeviceEntry] = {}
        self.version: str | None = None
        self.snapshot: RegistrySnapshot | None = None
        self._applied: str | None = None
        self.fetched_ms: int | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._last_unknown = 0.0
        self._thread = threading.Thread(target=self._run, name="edge-registry", daemon=True)
        if path.exists():
            try:
                self._use(RegistrySnapshot.model_validate_json(path.read_bytes()))
                logger.info("registry %s loaded from %s", self.version, path)
            except ValidationError:
                logger.exception("ignoring a damaged registry cache at %s", path)

    def get(self, device_id: str) -> DeviceEntry | None:
        """The device, or None (and an early refresh) when it is not registered."""
        entry = self._devices.get(device_id)
        if entry is None and time.monotonic() - self._last_unknown > UNKNOWN_REFRESH_MIN_S:
            self._last_unknown = time.monotonic()
            self._wake.set()
        return entry

    def refresh_soon(self) -> None:
        """Pull the snapshot now on the registry's own thread."""
        self._wake.set()

    def __len__(self) -> int:
        return len(self._devices)

    def refresh(self) -> bool:
        """Pull the snapshot now; False (keeping the cached one) when the server is away."""
        try:
            resp = self._http.get("/api/v1/gateway/registry")
            resp.raise_for_status()
            snap = RegistrySnapshot.model_validate_json(resp.content)
        except (httpx.HTTPError, ValidationError) as exc:
            logger.warning("registry refresh failed, keeping version %s: %s", self.version, exc)
            return False
        if snap.version != self.version:
            # It holds every device's password hash: the gateway's user alone may read it.
            tmp = self._path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(snap.model_dump_json().encode())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self._path)
            logger.info("registry updated to %s (%d devices)", snap.version, len(snap.devices))
        self._use(snap)
        self.fetched_ms = int(time.time() * 1000)
        return True

    def _use(self, snap: RegistrySnapshot) -> None:
        self._devices = snap.by_id()
        self.version = snap.version
        self.snapshot = snap
        if self._on_change is not None and snap.version != self._applied:
            try:
                self._on_change(snap)
                self._applied = snap.version
            except Exception:
                # The snapshot still serves validation; the next refresh tries again.
                logger.exception("applying registry %s failed", snap.version)

    def start(self) -> None:
        """Refresh now and then every ``refresh_s`` (or sooner on an unknown device)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop refreshing."""
        self._stop.set()
        self._wake.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._wake.wait(self._refresh_s)
            self._wake.clear()
