"""The firmware's asyncio MQTT client, under MicroPython, against the private Mosquitto."""

from __future__ import annotations

import json
import subprocess
import threading

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from contracts.payloads import parse_status, parse_uplink
from harness.firmware import micropython_binary, mp_env
from harness.services import Service, wait_for

SCRIPT = """
import asyncio, json, sys, mqtt, topics
base, dev, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
got = []
def on_message(topic, payload, retained):
    got.append([topic, payload.decode(), retained])
status = lambda s: json.dumps({"v": 1, "state": s, "boot": 7, "fw": "1.0.0", "kind": "desk"})
async def main():
    c = mqtt.Client(dev, "127.0.0.1", port, keepalive=5, on_message=on_message,
                    will=(topics.status(base, dev), status("offline"), 1, True))
    await c.connect()
    await c.subscribe(topics.down_cmd(base, dev))
    await c.publish(topics.status(base, dev), status("online").encode(), qos=1, retain=True)
    for seq in range(3):
        msg = {"v": 1, "boot": 7, "seq": seq, "occupied": seq % 2 == 0, "source": "pir"}
        await c.publish(topics.uplink(base, dev, "presence"), json.dumps(msg).encode(), qos=1)
    for _ in range(200):
        if got:
            break
        await asyncio.sleep_ms(50)
    print(json.dumps(got))
    # leave without DISCONNECT: the broker must publish the Last Will
asyncio.run(main())
"""


def test_client_publishes_subscribes_and_leaves_a_will(
    mosquitto: Service, unique_name: str
) -> None:
    base, dev = unique_name, f"desk-{unique_name}"
    seen: list[tuple[str, bytes]] = []
    sub = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"obs-{unique_name}",
                      protocol=paho.MQTTv311)
    subscribed = threading.Event()
    sub.on_subscribe = lambda *_: subscribed.set()
    sub.on_message = lambda _c, _u, m: seen.append((m.topic, m.payload))
    sub.connect("127.0.0.1", mosquitto.port)
    sub.loop_start()
    sub.subscribe(f"{base}/v1/dev/{dev}/#", 1)
    assert subscribed.wait(5)
    proc = subprocess.Popen(
        [micropython_binary(), "-c", SCRIPT, base, dev, str(mosquitto.port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=mp_env(),
    )
    try:
        wait_for(lambda: sum(t.endswith("/up/presence") for t, _ in seen) == 3,
                 "readings not received")
        sub.publish(f"{base}/v1/dev/{dev}/down/cmd", b'{"v":1,"cmd_id":"c1","cmd":"identify"}',
                    qos=1).wait_for_publish(5)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1]) == [
            [f"{base}/v1/dev/{dev}/down/cmd", '{"v":1,"cmd_id":"c1","cmd":"identify"}', False]]
        wait_for(lambda: json.loads(seen[-1][1])["state"] == "offline", "no Last Will")
    finally:
        proc.kill()
        sub.loop_stop()
        sub._reset_sockets()
    readings = [parse_uplink("presence", p) for t, p in seen if t.endswith("/up/presence")]
    assert [r.seq for r in readings] == [0, 1, 2]
    states = [parse_status(p).state for t, p in seen if t.endswith("/status")]
    assert states == ["online", "offline"]
