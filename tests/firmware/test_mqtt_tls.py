"""The node over TLS under MicroPython: Mosquitto's TLS listener with a CA made here, the
CA pinned in the node's config as the installer writes it."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import trustme

from contracts.payloads import parse_status
from tests.firmware.test_app import DESK_SCENARIO, desk_config, run_node
from harness.observer import Observer
from harness.services import Service, wait_for


def node_home(tmp_path: Path, ca: trustme.CA, cfg: dict[str, object]) -> Path:
    home = tmp_path / "node"
    home.mkdir()
    # What `smartoffice device flash --mqtt-ca ca.crt` writes: the CA in DER, pinned.
    (home / "ca.der").write_bytes(ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode()))
    (home / "config.json").write_text(json.dumps({**cfg, "mqtt_tls": True, "mqtt_ca": "ca.der"}))
    return home


def test_a_node_connects_over_tls_trusting_only_its_pinned_ca(
    tls_broker: tuple[Service, int, trustme.CA], tmp_path: Path, unique_name: str
) -> None:
    svc, tls, ca = tls_broker
    cfg = desk_config(unique_name, tls)
    prefix = f"{unique_name}/v1/dev/{cfg['device_id']}"
    obs = Observer(svc.port, prefix)
    home = node_home(tmp_path, ca, cfg)
    proc = run_node(home, DESK_SCENARIO, {**cfg, "mqtt_tls": True, "mqtt_ca": "ca.der"}, "3")
    try:
        wait_for(lambda: obs.uplinks("presence"), "no reading over TLS")
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    finally:
        proc.kill()
        obs.close()
    states = [parse_status(p).state for t, p in obs.messages if t.endswith("/status")]
    assert states[0] == "online"


def test_a_node_refuses_a_broker_its_ca_did_not_sign(
    tls_broker: tuple[Service, int, trustme.CA], tmp_path: Path, unique_name: str
) -> None:
    svc, tls, _ = tls_broker
    cfg = desk_config(unique_name, tls)
    prefix = f"{unique_name}/v1/dev/{cfg['device_id']}"
    obs = Observer(svc.port, prefix)
    home = node_home(tmp_path, trustme.CA(), cfg)  # another CA: an impostor broker
    proc = run_node(home, DESK_SCENARIO, {**cfg, "mqtt_tls": True, "mqtt_ca": "ca.der"}, "2")
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        obs.close()
    assert proc.returncode == 0, err
    assert not obs.messages, "the node talked to a broker it should not trust"
    assert "connection failed" in out  # and it keeps trying, with backoff
