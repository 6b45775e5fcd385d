"""contracts/asyncapi.yaml is valid AsyncAPI 3.0 and says what the code does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from contracts import asyncapi
from contracts.payloads import UPLINK_MODELS, parse_status, parse_uplink
from contracts.topics import Topics
from tests.conftest import shared_schema

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads(shared_schema("asyncapi-3.0.0.json").read_text()))


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "contracts" / "asyncapi.yaml").read_text()))


def test_document_is_valid_asyncapi_3(
    validator: jsonschema.Draft7Validator, doc: dict[str, Any]
) -> None:
    errors = [f"{list(e.path)}: {e.message[:200]}" for e in validator.iter_errors(doc)]
    assert errors == []


def test_validator_catches_a_broken_document(
    validator: jsonschema.Draft7Validator, doc: dict[str, Any]
) -> None:
    broken = json.loads(json.dumps(doc))
    broken["operations"]["sendPresence"]["action"] = "publish"  # AsyncAPI 2 wording
    assert list(validator.iter_errors(broken))


def test_committed_document_is_generated_from_the_models() -> None:
    committed = (ROOT / "contracts" / "asyncapi.yaml").read_text()
    assert committed == asyncapi.render(), (
        "run: python -m contracts.asyncapi > contracts/asyncapi.yaml"
    )


def test_schemas_are_the_models_schemas(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    for stream, model in UPLINK_MODELS.items():
        assert schemas[model.__name__]["properties"].keys() == model.model_fields.keys()
        msg = doc["components"]["messages"][stream]
        assert msg["payload"]["$ref"] == f"#/components/schemas/{model.__name__}"


def test_examples_pass_the_validators(doc: dict[str, Any]) -> None:
    for stream in UPLINK_MODELS:
        [example] = doc["components"]["messages"][stream]["examples"]
        parse_uplink(stream, json.dumps(example["payload"]).encode())
    parse_status(
        json.dumps(doc["components"]["messages"]["status"]["examples"][0]["payload"]).encode()
    )


def test_channel_addresses_match_topics(doc: dict[str, Any]) -> None:
    topics = Topics("ikn")
    for stream in UPLINK_MODELS:
        address = doc["channels"][stream]["address"]
        concrete = address.format(base="ikn", device_id="desk-f3-001")
        assert concrete == topics.uplink("desk-f3-001", stream)
        assert topics.parse(concrete).stream == stream
    assert doc["channels"]["status"]["address"].format(
        base="ikn", device_id="desk-f3-001"
    ) == topics.status("desk-f3-001")
    assert doc["channels"]["gatewayStatus"]["address"].format(
        base="ikn", gateway_id="gw-a"
    ) == topics.gateway_status("gw-a")
