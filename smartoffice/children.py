"""Processes the demo starts end with it, however it ends (Ctrl-C, SIGTERM, SIGKILL).

Linux tells a child whose parent died with the signal set by ``prctl(PR_SET_PDEATHSIG)``;
elsewhere the child is only stopped when the demo stops it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
import sys
from typing import Final

PR_SET_PDEATHSIG: Final = 1


def die_with_parent() -> None:
    """In a child before it execs: be sent SIGTERM when the parent dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
