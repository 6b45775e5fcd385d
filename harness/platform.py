"""Run the real server and gateway as processes (``python -m smartoffice ...``) for tests."""

from __future__ import annotations

import json
import secrets
import ssl
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness.services import Service, free_port, wait_for
from server.agencies import service as agencies
from server.agencies.schemas import AgencyCreate
from server.auth.schemas import UserCreate
from server.auth.service import create_user
from server.db import Database, init_schema
from server.registry.service import add_gateway, import_doc, parse_doc
from server.roles import AGENCY_ROLES, ROLES

PASSWORD = "correct horse battery"
AGENCY = "instansi-uji"
"""The agency of the test users of an agency's own roles (agency-admin, agency-manager)."""


def smartoffice(
    name: str,
    argv: list[str],
    env: dict[str, str],
    workdir: Path,
    port: int,
    ca_file: str | None = None,
) -> Service:
    """A ``python -m smartoffice ...`` process, ready once ``/healthz`` answers at all."""
    scheme = "https" if ca_file else "http"
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True

    def answers() -> bool:
        httpx.get(f"{scheme}://127.0.0.1:{port}/healthz", timeout=1, verify=verify)
        return True

    return Service(
        name, port, workdir, [sys.executable, "-m", "smartoffice", *argv], env=env, ready=answers
    )


@dataclass
class Platform:
    """A server, one gateway and their registry, all in one temp dir."""

    workdir: Path
    server_env: dict[str, str]
    gateway_id: str
    base_topic: str = "ikn"
    gateway_token: str = ""
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    server: Service | None = None
    _tokens: dict[str, str] = field(default_factory=dict)
    gateway: Service | None = None

    @property
    def database_url(self) -> str:
        """The server's relational database."""
        return self.server_env.get("SMARTOFFICE_DATABASE_URL") or (
            f"sqlite:///{self.workdir / 'server' / 'smartoffice.db'}"
        )

    def register(self, devices: list[dict[str, Any]], building: str | None = None) -> None:
        """Register the gateway, one user per role and ``devices`` in the server's database."""
        (self.workdir / "server").mkdir(parents=True, exist_ok=True)
        db = Database(self.database_url)
        init_schema(db.engine)
        with db.session() as session:
            if not self.gateway_token:
                self.gateway_token = add_gateway(
                    session, gateway_id=self.gateway_id, building=building
                )
                # An agency's own roles act for one: the test agency (AGENCY).
                agencies.create(
                    session, actor="test", new=AgencyCreate(id=AGENCY, name="Instansi Uji")
                )
                for role in ROLES:
                    create_user(
                        session,
                        actor="test",
                        new=UserCreate(
                            username=role.replace("_", "-"),
                            password=PASSWORD,
                            role=role,
                            display_name=role,
                            email=f"{role.replace('_', '-')}@kantor.example.go.id",
                            team="Pusdatin",
                            agency=AGENCY if role in AGENCY_ROLES else None,
                        ),
                    )
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

    def headers(self, role: str = "admin") -> dict[str, str]:
        """An Authorization header for the test user of ``role`` (logged in once)."""
        assert self.server is not None
        if role not in self._tokens:
            resp = httpx.post(
                f"{self.server.url}/api/v1/auth/token",
                data={"username": role.replace("_", "-"), "password": PASSWORD},
                timeout=10,
            )
            resp.raise_for_status()
            self._tokens[role] = resp.json()["access_token"]
        return {"Authorization": f"Bearer {self._tokens[role]}"}

    def api(self, method: str, path: str, role: str = "admin", **kwargs: Any) -> httpx.Response:
        """A request to the server as the test user of ``role``."""
        assert self.server is not None
        headers = {**self.headers(role), **kwargs.pop("headers", {})}
        return httpx.request(
            method, f"{self.server.url}{path}", headers=headers, timeout=60, **kwargs
        )

    def add_people(self, people: list[tuple[str, str, str | None]], password: str) -> None:
        """Accounts of employees (username, name, agency), made by the admin through the API."""
        for username, name, agency in people:
            new = {"username": username, "display_name": name, "password": password}
            made = self.api("POST", "/api/v1/users", json={**new, "agency": agency})
            assert made.is_success, made.text

    def start_server(self, ca_file: str | None = None) -> Service:
        """Start (or restart) the server; with ``ca_file`` it serves HTTPS (its env must
        name the certificate and key).
        """
        if self.server is None:
            port = free_port()
            self.server = smartoffice(
                "server",
                ["server"],
                {
                    "SMARTOFFICE_PORT": str(port),
                    "SMARTOFFICE_DATA_DIR": str(self.workdir / "server"),
                    "SMARTOFFICE_JWT_SECRET": self.jwt_secret,
                    "SMARTOFFICE_PUBLIC_URL": f"http://127.0.0.1:{port}",
                    **self.server_env,
                },
                self.workdir,
                port,
                ca_file,
            )
        self.server.start()
        return self.server

    def start_gateway(self, mqtt_port: int, **extra: str) -> Service:
        """Start (or restart) the gateway and wait until it reaches the broker."""
        assert self.server is not None
        if self.gateway is None:
            port = free_port()
            self.gateway = smartoffice(
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
                    "SMARTOFFICE_EDGE_DOWNLINK_WAIT_S": "1",
                    **extra,
                },
                self.workdir,
                port,
            )
        self.gateway.start()
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
