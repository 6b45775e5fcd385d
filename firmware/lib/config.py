"""Node configuration: defaults overridden by the ``config.json`` the installer writes."""

import json

DEFAULTS = {  # type: dict
    "device_id": "",
    "kind": "desk",  # desk | room | energy
    "wifi_ssid": "",
    "wifi_password": "",
    "mqtt_host": "",
    "mqtt_port": 1883,
    "mqtt_password": "",
    "mqtt_tls": False,  # True: TLS, trusting only the CA in the file below
    "mqtt_ca": "ca.der",  # the broker's CA (DER), written by `smartoffice device flash`
    "base_topic": "ikn",
    "keepalive_s": 30,
    "ntp_host": "pool.ntp.org",
    "heartbeat_s": 60,
    "buffer_size": 200,
    "wdt_ms": 30000,
    "reset_pin": None,  # hold low at power-up for 5 s: factory reset
    "led_pins": None,  # [r, g, b] for desk nodes
    # desk
    "pir_pin": None,
    "radar_uart": None,  # [uart id, tx, rx]
    "hold_s": 120,
    "presence_keepalive_s": 300,
    # room
    "i2c": None,  # [i2c id, scl, sda]
    "env_interval_s": 60,
    "co2_delta": 100,
    "temp_delta": 1.0,
    "light_adc_pin": None,
    "door_pins": None,  # [outer, inner]: two beams across the door count people
    # energy
    "meter_uart": None,  # [uart id, tx, rx]
    "meters": [],  # [{"address": 1, "circuit": "total"}]
    "energy_interval_s": 30,
}
# What a remote `config` command may change (the rest needs the installer).
REMOTE = ("heartbeat_s", "buffer_size", "hold_s", "presence_keepalive_s", "env_interval_s",
          "co2_delta", "temp_delta", "energy_interval_s", "keepalive_s")
_MIN = {"heartbeat_s": 10, "buffer_size": 10, "hold_s": 5, "presence_keepalive_s": 30,
        "env_interval_s": 5, "co2_delta": 10, "temp_delta": 0.1, "energy_interval_s": 5,
        "keepalive_s": 10}
_MAX = {"buffer_size": 2000}


def load(path="config.json"):
    """Defaults overridden by the file (a missing file gives the defaults)."""
    cfg = dict(DEFAULTS)
    try:
        with open(path) as f:
            cfg.update(json.load(f))
    except OSError:
        pass
    return cfg


def check_remote(changes):
    """None when ``changes`` may be applied remotely, else the reason it may not."""
    if not isinstance(changes, dict) or not changes:
        return "args must be an object of settings"
    for key, value in changes.items():
        if key not in REMOTE:
            return "%s cannot be changed remotely" % key
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return "%s must be a number" % key
        if value < _MIN[key] or value > _MAX.get(key, 86400):
            return "%s out of range" % key
    return None


def save(cfg, path="config.json"):
    """Write the whole configuration atomically (new file, then rename)."""
    import os

    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(cfg, f)
    os.rename(tmp, path)
