"""Commands from the installer's tool (identify, reboot, config), and the factory reset.

Loaded at the first command, or at boot only when a reset button is wired; not otherwise
(RAM is scarce).
"""

import config

from ticks import ticks_add, ticks_diff, ticks_ms

# What a remote `config` command may change (the rest needs the installer), within what.
# A new buffer_bytes applies at the next boot.
_LIMITS = {"heartbeat_s": (10, 86400), "buffer_bytes": (1024, 65536), "hold_s": (5, 86400),
           "presence_keepalive_s": (30, 86400), "env_interval_s": (5, 86400),
           "co2_delta": (10, 86400), "temp_delta": (0.1, 86400),
           "energy_interval_s": (5, 86400), "keepalive_s": (10, 86400)}


def check_remote(changes):
    """None when ``changes`` may be applied remotely, else the reason it may not."""
    if not isinstance(changes, dict) or not changes:
        return "args must be an object of settings"
    for key, value in changes.items():
        if key not in _LIMITS:
            return "%s cannot be changed remotely" % key
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return "%s must be a number" % key
        low, high = _LIMITS[key]
        if value < low or value > high:
            return "%s out of range" % key
    return None


def save(cfg, path):
    """Write the whole configuration atomically (new file, then rename)."""
    import json
    import os

    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(cfg, f)
    os.rename(tmp, path)


def run(node, cmd, args):
    """Carry out a command on ``node``; None when done, else why not."""
    if cmd == "identify":
        seconds = args.get("seconds", 10)
        if not isinstance(seconds, int) or not 1 <= seconds <= 300:
            return "seconds must be 1-300"
        node.identify_until = ticks_add(ticks_ms(), seconds * 1000)
        return None
    if cmd == "reboot":
        node.reset_after = True  # once the ack has been sent
        return None
    if cmd == "config":
        error = check_remote(args)
        if error:
            return error
        node.cfg.update(args)
        path = node.home + "config.json"
        stored = config.load(path)
        stored.update(args)
        save(stored, path)
        return None
    return "unknown command %r" % (cmd,)


def factory_reset(machine, pin_id, hold_ms=5000):
    """If ``pin_id`` is held low for ``hold_ms`` at power-up, forget config and state."""
    import os
    import time

    pin = machine.Pin(pin_id, machine.Pin.IN, machine.Pin.PULL_UP)
    start = ticks_ms()
    while ticks_diff(ticks_ms(), start) < hold_ms:
        if pin.value():
            return False
        time.sleep_ms(50)
    for path in ("config.json", "state.json"):
        try:
            os.remove(path)
        except OSError:
            pass
    return True
