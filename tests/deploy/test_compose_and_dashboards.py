"""docker-compose.yml, Grafana dashboards and settings agree with each other and the code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from edge.config import EdgeSettings
from edge.metrics import EdgeMetrics
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
        "GATEWAY_TOKEN",
        "GATEWAY_MQTT_PASSWORD",
        "GRAFANA_ADMIN_PASSWORD",
    ):
        assert re.search(r"\$\{" + secret + r":\?", text), f"{secret} has no :? guard"
    example = (ROOT / ".env.example").read_text()
    assert all(
        line.endswith("=") for line in example.splitlines() if line and not line.startswith("#")
    ), "no secret values in the repo"


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
