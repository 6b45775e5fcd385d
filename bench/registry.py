"""What the registry costs at campus scale: layouts, device logins, broker reloads, logins.

- importing the example building (384 desks) and importing it again;
- registering N devices (each gets a password and its Mosquitto hash);
- building a gateway's snapshot of N devices and rendering the broker's files;
- how long a real Mosquitto takes to reload an N-login password file (SIGHUP until a
  device registered last can connect);
- one argon2id password hash and verification (a login's cost).

Run: ``python -m bench.registry [--devices 5000] [--database-url URL]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from contracts.topics import Topics
from edge.broker import BrokerFiles
from server.auth.passwords import hash_password, verify_password
from server.auth.service import Principal
from server.db import Database, init_schema
from server.registry.devices import register
from server.registry.layout import import_layout
from server.registry.schemas import DeviceCreate
from server.registry.service import add_gateway, snapshot
from server.spaces.loader import load_layout

EXAMPLE = Path(__file__).resolve().parents[1] / "docs/examples/kemenko-3/layout.json"


def timed(label: str, fn: object, *args: object) -> object:
    started = time.perf_counter()
    result = fn(*args)  # type: ignore[operator]
    print(f"{label:58} {time.perf_counter() - started:9.3f} s")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--devices", type=int, default=5000)
    ap.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ikn-bench-registry-"))
    db = Database(args.database_url or f"sqlite:///{work / 'smartoffice.db'}")
    init_schema(db.engine)
    doc, plans = load_layout(EXAMPLE)

    def layout() -> None:
        with db.session() as s:
            import_layout(s, doc, plans=plans)

    timed("layout import, 384 desks, first time", layout)
    timed("layout import, same file again (no change)", layout)

    def devices() -> list[tuple[str, str]]:
        made = []
        with db.session() as s:
            add_gateway(s, gateway_id="gw-bench", building="kemenko-3")
            for i in range(args.devices):
                new = DeviceCreate(kind="desk", id=f"desk-{i:05d}", gateway="gw-bench")
                row, password = register(s, actor=Principal("bench", "admin", "bench"), new=new)
                made.append((row.id, password))
        return made

    made = timed(f"register {args.devices} devices (password + hash each)", devices)

    def snap() -> object:
        with db.session() as s:
            return snapshot(s, gateway_id="gw-bench")

    snap_ = timed(f"gateway snapshot of {args.devices} devices", snap)
    files = BrokerFiles(
        passwd_path=work / "passwd",
        acl_path=work / "acl",
        topics=Topics(),
        gateway_username="gw-bench",
        gateway_password="bench-gateway-password",
    )
    timed("render and write Mosquitto's password and ACL files", files.write, snap_)
    print(
        f"{'password file / ACL file size':58} {(work / 'passwd').stat().st_size:>9,} B "
        f"/ {(work / 'acl').stat().st_size:,} B"
    )
    reload_time(work, made[-1])  # type: ignore[index]

    started = time.perf_counter()
    stored = hash_password("kata-sandi-yang-panjang")
    hashed = time.perf_counter() - started
    started = time.perf_counter()
    verify_password("kata-sandi-yang-panjang", stored)
    checked = time.perf_counter() - started
    label = "argon2id hash / verify (one login)"
    print(f"{label:58} {hashed * 1000:7.1f} ms / {checked * 1000:.1f} ms")
    db.close()
    shutil.rmtree(work)


def reload_time(work: Path, last: tuple[str, str]) -> None:
    """Start Mosquitto on the files, SIGHUP it, and time until the last device gets in."""
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
    if binary is None:
        print("mosquitto not installed: reload time not measured")
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    user = "user root\n" if os.geteuid() == 0 else ""
    (work / "mosquitto.conf").write_text(
        f"{user}listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {work}/passwd\n"
        "use_username_as_clientid true\n"
        f"acl_file {work}/acl\nlog_dest none\n"
    )
    proc = subprocess.Popen([binary, "-c", str(work / "mosquitto.conf")])
    try:
        while not _connects(port, *last):
            time.sleep(0.05)
        started = time.perf_counter()
        proc.send_signal(signal.SIGHUP)
        # The reload is done when the broker answers a new login again.
        while not _connects(port, *last):
            time.sleep(0.01)
        print(
            f"{'Mosquitto reload (SIGHUP until the next login succeeds)':58} "
            f"{time.perf_counter() - started:9.3f} s"
        )
    finally:
        proc.terminate()
        proc.wait(10)


def _connects(port: int, user: str, password: str) -> bool:
    ok = threading.Event()
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=user, protocol=paho.MQTTv311)
    c.username_pw_set(user, password)
    c.on_connect = lambda _c, _u, _f, rc, _p: ok.set() if not rc.is_failure else None
    try:
        c.connect("127.0.0.1", port)
    except OSError:
        return False
    c.loop_start()
    got = ok.wait(2)
    c.disconnect()
    c.loop_stop()
    return got


if __name__ == "__main__":
    main()
