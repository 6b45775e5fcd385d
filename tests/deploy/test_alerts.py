"""The Prometheus alerts shipped with the compose stack: they fire when they should, on
metrics the code exports, and each is documented with what to do."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from edge.metrics import EdgeMetrics
from server.metrics import ServerMetrics

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"


def _alerts() -> list[dict[str, str]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _exported() -> set[str]:
    names = set()
    for metrics in (ServerMetrics(), EdgeMetrics()):
        for family in metrics.registry.collect():
            names |= {family.name, f"{family.name}_total"}
    return names


def test_the_rules_fire_on_their_unit_tests_series() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (make services installs Debian's prometheus)")
    checked = subprocess.run(
        [promtool, "test", "rules", "alerts-test.yml"],
        cwd=RULES.parent,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = set(re.findall(r"alertname: (\w+)", (RULES.parent / "alerts-test.yml").read_text()))
    assert tested == {a["alert"] for a in _alerts()}


def test_every_metric_a_rule_reads_is_exported_by_the_server_or_the_gateway() -> None:
    exported = _exported()
    for alert in _alerts():
        named = set(re.findall(r"smartoffice_\w+", alert["expr"]))
        assert named or alert["expr"].startswith("up{"), alert["alert"]  # Prometheus's own
        assert named <= exported, (alert["alert"], named - exported)


def test_every_alert_says_in_the_docs_what_to_do() -> None:
    ops = (ROOT / "docs" / "operations.md").read_text()
    section = ops.split("### Alerts", 1)[1].split("\n### ", 1)[0]
    for alert in _alerts():
        assert f"`{alert['alert']}`" in section, alert["alert"]


def test_prometheus_in_compose_loads_the_rules() -> None:
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = dict(
        v.rsplit(":", 1)[0].split(":", 1)[::-1]
        for v in compose["services"]["prometheus"]["volumes"]
        if v.startswith("./")
    )
    assert scrape["rule_files"] == ["/etc/prometheus/alerts.yml"]
    assert mounts["/etc/prometheus/alerts.yml"] == "./deploy/prometheus/alerts.yml"
