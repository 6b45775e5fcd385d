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

from harness.firmware import FIRMWARE, HOST, MicroPython, micropython_binary, mp_env
from harness.services import Service, broker_certs, free_port, running, tls_listener
from harness.services import mosquitto as start_mosquitto

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
