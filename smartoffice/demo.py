"""``make demo``: broker, server, gateway and a simulated fleet in one process.

Everything runs on embedded defaults: SQLite for everything, and a private Mosquitto with
per-device logins when one is installed (else the in-process amqtt broker, anonymous).
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
from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.topics import Topics
from edge.app import Gateway
from edge.broker import BrokerFiles
from edge.config import EdgeSettings
from server.app import create_app
from server.auth.models import User
from server.auth.passwords import hash_password
from server.auth.schemas import UserCreate
from server.auth.service import create_user
from server.config import ServerSettings
from server.db import Database, init_schema
from server.registry.layout import import_layout
from server.registry.service import add_gateway, import_doc, parse_doc, snapshot
from server.spaces.loader import parse_layout
from smartoffice.fleet import WITA, Fleet, FleetThread, SimClock, parse_start

logger = logging.getLogger(__name__)
GATEWAY = "gw-demo"
BUILDING = "kemenpan-a"


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
    """A private Mosquitto on a free port, used when the machine has one installed.

    It checks every login against the password and ACL files the gateway writes from the
    registry, as in a real building, and reloads them on the gateway's SIGHUP.
    """

    def __init__(self, port: int, workdir: Path, binary: str) -> None:
        self.port = port
        workdir.mkdir(parents=True, exist_ok=True)
        self.passwd = workdir / "passwd"
        self.acl = workdir / "acl"
        self.pid_file = workdir / "mosquitto.pid"
        self._conf = workdir / "mosquitto.conf"
        user = "user root\n" if os.geteuid() == 0 else ""
        self._conf.write_text(
            f"{user}listener {port} 127.0.0.1\nallow_anonymous false\n"
            "use_username_as_clientid true\n"
            f"password_file {self.passwd}\nacl_file {self.acl}\npid_file {self.pid_file}\n"
            f"persistence true\npersistence_location {workdir}/\nmax_queued_messages 0\n"
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
    # Zone decisions go out as commands on ikn/v1/zone/{zone}/down/{hvac,lighting}.
    settings = ServerSettings(data_dir=data_dir, port=_free_port(port), energy_actions="command")
    settings.public_url = f"http://127.0.0.1:{settings.port}"
    broker_port = _free_port(1883)
    broker = _broker(broker_port, data_dir / "mosquitto")
    secure = isinstance(broker, _Mosquitto)
    # The office day starts at 08:00 WITA whenever the demo starts, ten times real speed.
    fleet = Fleet(
        building=BUILDING,
        desks=desks,
        host="127.0.0.1",
        port=broker_port,
        clock=SimClock(parse_start("08:00"), 10.0),
        home=data_dir / "nodes",
        passwords=secure,
    )
    admin_password = secrets.token_urlsafe(12)
    gateway_mqtt_password = secrets.token_urlsafe(24)
    db = Database(settings.sqlalchemy_url)
    init_schema(db.engine)
    with db.session() as session:
        token = add_gateway(session, gateway_id=GATEWAY, actor="demo", building=BUILDING)
        import_layout(session, parse_layout(fleet.layout(BUILDING)))
        import_doc(session, parse_doc(fleet.registry(GATEWAY)), actor="demo")
        _demo_user(session, "admin", "admin", admin_password)
        snap = snapshot(session, gateway_id=GATEWAY)
    db.close()

    topics = Topics()
    broker_files = None
    if isinstance(broker, _Mosquitto):
        broker_files = (broker.passwd, broker.acl, broker.pid_file)
        # The broker needs its files before it starts; the gateway keeps them current.
        BrokerFiles(
            passwd_path=broker.passwd,
            acl_path=broker.acl,
            topics=topics,
            gateway_username=GATEWAY,
            gateway_password=gateway_mqtt_password,
        ).write(snap)
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
            mqtt_password=SecretStr(gateway_mqtt_password) if secure else None,
            broker_passwd_file=broker_files[0] if broker_files else None,
            broker_acl_file=broker_files[1] if broker_files else None,
            broker_reload_pid_file=broker_files[2] if broker_files else None,
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
    login = (
        f"TOKEN=$(curl -s -d 'username=admin&password={admin_password}' {base}/api/v1/auth/token"
        " | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')"
    )
    # Today in WITA, so the example answers with this demo's own data.
    today = datetime.now(WITA).date().isoformat()
    counts = f"stream=presence&start={today}T00:00&end={today}T23:59&every=1m"
    energy = (f"building={BUILDING}&start={today}T00:00&end={today}T23:59&every=1h"
              "&by=floor")  # fmt: skip
    logins = "per-device logins and ACLs" if secure else "anonymous (in-process amqtt)"
    print(
        f"""
IKN Smart Office demo is running: {len(fleet.devices)} simulated devices, running the
firmware's own application; their office day began at 08:00 WITA and runs 10x fast.

  API and docs      {base}/docs
  server health     {base}/readyz     metrics {base}/metrics
  gateway health    http://127.0.0.1:{gateway.http_server.port}/healthz
  MQTT broker       127.0.0.1:{broker.port}   (topics under ikn/v1/..., {logins})
  admin login       admin / {admin_password}

  Log in (a token for 30 minutes):
    {login}
  Latest CO2 per room:
    curl -H "Authorization: Bearer $TOKEN" '{base}/api/v1/readings/latest?stream=env&field=co2_ppm'
  Presence readings stored per minute today (WITA):
    curl -H "Authorization: Bearer $TOKEN" '{base}/api/v1/readings/counts?{counts}'
  Energy today per floor (kWh, per occupied desk-hour, out of hours), and as CSV:
    curl -H "Authorization: Bearer $TOKEN" '{base}/api/v1/energy/summary?{energy}'
    curl -H "Authorization: Bearer $TOKEN" '{base}/api/v1/energy/summary?{energy}&format=csv'
  Each zone's HVAC and lighting mode and why (also on ikn/v1/zone/+/down/#):
    curl -H "Authorization: Bearer $TOKEN" '{base}/api/v1/energy/actions?building={BUILDING}'
  Devices, and the installer's view of them:
    smartoffice login --server {base} --username admin && smartoffice device list

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


def _demo_user(session: Session, username: str, role: str, password: str) -> None:
    """The demo's account (its password is new at every start)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        create_user(
            session,
            actor="demo",
            new=UserCreate(
                username=username, password=password, role=role, display_name="Demo " + role
            ),
        )
    else:
        user.password_hash = hash_password(password)
