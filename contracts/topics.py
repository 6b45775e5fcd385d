"""Build and parse MQTT topics: the only place that knows the topic scheme.

``{base}/v1/dev/{device_id}/up/{stream}``   device readings (QoS 1)
``{base}/v1/dev/{device_id}/status``        retained availability, also the Last Will
``{base}/v1/dev/{device_id}/down/cmd``      commands to the device (QoS 1)
``{base}/v1/dev/{device_id}/down/state``    retained desired state (e.g. the desk LED)
``{base}/v1/gw/{gateway_id}/status``        the gateway's own retained availability
``{base}/v1/zone/{zone}/down/hvac``         retained HVAC mode of a zone, for the BMS
``{base}/v1/zone/{zone}/down/lighting``     retained lighting mode of a zone, for the BMS
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from contracts.exceptions import TopicError

VERSION: Final = "v1"
DEFAULT_BASE: Final = "ikn"
STREAMS: Final = ("presence", "env", "energy", "people", "heartbeat", "ack")
DEVICE_ID_PATTERN: Final = r"^[a-z0-9][a-z0-9-]{2,31}$"
_DEVICE_ID = re.compile(DEVICE_ID_PATTERN)
# Zone ids are the layout's codes (unique within a building; one broker per building).
ZONE_PATTERN: Final = r"^[A-Za-z0-9_.:-]{1,32}$"
_ZONE = re.compile(ZONE_PATTERN)
ZONE_CHANNELS: Final = ("hvac", "lighting")
_BASE = re.compile(r"^[A-Za-z0-9_-]{1,32}(/[A-Za-z0-9_-]{1,32}){0,3}$")

TopicKind = Literal["up", "status", "down", "gw_status", "zone_down"]


def valid_device_id(device_id: str) -> bool:
    """Whether ``device_id`` is a valid device (and gateway) id."""
    return _DEVICE_ID.fullmatch(device_id) is not None


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    """What a topic names: its kind, the device or gateway, and the stream or channel."""

    kind: TopicKind
    device_id: str | None = None
    gateway_id: str | None = None
    zone: str | None = None
    stream: str | None = None
    channel: str | None = None


class Topics:
    """Topic builder and parser for one base topic (default ``ikn``)."""

    def __init__(self, base: str = DEFAULT_BASE) -> None:
        if not _BASE.fullmatch(base):
            raise TopicError(f"invalid base topic {base!r}: use letters, digits, '-', '_' and '/'")
        self.base = base
        self._root = f"{base}/{VERSION}"
        self._depth = base.count("/") + 2

    def uplink(self, device_id: str, stream: str) -> str:
        """Topic a device publishes readings of ``stream`` on."""
        self._check_device(device_id)
        if stream not in STREAMS:
            raise TopicError(f"unknown stream {stream!r}; expected one of {', '.join(STREAMS)}")
        return f"{self._root}/dev/{device_id}/up/{stream}"

    def status(self, device_id: str) -> str:
        """Retained availability topic of a device (also its Last Will)."""
        self._check_device(device_id)
        return f"{self._root}/dev/{device_id}/status"

    def down_cmd(self, device_id: str) -> str:
        """Commands to a device."""
        self._check_device(device_id)
        return f"{self._root}/dev/{device_id}/down/cmd"

    def down_state(self, device_id: str) -> str:
        """Retained desired state of a device."""
        self._check_device(device_id)
        return f"{self._root}/dev/{device_id}/down/state"

    def zone_down(self, zone: str, channel: str) -> str:
        """A zone's retained ``hvac`` or ``lighting`` command, for the BMS integration."""
        if not _ZONE.fullmatch(zone):
            raise TopicError(f"invalid zone id {zone!r}: 1-32 of A-Z, a-z, 0-9, '_.:-'")
        if channel not in ZONE_CHANNELS:
            raise TopicError(f"unknown zone channel {channel!r}; expected hvac or lighting")
        return f"{self._root}/zone/{zone}/down/{channel}"

    @property
    def zone_down_filter(self) -> str:
        """Every zone's commands (what the gateway writes and a BMS login reads)."""
        return f"{self._root}/zone/+/down/#"

    def gateway_status(self, gateway_id: str) -> str:
        """Retained availability topic of a gateway."""
        self._check_device(gateway_id)
        return f"{self._root}/gw/{gateway_id}/status"

    def device_up_filter(self, device_id: str) -> str:
        """Every uplink stream of one device (what its ACL lets it publish)."""
        self._check_device(device_id)
        return f"{self._root}/dev/{device_id}/up/#"

    def device_down_filter(self, device_id: str) -> str:
        """Every downlink channel of one device (what its ACL lets it read)."""
        self._check_device(device_id)
        return f"{self._root}/dev/{device_id}/down/#"

    @property
    def down_filter(self) -> str:
        """Every device's downlink channels (what a gateway may publish)."""
        return f"{self._root}/dev/+/down/#"

    @property
    def all_uplink_filter(self) -> str:
        """Every device's uplink streams, for ACLs (``#`` rather than one level)."""
        return f"{self._root}/dev/+/up/#"

    def down(self, device_id: str, channel: str) -> str:
        """A device's ``down/cmd`` or ``down/state`` topic."""
        if channel not in ("cmd", "state"):
            raise TopicError(f"unknown downlink channel {channel!r}; expected cmd or state")
        return self.down_cmd(device_id) if channel == "cmd" else self.down_state(device_id)

    @property
    def uplink_filter(self) -> str:
        """Subscription filter matching every device's uplink streams."""
        return f"{self._root}/dev/+/up/+"

    @property
    def status_filter(self) -> str:
        """Subscription filter matching every device's status topic."""
        return f"{self._root}/dev/+/status"

    def parse(self, topic: str) -> ParsedTopic:
        """Parse a topic of this base into what it names, or raise :class:`TopicError`."""
        parts = topic.split("/")
        head = parts[: self._depth]
        if "/".join(head) != self._root:
            raise TopicError(f"topic {topic!r} is not under {self._root}/")
        rest = parts[self._depth :]
        if len(rest) >= 3 and rest[0] == "dev":
            device_id = rest[1]
            self._check_device(device_id)
            if len(rest) == 3 and rest[2] == "status":
                return ParsedTopic("status", device_id=device_id)
            if len(rest) == 4 and rest[2] == "up":
                if rest[3] not in STREAMS:
                    raise TopicError(
                        f"unknown stream {rest[3]!r}; expected one of {', '.join(STREAMS)}"
                    )
                return ParsedTopic("up", device_id=device_id, stream=rest[3])
            if len(rest) == 4 and rest[2] == "down" and rest[3] in ("cmd", "state"):
                return ParsedTopic("down", device_id=device_id, channel=rest[3])
        elif len(rest) == 4 and rest[0] == "zone" and rest[2] == "down":
            if _ZONE.fullmatch(rest[1]) and rest[3] in ZONE_CHANNELS:
                return ParsedTopic("zone_down", zone=rest[1], channel=rest[3])
        elif len(rest) == 3 and rest[0] == "gw" and rest[2] == "status":
            self._check_device(rest[1])
            return ParsedTopic("gw_status", gateway_id=rest[1])
        raise TopicError(f"topic {topic!r} does not match the {self._root}/ topic scheme")

    @staticmethod
    def _check_device(device_id: str) -> None:
        if not valid_device_id(device_id):
            raise TopicError(
                f"invalid id {device_id!r}: 3-32 characters of a-z, 0-9 and '-', "
                "starting with a letter or digit"
            )
