"""Run the real server and gateway as processes (``python -m smartoffice ...``) for tests."""

from __future__ import annotations

import json
import os
import secrets
import signal
import ssl
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from server.db import Database, init_schema
from server.registry.service import add_gateway, import_doc, parse_doc
from tests.harness.services import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Proc:
    """A smartoffice subprocess with its environment."""

    name: str
    argv: list[str]
    env: dict[str, str]
    workdir: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    def start(self, ready_path: str, scheme: str = "http", verify: str | bool = True) -> None:
        """Start and wait until ``ready_path`` answers on ``port``."""
        log = open(self.workdir / f"{self.name}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "smartoffice", *self.argv],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            cwd=ROOT,
        )
        log.close()
        wait_for(
            lambda: self._answers(f"{scheme}://127.0.0.1:{self.port}{ready_path}", verify),
            f"{self.name} did not come up:\n" + self.log_tail(),
        )

    def _answers(self, url: str, verify: str | bool) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited {self.proc.returncode}:\n{self.log_tail()}")
        ctx = ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
        return httpx.get(url, timeout=1, verify=ctx).status_code < 500

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Signal the process and wait for it to exit."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log_tail(self, n: int = 40) -> str:
        """The end of the process's log."""
        path = self.workdir / f"{self.name}.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-n:]) if path.exists() else ""
        )

    @property
    def url(self) -> str:
        """Base URL of the process's HTTP port."""
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Platform:
    """A server, one gateway and their registry, all in one temp dir."""

    workdir: Path
    server_env: dict[str, str]
    gateway_id: str
    base_topic: str = "ikn"
    gateway_token: str = ""
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    server: Proc | None = None
    gateway: Proc | None = None

    def register(self, devices: list[dict[str, Any]]) -> None:
        """Register the gateway and ``devices`` directly in the server's database."""
        url = self.server_env.get("SMARTOFFICE_DATABASE_URL") or (
            f"sqlite:///{self.workdir / 'server' / 'smartoffice.db'}"
        )
        (self.workdir / "server").mkdir(parents=True, exist_ok=True)
        db = Database(url)
        init_schema(db.engine)
        with db.session() as session:
            if not self.gateway_token:
                self.gateway_token = add_gateway(session, gateway_id=self.gateway_id)
            import_doc(
                session,
                parse_doc(
                    {
                        "gateways": [self.gateway_id],
                        "devices": [{"gateway": self.gateway_id, **d} for d in devices],
                    }
                ),
            )
        db.close()

    def start_server(self) -> Proc:
        """Start (or restart) the server."""
        if self.server is None:
            port = free_port()
            self.server = Proc(
                "server",
                ["server"],
                {
                    "SMARTOFFICE_PORT": str(port),
                    "SMARTOFFICE_DATA_DIR": str(self.workdir / "server"),
                    "SMARTOFFICE_ADMIN_TOKEN": self.admin_token,
                    **self.server_env,
                },
                self.workdir,
                port,
            )
        self.server.start("/healthz")
        return self.server

    def start_server_tls(self, ca_file: str) -> Proc:
        """Start the server on HTTPS (its env must name the certificate and key)."""
        port = free_port()
        self.server = Proc(
            "server",
            ["server"],
            {
                "SMARTOFFICE_PORT": str(port),
                "SMARTOFFICE_DATA_DIR": str(self.workdir / "server"),
                **self.server_env,
            },
            self.workdir,
            port,
        )
        self.server.start("/healthz", scheme="https", verify=ca_file)
        return self.server

    def start_gateway(self, mqtt_port: int, **extra: str) -> Proc:
        """Start (or restart) the gateway."""
        assert self.server is not None
        if self.gateway is None:
            port = free_port()
            self.gateway = Proc(
                "gateway",
                ["edge"],
                {
                    "SMARTOFFICE_EDGE_GATEWAY_ID": self.gateway_id,
                    "SMARTOFFICE_EDGE_GATEWAY_TOKEN": self.gateway_token,
                    "SMARTOFFICE_EDGE_SERVER_URL": self.server.url,
                    "SMARTOFFICE_EDGE_MQTT_PORT": str(mqtt_port),
                    "SMARTOFFICE_EDGE_BASE_TOPIC": self.base_topic,
                    "SMARTOFFICE_EDGE_DATA_DIR": str(self.workdir / "edge"),
                    "SMARTOFFICE_EDGE_HTTP_PORT": str(port),
                    "SMARTOFFICE_EDGE_BACKOFF_INITIAL_S": "0.2",
                    "SMARTOFFICE_EDGE_BACKOFF_MAX_S": "1",
                    **extra,
                },
                self.workdir,
                port,
            )
        self.gateway.start("/healthz")
        wait_for(lambda: self.gateway_health()["mqtt_connected"], "gateway never connected")
        return self.gateway

    def gateway_health(self) -> dict[str, Any]:
        """The gateway's /healthz document."""
        assert self.gateway is not None
        return dict(httpx.get(f"{self.gateway.url}/healthz", timeout=2).json())

    def gateway_metric(self, name: str) -> float:
        """Sum of a gateway metric's samples (all label sets)."""
        assert self.gateway is not None
        return _metric(httpx.get(f"{self.gateway.url}/metrics", timeout=2).text, name)

    def server_metric(self, name: str) -> float:
        """Sum of a server metric's samples (all label sets)."""
        assert self.server is not None
        return _metric(httpx.get(f"{self.server.url}/metrics", timeout=2).text, name)

    def stop(self) -> None:
        """Stop the gateway, then the server."""
        for proc in (self.gateway, self.server):
            if proc is not None:
                proc.stop()


def _metric(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and line[len(name)] in " {":
            total += float(line.rsplit(" ", 1)[1])
    return total


def status_payload(kind: str, state: str = "online", boot: int = 1) -> str:
    """A device status message."""
    return json.dumps({"v": 1, "state": state, "boot": boot, "fw": "1.0.0", "kind": kind})
