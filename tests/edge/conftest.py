from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from edge.app import Gateway
from edge.config import EdgeSettings
from harness.platform import Platform
from harness.services import Service, free_port, wait_for
from tests.e2e.conftest import desk


@pytest.fixture
def sqlite_platform(tmp_path: Path, unique_name: str) -> Iterator[Platform]:
    """A server on the embedded defaults (SQLite for everything)."""
    p = Platform(tmp_path, {}, gateway_id=f"gw-{unique_name}")
    yield p
    p.stop()


@pytest.fixture
def gateway_factory(
    sqlite_platform: Platform, mosquitto: Service, tmp_path: Path, unique_name: str
) -> Iterator[object]:
    """Builds an in-process gateway against the private broker and a real server process."""
    made: list[Gateway] = []

    def make(devices: list[str], **overrides: object) -> Gateway:
        sqlite_platform.register([desk(d, f"d-{i:03d}") for i, d in enumerate(devices)])
        server = sqlite_platform.server or sqlite_platform.start_server()
        settings = EdgeSettings(
            gateway_id=sqlite_platform.gateway_id,
            gateway_token=SecretStr(sqlite_platform.gateway_token),
            server_url=server.url,
            mqtt_port=mosquitto.port,
            base_topic=unique_name,
            data_dir=tmp_path / "edge",
            http_port=free_port(),
            backoff_initial_s=0.1,
            backoff_max_s=0.5,
            # Stopping waits for the downlink long-poll to come back: keep it short here.
            downlink_wait_s=1.0,
            **overrides,  # type: ignore[arg-type]
        )
        gw = Gateway(settings)
        gw.start()
        made.append(gw)
        wait_for(lambda: gw.mqtt.connected, "gateway did not connect")
        return gw

    yield make
    for gw in made:
        gw.stop()
