"""``make demo``: broker, server, gateway and a simulated fleet in one process.

Everything runs on embedded defaults: an in-process amqtt broker and SQLite for everything.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
import socket
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
from smartoffice.simulator import WITA, Fleet

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


def run_demo(*, desks: int, port: int, data_dir: Path) -> None:
    """Start everything, print where to look, and run until Ctrl-C."""
    data_dir.mkdir(parents=True, exist_ok=True)
    admin_token = secrets.token_urlsafe(24)
    settings = ServerSettings(
        data_dir=data_dir, port=_free_port(port), admin_token=SecretStr(admin_token)
    )
    fleet = Fleet.office(building="kemenpan-a", desks=desks)
    db = Database(settings.sqlalchemy_url)
    init_schema(db.engine)
    with db.session() as session:
        token = add_gateway(session, gateway_id=GATEWAY)
        import_doc(session, parse_doc(fleet.registry(GATEWAY)))
    db.close()

    broker = _Broker(_free_port(1883))
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
    fleet_thread = threading.Thread(
        target=fleet.run,
        kwargs={"host": "127.0.0.1", "port": broker.port},
        name="demo-fleet",
        daemon=True,
    )
    fleet_thread.start()

    base = f"http://127.0.0.1:{settings.port}"
    auth = f"-H 'Authorization: Bearer {admin_token}'"
    # Today in WITA, so the example answers with this demo's own data.
    today = datetime.now(WITA).date().isoformat()
    counts = f"stream=presence&start={today}T00:00&end={today}T23:59&every=1m"
    print(
        f"""
IKN Smart Office demo is running: {len(fleet.devices)} simulated devices.

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
    fleet.stop()
    fleet_thread.join(10)
    gateway.stop()
    server.should_exit = True
    server_thread.join(10)
    broker.stop()
