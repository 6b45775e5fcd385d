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
    "buffer_bytes": 8192,  # readings kept in RAM while offline (allocated at boot)
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


def load(path="config.json"):
    """Defaults overridden by the file (a missing file gives the defaults)."""
    cfg = dict(DEFAULTS)
    try:
        with open(path) as f:
            cfg.update(json.load(f))
    except OSError:
        pass
    return cfg
