"""The topics a node uses; the firmware's own copy of contracts/topics.py (no pydantic here).

A test checks every topic built here equals the one the contract builds.
"""

VERSION = "v1"
STREAMS = ("presence", "env", "energy", "people", "heartbeat", "ack")


def _dev(base, device_id):
    return "%s/%s/dev/%s" % (base, VERSION, device_id)


def uplink(base, device_id, stream):
    """Where the node publishes readings of ``stream``."""
    if stream not in STREAMS:
        raise ValueError("unknown stream " + stream)
    return _dev(base, device_id) + "/up/" + stream


def status(base, device_id):
    """The node's retained availability topic (also its Last Will)."""
    return _dev(base, device_id) + "/status"


def down_cmd(base, device_id):
    """Commands to the node."""
    return _dev(base, device_id) + "/down/cmd"


def down_state(base, device_id):
    """The node's retained desired state."""
    return _dev(base, device_id) + "/down/state"
