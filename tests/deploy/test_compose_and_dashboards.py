"""docker-compose.yml, Grafana dashboards and settings agree with each other and the code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from pydantic import ValidationError

from edge.config import EdgeSettings
from edge.metrics import EdgeMetrics
from harness.services import influxd, running
from server.config import ServerSettings
from server.energy.rollup import ROLLUP_FIELDS
from server.metrics import ServerMetrics
from server.readings.store import stream_fields
from tests.conftest import shared_schema

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def test_compose_file_follows_the_compose_spec(compose: dict[str, Any]) -> None:
    validator = jsonschema.Draft7Validator(
        json.loads(shared_schema("compose-spec.json").read_text())
    )
    assert [e.message for e in validator.iter_errors(compose)] == []
    broken = {**compose, "services": {"x": {"image": 5}}}
    assert list(validator.iter_errors(broken))


@pytest.mark.parametrize(
    ("service", "settings", "prefix"),
    [("server", ServerSettings, "SMARTOFFICE_"), ("edge", EdgeSettings, "SMARTOFFICE_EDGE_")],
)
def test_compose_sets_only_real_settings(
    compose: dict[str, Any], service: str, settings: type[Any], prefix: str
) -> None:
    env = compose["services"][service]["environment"]
    names = {k.removeprefix(prefix).lower() for k in env}
    assert names <= settings.model_fields.keys(), names - settings.model_fields.keys()


def test_compose_refuses_to_start_without_secrets(compose: dict[str, Any]) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for secret in (
        "INFLUXDB_TOKEN",
        "POSTGRES_PASSWORD",
        "SMARTOFFICE_JWT_SECRET",
        "GATEWAY_MQTT_PASSWORD",
        "GRAFANA_ADMIN_PASSWORD",
        "GRAFANA_INFLUXDB_PASSWORD",
    ):
        assert re.search(r"\$\{" + secret + r":\?", text), f"{secret} has no :? guard"
    example = (ROOT / ".env.example").read_text()
    assert all(
        line.endswith("=") for line in example.splitlines() if line and not line.startswith("#")
    ), "no secret values in the repo"
    # Every setting compose insists on is in the example, for the operator to fill.
    required = set(re.findall(r"\$\{(\w+):\?", text))
    assert required <= set(re.findall(r"^(\w+)=", example, re.M)), required


def test_the_gateway_token_made_by_a_compose_command_is_not_required_to_run_one(
    compose: dict[str, Any],
) -> None:
    """The review: compose insisted on GATEWAY_TOKEN, which only a compose command makes."""
    text = (ROOT / "docker-compose.yml").read_text()
    assert "${GATEWAY_TOKEN:-}" in text and "${GATEWAY_TOKEN:?" not in text
    example = (ROOT / ".env.example").read_text()
    assert "docker compose run --rm server registry gateway-token gw-building" in example
    # Until it is set, the gateway refuses to start and says how to make it.
    with pytest.raises(ValidationError) as err:
        EdgeSettings(gateway_id="gw-building", gateway_token="")
    assert "registry gateway-token" in str(err.value)


def test_grafana_listens_on_this_host_only(compose: dict[str, Any]) -> None:
    """Grafana serves plain HTTP: published on the loopback only (an SSH tunnel or a proxy)."""
    ports = compose["services"]["grafana"]["ports"]
    assert ports and all(str(p).startswith("127.0.0.1:") for p in ports), ports


def _dashboards() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((ROOT / "dashboards/json").glob("*.json"))]


def _metric_names() -> set[str]:
    names = set()
    for metrics in (EdgeMetrics(), ServerMetrics()):
        for family in metrics.registry.collect():
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
            names.update(family.name + s for s in suffixes.get(family.type, [""]))
    return names


def test_dashboards_use_provisioned_datasources_and_real_series() -> None:
    provisioned = yaml.safe_load(
        (ROOT / "dashboards/provisioning/datasources/smartoffice.yaml").read_text()
    )
    uids = {d["uid"] for d in provisioned["datasources"]}
    metrics = _metric_names()
    dashboards = _dashboards()
    assert dashboards
    for dash in dashboards:
        for panel in dash["panels"]:
            assert panel["datasource"]["uid"] in uids
            for target in panel["targets"]:
                if "expr" in target:
                    used = set(re.findall(r"smartoffice_[a-z_]+", target["expr"]))
                    assert used <= metrics, (panel["title"], used - metrics)
                else:
                    m = re.search(r'FROM (?:"rollup"\.)?"(\w+)"', target["query"])
                    assert m, target["query"]
                    fields = set(re.findall(r'\w+\("(\w+)"\)', target["query"]))
                    name = m.group(1)
                    known = (
                        ROLLUP_FIELDS[name.removesuffix("_1h")]
                        if name.endswith("_1h")
                        else stream_fields(name)
                    )
                    assert fields <= known, (panel["title"], fields)


def test_grafana_reads_influxdb_with_a_login_that_may_only_read(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    """Grafana never holds the admin token, and every InfluxQL panel runs as a reader.

    The 2.x set-up script grants its login read on the two buckets only; the same rights on
    InfluxDB 1.x (a READ grant on the database) answer every dashboard query and refuse a
    write, on a real server with authentication on.
    """
    grafana = compose["services"]["grafana"]["environment"]
    assert "INFLUXDB_TOKEN" not in grafana and "INFLUXDB_TOKEN" not in json.dumps(grafana)
    source = next(
        d
        for d in yaml.safe_load(
            (ROOT / "dashboards/provisioning/datasources/smartoffice.yaml").read_text()
        )["datasources"]
        if d["type"] == "influxdb"
    )
    assert source["user"] == "grafana"
    assert source["secureJsonData"] == {"password": "$GRAFANA_INFLUXDB_PASSWORD"}
    script = (ROOT / "deploy/influxdb/20-grafana-reader.sh").read_text()
    assert "--read-bucket" in script and "--write-bucket" not in script
    mounted = compose["services"]["influxdb"]["volumes"]
    assert sorted(v.split(":")[1] for v in mounted if "initdb" in v) == [
        "/docker-entrypoint-initdb.d/10-rollup-bucket.sh",
        "/docker-entrypoint-initdb.d/20-grafana-reader.sh",
    ]  # the rollup bucket exists before the reader is granted it

    queries = [
        t["query"] for d in _dashboards() for p in d["panels"] for t in p["targets"] if "query" in t
    ]
    with running(influxd(tmp_path / "influx", auth=True)) as influx:
        url = f"http://127.0.0.1:{influx.port}"

        def q(statement: str, auth: tuple[str, str] = ("admin", "admin-pass")) -> httpx.Response:
            return httpx.post(f"{url}/query", data={"q": statement, "db": "smartoffice"}, auth=auth)

        assert q(
            "CREATE USER admin WITH PASSWORD 'admin-pass' WITH ALL PRIVILEGES", ("", "")
        ).is_success
        for statement in (
            "CREATE DATABASE smartoffice",
            "CREATE RETENTION POLICY rollup ON smartoffice DURATION INF REPLICATION 1",
            "CREATE USER grafana WITH PASSWORD 'reader-pass'",
            "GRANT READ ON smartoffice TO grafana",
        ):
            assert "error" not in json.dumps(q(statement).json()), statement
        # One point for each panel's measurement, fields and grouping tag.
        for query in queries:
            m = re.search(r'FROM (?:"(rollup)"\.)?"(\w+)"', query)
            assert m is not None
            fields = ",".join(f"{f}=1" for f in re.findall(r'\w+\("(\w+)"\)', query))
            tag = re.findall(r'"(\w+)" fill', query)[0]
            wrote = httpx.post(
                f"{url}/write",
                params={"db": "smartoffice", "rp": m.group(1) or "autogen"},
                content=f"{m.group(2)},{tag}=x {fields}",
                auth=("admin", "admin-pass"),
            )
            assert wrote.status_code == 204, wrote.text
        reader = ("grafana", "reader-pass")
        for query in queries:
            statement = query.replace("$timeFilter", "time > now() - 1h").replace(
                "$__interval", "1m"
            )
            answer = q(statement, reader).json()["results"][0]
            assert "error" not in answer and answer["series"], (statement, answer)
        refused = httpx.post(
            f"{url}/write",
            params={"db": "smartoffice"},
            content="env,space=x co2_ppm=1",
            auth=reader,
        )
        assert refused.status_code == 403


def test_compose_serves_the_api_over_https_only(compose: dict[str, Any]) -> None:
    """The server speaks HTTPS with mounted certificates; the gateway, the server's own
    health check and Prometheus check it against the CA (the path itself, HTTPS with a CA
    made at test time, is exercised in tests/edge/test_app_resilience.py)."""
    services = compose["services"]

    def mounts(service: str) -> dict[str, str]:
        return {v.split(":")[1]: v.split(":")[0] for v in services[service]["volumes"]}

    server = services["server"]
    env = server["environment"]
    assert server["ports"] == ["443:8000"]
    certs = mounts("server")["/etc/smartoffice/certs"]
    assert certs == "./deploy/server/certs" and (ROOT / certs / "README.md").exists()
    assert env["SMARTOFFICE_TLS_CERTFILE"].startswith("/etc/smartoffice/certs/")
    assert env["SMARTOFFICE_TLS_KEYFILE"].startswith("/etc/smartoffice/certs/")
    assert env["SMARTOFFICE_PUBLIC_URL"].startswith("${SMARTOFFICE_PUBLIC_URL:-https://")
    assert "https://server:8000/readyz" in " ".join(server["healthcheck"]["test"])
    edge = services["edge"]["environment"]
    assert edge["SMARTOFFICE_EDGE_SERVER_URL"] == "https://server:8000"
    assert mounts("edge")[edge["SMARTOFFICE_EDGE_SERVER_CA_FILE"]] == f"{certs}/ca.crt"
    scrape = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    job = next(j for j in scrape["scrape_configs"] if j["job_name"] == "smartoffice-server")
    assert job["scheme"] == "https"
    assert mounts("prometheus")[job["tls_config"]["ca_file"]] == f"{certs}/ca.crt"
    assert all("8000:" not in p for s in services.values() for p in s.get("ports", []))
