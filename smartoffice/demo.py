"""``make demo``: broker, server, gateway and a simulated fleet in one process.

Everything runs on embedded defaults: an in-process amqtt broker and SQLite for everything.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import SecretStr

from edge.app import Gateway
from edge.config import EdgeSettings
from server.app import create_app
from server.config import ServerSettings
from server.db import Database, init_schema
from server.registry.service import add_gateway, import_doc, parse_doc
from smartoffice.fleet import WITA, Fleet, FleetThread, SimClock, parse_start

logger = logging.getLogger(__name__)
GATEWAY = "gw-demo"


def _free_port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Broker:
    """An amqtt broker on its own event loop thread."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-broker", daemon=True)
        self._broker: Any = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        from amqtt.broker import Broker

        self._broker = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
                "plugins": {
                    "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
                },
            }
        )
        await self._broker.start()

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(20):
            raise RuntimeError("the in-process MQTT broker did not start")

    def stop(self) -> None:
        fut = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
        fut.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


class _Mosquitto:
    """A private Mosquitto on a free port, used when the machine has one installed."""

    def __init__(self, port: int, workdir: Path, binary: str) -> None:
        self.port = port
        workdir.mkdir(parents=True, exist_ok=True)
        self._conf = workdir / "mosquitto.conf"
        user = "user root\n" if os.geteuid() == 0 else ""
        self._conf.write_text(
            f"{user}listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {workdir}/\nmax_queued_messages 0\n"
            "max_inflight_messages 1000\nlog_dest none\n"
        )
        self._argv = [binary, "-c", str(self._conf)]
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._proc = subprocess.Popen(
            self._argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("the demo's Mosquitto did not start")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)


def _broker(port: int, workdir: Path) -> _Broker | _Mosquitto:
    """Mosquitto when installed, else the in-process amqtt broker.

    Mosquitto copes with hundreds of clients connecting at once; amqtt needs nothing from
    the OS, so the demo runs on a machine without Mosquitto too.
    """
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
    return _Mosquitto(port, workdir, binary) if binary else _Broker(port)


def run_demo(*, desks: int, port: int, data_dir: Path) -> None:
    """Start everything, print where to look, and run until Ctrl-C."""
    data_dir.mkdir(parents=True, exist_ok=True)
    admin_token = secrets.token_urlsafe(24)
    settings = ServerSettings(
        data_dir=data_dir, port=_free_port(port), admin_token=SecretStr(admin_token)
    )
    broker_port = _free_port(1883)
    # The office day starts at 08:00 WITA whenever the demo starts, ten times real speed.
    fleet = Fleet(
        building="kemenpan-a",
        desks=desks,
        host="127.0.0.1",
        port=broker_port,
        clock=SimClock(parse_start("08:00"), 10.0),
        home=data_dir / "nodes",
    )
    db = Database(settings.sqlalchemy_url)
    init_schema(db.engine)
    with db.session() as session:
        token = add_gateway(session, gateway_id=GATEWAY)
        import_doc(session, parse_doc(fleet.registry(GATEWAY)))
    db.close()

    broker = _broker(broker_port, data_dir / "mosquitto")
    broker.start()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=settings.port, log_level="warning"
        )
    )
    server_thread = threading.Thread(target=server.run, name="demo-server", daemon=True)
    server_thread.start()
    while not server.started:
        time.sleep(0.05)
    gateway = Gateway(
        EdgeSettings(
            gateway_id=GATEWAY,
            gateway_token=SecretStr(token),
            server_url=f"http://127.0.0.1:{settings.port}",
            mqtt_port=broker.port,
            data_dir=data_dir / "edge",
            http_port=_free_port(9100),
            outbox_sync="normal",
        )
    )
    gateway.start()
    # amqtt mishandles many sessions subscribing at the same instant; spread them out.
    fleet_thread = FleetThread(fleet, stagger_s=0.05)
    fleet_thread.start()

    base = f"http://127.0.0.1:{settings.port}"
    auth = f"-H 'Authorization: Bearer {admin_token}'"
    # Today in WITA, so the example answers with this demo's own data.
    today = datetime.now(WITA).date().isoformat()
    counts = f"stream=presence&start={today}T00:00&end={today}T23:59&every=1m"
    print(
        f"""
IKN Smart Office demo is running: {len(fleet.devices)} simulated devices, running the
firmware's own application; their office day began at 08:00 WITA and runs 10x fast.

  API and docs      {base}/docs
  server health     {base}/readyz     metrics {base}/metrics
  gateway health    http://127.0.0.1:{gateway.http_server.port}/healthz
  MQTT broker       127.0.0.1:{broker.port}   (topics under ikn/v1/...)
  admin token       {admin_token}

  Latest CO2 per room:
    curl {auth} '{base}/api/v1/readings/latest?stream=env&field=co2_ppm'
  Presence readings stored per minute today (WITA):
    curl {auth} '{base}/api/v1/readings/counts?{counts}'

Press Ctrl-C to stop.""",
        flush=True,
    )  # noqa: T201

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    print("stopping...", flush=True)  # noqa: T201
    fleet_thread.stop()
    gateway.stop()
    server.should_exit = True
    server_thread.join(10)
    broker.stop()
