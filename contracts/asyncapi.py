"""Generate the AsyncAPI 3.0 document of the MQTT API from the payload models.

``python -m contracts.asyncapi > contracts/asyncapi.yaml`` writes it; a test checks the
committed file equals what this module generates, so the document cannot drift from code.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

from contracts.payloads import (
    MAX_PAYLOAD_BYTES,
    UPLINK_MODELS,
    Command,
    DeskState,
    DeviceStatus,
    GatewayStatus,
    Message,
    ZoneCommand,
)
from contracts.topics import DEVICE_ID_PATTERN, ZONE_PATTERN

TS = 1_780_000_000_000
EXAMPLES: dict[str, dict[str, Any]] = {
    "presence": {
        "v": 1,
        "boot": 12,
        "seq": 40,
        "ts": TS,
        "occupied": True,
        "source": "both",
        "distance_cm": 85.0,
    },
    "env": {
        "v": 1,
        "boot": 3,
        "seq": 1207,
        "ts": TS,
        "co2_ppm": 812.0,
        "temp_c": 25.4,
        "rh_pct": 61.0,
        "lux": 420.0,
    },
    "energy": {
        "v": 1,
        "boot": 1,
        "seq": 88,
        "ts": TS,
        "power_w": 2310.5,
        "energy_wh": 1834002.0,
        "voltage_v": 229.8,
        "current_a": 10.05,
        "pf": 0.97,
        "circuit": "hvac",
    },
    "people": {"v": 1, "boot": 3, "seq": 1208, "ts": TS, "count": 6},
    "heartbeat": {
        "v": 1,
        "boot": 12,
        "seq": 41,
        "uptime_s": 86400,
        "rssi_dbm": -61,
        "heap_free": 61234,
        "fw": "1.0.0",
        "buffered": 0,
        "dropped": 0,
    },
    "ack": {"v": 1, "boot": 12, "seq": 42, "ts": TS, "cmd_id": "c-0192", "ok": True},
    "status": {"v": 1, "state": "online", "boot": 12, "fw": "1.0.0", "kind": "desk"},
    "gatewayStatus": {"v": 1, "state": "online", "version": "0.1.0"},
    "command": {"v": 1, "cmd_id": "c-0192", "cmd": "identify", "args": {"seconds": 10}},
    "deskState": {"v": 1, "state": "booked", "since": TS},
    "zoneHvac": {
        "v": 1,
        "building": "kemenpan-a",
        "floor": "f3",
        "zone": "f3-north",
        "channel": "hvac",
        "mode": "setback",
        "reason_code": "vacant",
        "reason": "Jam kerja, tidak ada orang dan tidak ada pemesanan sampai 13:00 / "
        "Open hours, nobody here and no booking until 13:00",
        "since": TS,
        "valid_until": TS + 900_000,
        "setpoint_c": 27.0,
        "next_mode": "normal",
        "next_at": TS + 7_200_000,
    },
    "zoneLighting": {
        "v": 1,
        "building": "kemenpan-a",
        "floor": "f3",
        "zone": "f3-north",
        "channel": "lighting",
        "mode": "off",
        "reason_code": "closed",
        "reason": "Di luar jam kerja (07:00-19:00) / Outside opening hours (07:00-19:00)",
        "since": TS,
        "valid_until": TS + 900_000,
        "level_pct": 0,
    },
}
_DESCRIPTIONS = {
    "presence": "Desk occupancy, sent on change and as a periodic keep-alive.",
    "env": "Room climate: CO2, temperature, humidity, optional light.",
    "energy": "A power meter's power now and cumulative energy counter.",
    "people": "People counted in a room.",
    "heartbeat": "Node health, periodic.",
    "ack": "Answer to a command received on down/cmd.",
}


def _schema(model: type[Message]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return schema


def _message(name: str, model: type[Message], summary: str) -> dict[str, Any]:
    return {
        "name": name,
        "title": model.__name__,
        "summary": summary,
        "contentType": "application/json",
        "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
        "examples": [{"name": f"{name}-example", "payload": EXAMPLES[name]}],
    }


def _channel(
    address: str, message: str, description: str, who: str = "device_id"
) -> dict[str, Any]:
    return {
        "address": address,
        "description": description,
        "parameters": {
            "base": {"$ref": "#/components/parameters/base"},
            who: {"$ref": f"#/components/parameters/{who}"},
        },
        "messages": {message: {"$ref": f"#/components/messages/{message}"}},
    }


def _operation(
    action: str, channel: str, message: str, qos: int, retain: bool, summary: str
) -> dict[str, Any]:
    return {
        "action": action,
        "summary": summary,
        "channel": {"$ref": f"#/channels/{channel}"},
        "messages": [{"$ref": f"#/channels/{channel}/messages/{message}"}],
        "bindings": {"mqtt": {"qos": qos, "retain": retain, "bindingVersion": "0.2.0"}},
    }


def document() -> dict[str, Any]:
    """The AsyncAPI document as a dict."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for stream, uplink in UPLINK_MODELS.items():
        channels[stream] = _channel(
            f"{{base}}/v1/dev/{{device_id}}/up/{stream}", stream, _DESCRIPTIONS[stream]
        )
        messages[stream] = _message(stream, uplink, _DESCRIPTIONS[stream])
        schemas[uplink.__name__] = _schema(uplink)
        operations[f"send{stream.capitalize()}"] = _operation(
            "send", stream, stream, 1, False, f"The device publishes {stream} readings."
        )
    extra: list[tuple[str, str, type[Message], str, str, int, bool, str]] = [
        (
            "status",
            "{base}/v1/dev/{device_id}/status",
            DeviceStatus,
            "send",
            "Retained availability; the Last Will carries state offline.",
            1,
            True,
            "device_id",
        ),
        (
            "command",
            "{base}/v1/dev/{device_id}/down/cmd",
            Command,
            "receive",
            "Commands to the device, answered on up/ack.",
            1,
            False,
            "device_id",
        ),
        (
            "deskState",
            "{base}/v1/dev/{device_id}/down/state",
            DeskState,
            "receive",
            "Retained desired state of the desk LED.",
            1,
            True,
            "device_id",
        ),
        (
            "gatewayStatus",
            "{base}/v1/gw/{gateway_id}/status",
            GatewayStatus,
            "send",
            "The gateway's retained availability (published by the gateway, not devices).",
            1,
            True,
            "gateway_id",
        ),
        (
            "zoneHvac",
            "{base}/v1/zone/{zone}/down/hvac",
            ZoneCommand,
            "receive",
            "Retained HVAC mode of a zone (normal, setback, off) with its reason, for the "
            "building-management system; published by the gateway, read with a BMS login.",
            1,
            True,
            "zone",
        ),
        (
            "zoneLighting",
            "{base}/v1/zone/{zone}/down/lighting",
            ZoneCommand,
            "receive",
            "Retained lighting mode of a zone (normal, setback, off) with its reason, for "
            "the building-management system.",
            1,
            True,
            "zone",
        ),
    ]
    for name, address, model, action, summary, qos, retain, who in extra:
        channels[name] = _channel(address, name, summary, who)
        messages[name] = _message(name, model, summary)
        schemas[model.__name__] = _schema(model)
        operations[f"{action}{name[0].upper()}{name[1:]}"] = _operation(
            action, name, name, qos, retain, summary
        )
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "IKN Smart Office MQTT API",
            "version": "1.0.0",
            "description": (
                "What sensor nodes publish to, and receive from, the building's MQTT broker. "
                "Operations are described from the device's side. Every uplink payload is a "
                f"JSON object of at most {MAX_PAYLOAD_BYTES} bytes carrying v (schema "
                "version), boot (boot counter), seq (per-boot counter from 0) and, once the "
                "device has NTP time, ts (epoch ms). Generated from contracts/payloads.py."
            ),
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "building": {
                "host": "mqtt.gedung.ikn.go.id:8883",
                "protocol": "mqtts",
                "protocolVersion": "3.1.1",
                "description": "The building's broker; each device logs in as its own id.",
                "security": [{"$ref": "#/components/securitySchemes/deviceCredentials"}],
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "parameters": {
                "base": {
                    "description": "Base topic, configurable; default ikn.",
                    "default": "ikn",
                    "examples": ["ikn"],
                },
                "device_id": {
                    "description": "Device id, also the MQTT client id and "
                    f"username; matches {DEVICE_ID_PATTERN}.",
                    "examples": ["desk-f3-001"],
                },
                "gateway_id": {
                    "description": f"Gateway id; matches {DEVICE_ID_PATTERN}.",
                    "examples": ["gw-kemenpan-a"],
                },
                "zone": {
                    "description": "Zone id from the building's layout (unique within the "
                    f"building, which has its own broker); matches {ZONE_PATTERN}.",
                    "examples": ["f3-north"],
                },
            },
            "securitySchemes": {
                "deviceCredentials": {
                    "type": "userPassword",
                    "description": "Per-device username (the device id) and password; the "
                    "broker's ACL lets a device publish only its own topics.",
                },
            },
        },
    }


def render() -> str:
    """The document as YAML text."""
    header = "# Generated by `python -m contracts.asyncapi`; do not edit by hand.\n"
    return header + yaml.safe_dump(document(), sort_keys=False, allow_unicode=True, width=100)


if __name__ == "__main__":
    sys.stdout.write(render())
