"""The gateway without its server: cached registry, HTTPS trust, refused readings kept."""

from __future__ import annotations

import json
import signal
import ssl
from collections.abc import Callable
from pathlib import Path

import httpx
import trustme
from pydantic import SecretStr

from edge.app import Gateway
from edge.config import EdgeSettings
from harness.platform import Platform
from harness.services import Service, free_port, wait_for
from tests.e2e.conftest import desk, mosquitto_pub

GOOD = {"v": 1, "boot": 1, "seq": 0, "occupied": True, "source": "pir"}


def test_gateway_starts_from_cached_registry_while_server_is_away(
    gateway_factory: Callable[..., Gateway],
    sqlite_platform: Platform,
    mosquitto: Service,
    unique_name: str,
) -> None:
    device = f"desk-{unique_name}"
    first = gateway_factory([device])
    version = first.registry.version
    assert version is not None
    first.stop()
    sqlite_platform.server.stop(signal.SIGKILL)  # type: ignore[union-attr]

    second = gateway_factory([device])
    assert second.registry.version == version  # from disk
    mosquitto_pub(mosquitto.port, f"{unique_name}/v1/dev/{device}/up/presence", json.dumps(GOOD))
    wait_for(lambda: second.outbox.depth == 1, "reading not kept in the outbox")
    assert second.outbox.quarantined() == []
    # The sender tries on its own schedule: the reading may be kept before it has tried.
    wait_for(lambda: second.uplink.last_error is not None, "the sender never tried the server")
    assert second.uplink.last_error and "unreachable" in second.uplink.last_error
    sqlite_platform.start_server()
    wait_for(lambda: second.outbox.depth == 0, "outbox not drained when the server came back")


def test_readings_the_server_refuses_are_quarantined_not_lost(
    gateway_factory: Callable[..., Gateway],
    mosquitto: Service,
    unique_name: str,
) -> None:
    device = f"desk-{unique_name}"
    gw = gateway_factory([device])
    # A reading an older gateway might have queued under a looser contract.
    bad = {
        "device": device,
        "stream": "presence",
        "boot": 1,
        "seq": 99,
        "ts": 1780000000000,
        "ts_source": "device",
        "received": 1780000000000,
        "space": None,
        "data": {"occupied": True, "source": "sonar"},
    }
    with gw.outbox.transaction() as tx:
        tx.enqueue([json.dumps(bad).encode()])
    gw.uplink.notify()
    mosquitto_pub(mosquitto.port, f"{unique_name}/v1/dev/{device}/up/presence", json.dumps(GOOD))
    wait_for(lambda: gw.outbox.quarantined(), "refused reading not quarantined")
    wait_for(lambda: gw.metrics.sent._value.get() == 1, "the valid reading was not sent")
    assert gw.outbox.depth == 0
    [q] = gw.outbox.quarantined()
    assert q.reason.startswith("refused by server (invalid): presence.data.source")
    assert json.loads(q.payload) == bad


def test_uplink_over_https_trusts_only_the_configured_ca(
    tmp_path: Path, mosquitto: Service, unique_name: str
) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    platform = Platform(
        tmp_path,
        {
            "SMARTOFFICE_TLS_CERTFILE": str(tmp_path / "server.pem"),
            "SMARTOFFICE_TLS_KEYFILE": str(tmp_path / "server.pem"),
        },
        gateway_id=f"gw-{unique_name}",
    )
    device = f"desk-{unique_name}"
    platform.register([desk(device, "d-1")])
    try:
        server = platform.start_server(ca_file=str(tmp_path / "ca.pem"))
        for ca_file, ok in ((None, False), (tmp_path / "ca.pem", True)):
            gw = Gateway(
                EdgeSettings(
                    gateway_id=platform.gateway_id,
                    gateway_token=SecretStr(platform.gateway_token),
                    server_url=f"https://127.0.0.1:{server.port}",
                    server_ca_file=ca_file,
                    mqtt_port=mosquitto.port,
                    data_dir=tmp_path / f"edge-{ok}",
                    http_port=free_port(),
                )
            )
            gw.start()
            try:
                assert (gw.registry.version is not None) is ok
                if not ok:
                    assert gw.registry.refresh() is False
            finally:
                gw.stop()
        health = httpx.get(
            f"https://127.0.0.1:{server.port}/healthz",
            verify=ssl.create_default_context(cafile=str(tmp_path / "ca.pem")),
        )
        assert health.status_code == 200
    finally:
        platform.stop()
