"""Drivers take bytes and return values; run under MicroPython, checked against the datasheets."""

from __future__ import annotations

import pytest

from harness.firmware import MicroPython


def test_scd4x_crc_matches_the_datasheet_and_decodes(mpy: MicroPython) -> None:
    out = mpy.run("""
import json, scd4x
raw = scd4x.encode_words([0x01F4, 0x6667, 0x5EB9])
co2, t, rh = scd4x.decode_measurement(raw)
print(json.dumps({"crc_beef": scd4x.crc8(b"\\xbe\\xef"), "co2": co2, "t": t, "rh": rh,
                  "ready": scd4x.data_ready(scd4x.encode_words([0x8006])),
                  "not_ready": scd4x.data_ready(scd4x.encode_words([0x8000]))}))
""")
    assert out["crc_beef"] == 0x92  # Sensirion's worked example
    assert out["co2"] == 500
    assert out["t"] == pytest.approx(-45 + 175 * 0x6667 / 65536)
    assert out["rh"] == pytest.approx(100 * 0x5EB9 / 65536)
    assert (out["ready"], out["not_ready"]) == (True, False)


def test_scd4x_refuses_bad_crc_and_short_reads(mpy: MicroPython) -> None:
    out = mpy.run("""
import json, scd4x
raw = bytearray(scd4x.encode_words([500, 26215, 24249]))
raw[5] ^= 0x01
errors = []
for data in (bytes(raw), bytes(raw[:7])):
    try:
        scd4x.decode_measurement(data)
        errors.append(None)
    except scd4x.CRCError as e:
        errors.append(str(e))
print(json.dumps(errors))
""")
    assert out == ["CRC mismatch in word 1", "short read: 7 bytes"]


def test_pzem_request_reply_and_scaling(mpy: MicroPython) -> None:
    out = mpy.run("""
import json, pzem
req = pzem.read_request(0x01)
reply = pzem.encode_reply(0x01, 229.8, 70.123, 16115.7, 1834002, 50.0, 0.97)
r = pzem.parse_reply(reply, 0x01)
print(json.dumps({"req": list(req), "check": pzem.crc16(b"123456789"), "v": r.voltage_v,
                  "a": r.current_a, "w": r.power_w, "wh": r.energy_wh, "hz": r.frequency_hz,
                  "pf": r.pf, "alarm": r.alarm, "len": len(reply)}))
""")
    assert out["check"] == 0x4B37  # CRC-16/MODBUS check value
    assert out["req"] == [0x01, 0x04, 0x00, 0x00, 0x00, 0x0A, 0x70, 0x0D]
    assert out["len"] == 25
    # current, power and energy exceed 16 bits: two words, low first
    assert (out["v"], out["a"], out["w"], out["wh"]) == (229.8, 70.123, 16115.7, 1834002)
    assert (out["hz"], out["pf"], out["alarm"]) == (50.0, 0.97, False)


def test_pzem_refuses_bad_replies(mpy: MicroPython) -> None:
    out = mpy.run("""
import json, pzem
good = pzem.encode_reply(0x01, 230, 1, 230, 10)
bad_crc = bytearray(good); bad_crc[5] ^= 0xFF
exc = pzem.with_crc(bytes((0x01, 0x84, 0x02)))
errors = []
for data, addr in ((bytes(bad_crc), 1), (good[:20], 1), (exc, 1), (good, 2), (b"", 1)):
    try:
        pzem.parse_reply(data, addr)
        errors.append(None)
    except pzem.ModbusError as e:
        errors.append(str(e))
print(json.dumps(errors))
""")
    assert out == ["CRC mismatch", "short reply: 20 of 25 bytes",
                   "meter answered Modbus exception 2", "reply from meter 1, asked 2",
                   "short reply: 0 of 25 bytes"]


def test_ld2410_frames_split_corrupt_and_resynced(mpy: MicroPython) -> None:
    out = mpy.run("""
import json, ld2410
moving = ld2410.frame(ld2410.MOVING, 250, 80, 0, 0, 250)
still = ld2410.frame(ld2410.STILL, 0, 0, 120, 55, 120)
corrupt = bytearray(still); corrupt[-2] = 0  # bad footer
stream = b"\\x00\\xf4\\xf3garbage" + moving + bytes(corrupt) + still + moving[:7]
p = ld2410.Parser()
got = []
for i in range(0, len(stream), 5):  # 5-byte UART reads split frames anywhere
    for t in p.feed(stream[i:i + 5]):
        got.append([t.state, t.distance_cm, t.moving_energy, t.still_energy, t.present])
rest = p.feed(moving[7:])
got.append([rest[0].state, rest[0].distance_cm])
print(json.dumps({"got": got, "frames": p.frames, "errors": p.errors, "skipped": p.skipped}))
""")
    assert out["got"] == [[1, 250, 80, 0, True], [2, 120, 0, 55, True], [1, 250]]
    assert out["frames"] == 3
    assert out["errors"] == 1
    assert out["skipped"] > 0


def test_ring_drops_oldest_and_counts(mpy: MicroPython) -> None:
    out = mpy.run("""
import json, ringbuf
r = ringbuf.Ring(20)  # a record takes 3 bytes + its body: two 7-byte records fit, not three
for i in range(4):
    r.push(i % 3, b"r%03d" % i)
first = [r.pop(), len(r), r.dropped]
r.push(2, b"x" * 17)  # fills the whole ring: the one left goes
r.push(1, b"y" * 18)  # never fits: dropped itself, counted
rest = [r.pop(), r.pop()]
print(json.dumps({"first": [first[0][0], first[0][1].decode()] + first[1:],
                  "rest": [[s, b.decode()] if b else None for s, b in
                           (x or (None, None) for x in rest)],
                  "dropped": r.dropped}))
""")
    assert out == {"first": [2, "r002", 1, 2], "rest": [[2, "x" * 17], None], "dropped": 4}


def test_ring_keeps_records_whole_across_the_wrap(mpy: MicroPython) -> None:
    """Records of every length pushed and popped in turn, checked against a simple queue."""
    out = mpy.run("""
import json, ringbuf
r = ringbuf.Ring(97)
model, dropped, wrong = [], 0, 0
for i in range(2000):
    body = bytes((i + k) % 256 for k in range((i * 7) % 40))
    r.push(i % 7, body)
    model.append((i % 7, body))
    while sum(3 + len(b) for _, b in model) > 97:
        model.pop(0)
        dropped += 1
    if i % 3 == 0:
        got = r.pop()
        want = model.pop(0) if model else None
        wrong += got != want
    wrong += len(r) != len(model)
print(json.dumps({"wrong": wrong, "dropped": [r.dropped, dropped], "left": len(r)}))
""")
    assert out["wrong"] == 0
    assert out["dropped"][0] == out["dropped"][1] > 0
    assert out["left"] > 0


def test_presence_occupied_at_once_vacant_only_after_hold(mpy: MicroPython) -> None:
    out = mpy.run("""
import json, ld2410, presence
p = presence.Presence(hold_ms=120000)
still = ld2410.Target(ld2410.STILL, 0, 0, 95, 40, 95)
log = []
for t, pir, radar in ((0, False, None), (1000, True, None), (2000, False, still),
                      (60000, False, None), (121999, False, None), (122000, False, None)):
    changed = p.update(t, pir=pir, radar=radar)
    log.append([t, changed, p.occupied, p.source, p.distance_cm])
print(json.dumps(log))
""")
    assert out == [
        [0, False, False, "pir", None],
        [1000, True, True, "pir", None],
        [2000, False, True, "mmwave", 95],  # a still person typing: radar keeps it occupied
        [60000, False, True, "mmwave", 95],
        [121999, False, True, "mmwave", 95],
        [122000, True, False, "mmwave", None],  # 2 min after the last detection
    ]


def test_door_counter_counts_crossings_not_glances(mpy: MicroPython) -> None:
    out = mpy.run("""
import json, doorcount
d = doorcount.DoorCounter(window_ms=1500)
log = []
def step(t, outer, inner):
    if d.update(t, outer, inner):
        log.append([t, d.count])
# in, in, a glance (outer only, then nothing), out, an out when empty is ignored
for t0 in (0, 5000):
    step(t0, 1, 0); step(t0 + 200, 1, 1); step(t0 + 400, 0, 1); step(t0 + 600, 0, 0)
step(10000, 1, 0); step(10200, 0, 0); step(13000, 0, 0)
step(15000, 0, 1); step(15200, 1, 1); step(15400, 1, 0); step(15600, 0, 0)
for t0 in (20000, 25000, 30000):
    step(t0, 0, 1); step(t0 + 200, 1, 1); step(t0 + 400, 0, 0)
print(json.dumps({"log": log, "count": d.count}))
""")
    assert out == {"log": [[200, 1], [5200, 2], [15200, 1], [20200, 0]], "count": 0}
