"""Gateway settings from the environment (``SMARTOFFICE_EDGE_`` prefix)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.credentials import SERVICE_LOGIN_PATTERN


class EdgeSettings(BaseSettings):
    """Everything one gateway needs; built once at start-up."""

    # Errors never repeat what was given: the settings hold secrets. No .env is read from
    # whatever directory the gateway starts in: `smartoffice edge --env-file PATH` names one.
    model_config = SettingsConfigDict(
        env_prefix="SMARTOFFICE_EDGE_", env_file=None, extra="ignore", hide_input_in_errors=True
    )

    gateway_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,31}$")
    gateway_token: SecretStr
    server_url: str = "http://127.0.0.1:8000"
    server_ca_file: Path | None = None
    """CA bundle that signs the server's HTTPS certificate (default: system CAs)."""

    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_tls: bool = False
    mqtt_ca_file: Path | None = None
    mqtt_keepalive_s: int = 30
    base_topic: str = "ikn"

    data_dir: Path = Path("var/edge")
    outbox_max_readings: int = 10_000_000
    outbox_sync: Literal["normal", "full"] = "full"
    """``full`` survives power loss; ``normal`` survives a process crash and is faster."""
    dedup_window_s: int = 7 * 86_400

    batch_size: int = 5_000
    uplink_timeout_s: float = 30.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 10.0
    """Longest wait between tries while the server is away: after an outage the gateway
    is sending again within this long."""
    stall_alert_s: float = 300.0
    """``/healthz`` turns 503 when the oldest unsent reading, or a run of failed sends, is
    older than this."""
    registry_refresh_s: float = 60.0

    broker_passwd_file: Path | None = None
    """Mosquitto's ``password_file``: when set (with the ACL file), the gateway writes both
    from the registry and has Mosquitto reload them."""
    broker_acl_file: Path | None = None
    broker_reload_pid_file: Path | None = None
    """Mosquitto's pid file: the gateway sends SIGHUP to reload the files."""
    broker_reload_command: str | None = None
    """Or a command that reloads Mosquitto, e.g. ``systemctl reload mosquitto``."""
    bms_username: str | None = None
    """A broker login for the building-management system: it may read the zones' HVAC and
    lighting commands (``zone/+/down/#``) and nothing else. It must contain a dot (e.g.
    ``bms.kemenpan-a``), so that no device id can ever be the same login."""
    bms_password_hash: str | None = None
    """That login's password as a Mosquitto hash (``$7$...``, from ``mosquitto_passwd`` or
    ``smartoffice hash-password``), so the plain password is never in the gateway's config."""
    downlink_wait_s: float = Field(default=5.0, gt=0, le=60)
    """How long one poll for commands waits at the server. A command or registry change
    wakes it at once; this bounds how long stopping the gateway waits for the poll."""

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=9100, ge=1, le=65535)
    """``/healthz`` and ``/metrics``; the gateway logs where they are when it starts. Set
    it for each gateway when several run on one host."""

    @field_validator("gateway_token")
    @classmethod
    def _token_given(cls, value: SecretStr) -> SecretStr:
        # In compose the token is the one setting not required up front: it is made with a
        # compose command, which could not run while compose insisted on it.
        if not value.get_secret_value().strip():
            raise ValueError(
                "SMARTOFFICE_EDGE_GATEWAY_TOKEN is empty: make the gateway's token with "
                "`smartoffice registry gateway-token <gateway-id>` (in compose: `docker compose "
                "run --rm server registry gateway-token gw-building`, then GATEWAY_TOKEN in .env)"
            )
        return value

    @field_validator("bms_username", "bms_password_hash", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return value or None  # docker compose passes an unset variable as ""

    @model_validator(mode="after")
    def _broker_files(self) -> EdgeSettings:
        if (self.broker_passwd_file is None) != (self.broker_acl_file is None):
            raise ValueError(
                "set both SMARTOFFICE_EDGE_BROKER_PASSWD_FILE and _ACL_FILE, or neither"
            )
        if self.broker_passwd_file is not None and self.mqtt_password is None:
            raise ValueError(
                "SMARTOFFICE_EDGE_MQTT_PASSWORD is required when the gateway writes the broker's "
                "password file (its own login goes into it)"
            )
        if self.bms_username is not None and not re.match(SERVICE_LOGIN_PATTERN, self.bms_username):
            raise ValueError(
                "SMARTOFFICE_EDGE_BMS_USERNAME must contain a dot, e.g. 'bms.building' "
                "(lower-case letters, digits, '-' and '.'): a name without one could be a "
                "device's id, and broker logins must never collide"
            )
        if self.mqtt_username not in (None, self.gateway_id) and not re.match(
            SERVICE_LOGIN_PATTERN, self.mqtt_username or ""
        ):
            raise ValueError(
                "SMARTOFFICE_EDGE_MQTT_USERNAME must be the gateway's id or contain a dot "
                "(e.g. 'gw.building'): any other name could be a device's id"
            )
        if (self.bms_username is None) != (self.bms_password_hash is None):
            raise ValueError("set both SMARTOFFICE_EDGE_BMS_USERNAME and _BMS_PASSWORD_HASH")
        if self.bms_password_hash is not None and not self.bms_password_hash.startswith("$7$"):
            raise ValueError("SMARTOFFICE_EDGE_BMS_PASSWORD_HASH must be a Mosquitto $7$ hash")
        return self

    @property
    def mqtt_login(self) -> str | None:
        """The gateway's broker username: the configured one, else its id if it has a password."""
        if self.mqtt_username:
            return self.mqtt_username
        return self.gateway_id if self.mqtt_password else None
