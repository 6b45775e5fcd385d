"""End-to-end throughput, latency and gateway memory of the data path.

Starts a private Mosquitto and influxd, the server (InfluxDB backend) and the gateway as
processes, registers a fleet, then:

1. throughput: publishes QoS 1 readings at ``--rate`` for ``--seconds`` from publisher
   processes, and measures how fast they are stored in InfluxDB, checking nothing is lost;
2. latency: at ``--latency-rate`` publishes background load plus probe readings and polls
   InfluxDB until each probe is queryable (sensor-to-queryable latency);
3. catch-up: stops the server, publishes ``--backlog`` readings at ``--backlog-rate`` so
   that the gateway queues them, starts the server again, and measures how long the
   gateway takes to deliver the backlog (first stored, all stored, outbox empty);

sampling the gateway's RSS throughout. Run: ``python -m bench.pipeline [--help]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform as pyplatform
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from harness.platform import Platform
from harness.services import influxd, mosquitto, running, wait_for

PROBE = "probe-latency"


def publisher(port: int, device: str, rate: float, seconds: float, boot: int, done: Any) -> None:
    """Feed ``mosquitto_pub -l`` (Mosquitto's own C client, QoS 1) at ``rate`` lines/s.

    The load generator is C so that the machine's two cores measure the platform rather
    than a Python publisher; each process is one device.
    """
    proc = subprocess.Popen(
        [
            "mosquitto_pub",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-q",
            "1",
            "-M",
            "1000",
            "-i",
            f"bench-{device}",
            "-t",
            f"ikn/v1/dev/{device}/up/presence",
            "-l",
        ],
        stdin=subprocess.PIPE,
    )
    assert proc.stdin is not None
    total = int(rate * seconds)
    chunk = max(1, int(rate / 50))
    t0 = time.monotonic()
    for start in range(0, total, chunk):
        now_ms = int(time.time() * 1000)
        lines = b"".join(
            b'{"v":1,"boot":%d,"seq":%d,"ts":%d,"occupied":%s,"source":"pir"}\n'
            % (boot, seq, now_ms, b"true" if seq % 2 else b"false")
            for seq in range(start, min(start + chunk, total))
        )
        proc.stdin.write(lines)
        proc.stdin.flush()
        ahead = t0 + (start + chunk) / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    proc.stdin.close()
    proc.wait()  # mosquitto_pub exits once every QoS 1 message is acknowledged
    done.put((total, time.monotonic() - t0))


class Load:
    """One ``publisher`` process per device, sharing ``rate`` between them."""

    def __init__(
        self, port: int, devices: list[str], rate: float, seconds: float, boot: int
    ) -> None:
        self.done: Any = mp.Queue()
        self.workers = [
            mp.Process(
                target=publisher, args=(port, d, rate / len(devices), seconds, boot, self.done)
            )
            for d in devices
        ]
        for w in self.workers:
            w.start()

    def finish(self) -> tuple[int, float]:
        """Wait for every publisher: messages acknowledged, and the slowest one's seconds."""
        results = [self.done.get() for _ in self.workers]
        for w in self.workers:
            w.join()
        return sum(n for n, _ in results), max(s for _, s in results)


def influx_count(port: int, db: str) -> int:
    r = httpx.get(
        f"http://127.0.0.1:{port}/query",
        params={"db": db, "q": "SELECT count(seq) FROM presence"},
        timeout=30,
    ).json()
    series = r["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except FileNotFoundError:
                return


def throughput(
    port_mqtt: int,
    port_influx: int,
    db: str,
    devices: list[str],
    rate: float,
    seconds: float,
    procs: int,
    boot: int,
    platform: Platform,
) -> dict[str, Any]:
    before = influx_count(port_influx, db)
    assert platform.server is not None
    assert platform.gateway is not None
    assert platform.server.proc is not None
    assert platform.gateway.proc is not None
    pids = {"server": platform.server.proc.pid, "gateway": platform.gateway.proc.pid}
    cpu0 = {k: cpu_s(pid) for k, pid in pids.items()}
    t0 = time.monotonic()
    published, pub_seconds = Load(port_mqtt, devices[:procs], rate, seconds, boot).finish()
    expected = before + published
    last, last_change = before, time.monotonic()
    while True:
        n = influx_count(port_influx, db)
        if n != last:
            last, last_change = n, time.monotonic()
        if n >= expected or time.monotonic() - last_change > 60:
            break
        time.sleep(0.5)
    stored_at = time.monotonic()
    stored = last - before
    cpu = {k: cpu_s(pid) - cpu0[k] for k, pid in pids.items()}
    return {
        "target_rate": rate,
        "seconds": seconds,
        "published": published,
        "publish_rate": round(published / pub_seconds),
        "stored": stored,
        "lost": published - stored,
        "end_to_end_rate": round(stored / (stored_at - t0)),
        "drain_after_publish_s": round(stored_at - t0 - pub_seconds, 1),
        "gateway_duplicates_seen": platform.gateway_metric("smartoffice_edge_duplicates_total"),
        # CPU time per 1,000 readings stored, of each process over the whole step.
        "server_cpu_ms_per_1000": round(cpu["server"] / max(1, stored) * 1e6, 1),
        "gateway_cpu_ms_per_1000": round(cpu["gateway"] / max(1, stored) * 1e6, 1),
    }


def latency(
    port_mqtt: int,
    port_influx: int,
    db: str,
    devices: list[str],
    rate: float,
    seconds: float,
    procs: int,
    boot: int,
) -> dict[str, Any]:
    load = Load(port_mqtt, devices[:procs], rate, seconds, boot)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=PROBE, protocol=paho.MQTTv311)
    client.connect("127.0.0.1", port_mqtt)
    client.loop_start()
    sent: dict[int, float] = {}
    seen: dict[int, float] = {}
    stop = threading.Event()

    def poll() -> None:
        with httpx.Client(timeout=10) as http:
            while not stop.is_set() or len(seen) < len(sent):
                r = http.get(
                    f"http://127.0.0.1:{port_influx}/query",
                    params={
                        "db": db,
                        "q": f"SELECT last(seq) FROM presence WHERE device='{PROBE}'"
                        f" AND boot={boot}",
                    },
                ).json()
                now = time.monotonic()
                series = r["results"][0].get("series")
                if series:
                    top = int(series[0]["values"][0][1])
                    for s in list(sent):
                        if s <= top and s not in seen:
                            seen[s] = now
                if stop.is_set() and time.monotonic() - stop_time[0] > 30:
                    return
                time.sleep(0.02)

    stop_time = [0.0]
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    t_end = time.monotonic() + seconds
    seq = 0
    while time.monotonic() < t_end:
        payload = json.dumps(
            {
                "v": 1,
                "boot": boot,
                "seq": seq,
                "ts": int(time.time() * 1000),
                "occupied": True,
                "source": "pir",
            }
        )
        sent[seq] = time.monotonic()
        client.publish(f"ikn/v1/dev/{PROBE}/up/presence", payload, qos=1)
        seq += 1
        time.sleep(0.1)
    stop_time[0] = time.monotonic()
    stop.set()
    poller.join(60)
    load.finish()
    client.disconnect()
    client.loop_stop()
    lat = sorted((seen[s] - sent[s]) * 1000 for s in seen)
    return {
        "rate": rate,
        "seconds": seconds,
        "probes": len(sent),
        "probes_seen": len(seen),
        "p50_ms": round(statistics.median(lat)),
        "p99_ms": round(lat[int(len(lat) * 0.99) - 1]),
        "max_ms": round(lat[-1]),
    }


def catch_up(
    port_mqtt: int,
    port_influx: int,
    db: str,
    devices: list[str],
    backlog: int,
    rate: float,
    procs: int,
    boot: int,
    platform: Platform,
) -> dict[str, Any]:
    """Deliver a backlog queued while the server was down; times from the server's return."""
    assert platform.server is not None
    before = influx_count(port_influx, db)
    platform.server.stop()
    outage = time.monotonic()
    published, _ = Load(port_mqtt, devices[:procs], rate, backlog / rate, boot).finish()
    wait_for(lambda: platform.gateway_health()["outbox_depth"] >= published, "queued", 300)
    queued_s = time.monotonic() - outage
    platform.start_server()
    back = time.monotonic()
    first = None
    while True:
        n = influx_count(port_influx, db) - before
        if first is None and n > 0:
            first = time.monotonic() - back
        if n >= published or time.monotonic() - back > 600:
            break
        time.sleep(0.2)
    stored_s = time.monotonic() - back
    wait_for(lambda: platform.gateway_health()["outbox_depth"] == 0, "outbox empty", 120)
    return {
        "backlog": published,
        "outage_s": round(queued_s, 1),
        "stored": n,
        "lost": published - n,
        "first_stored_after_s": round(first or 0.0, 2),
        "all_stored_after_s": round(stored_s, 1),
        "catch_up_rate": round(n / stored_s),
        "outbox_empty_after_s": round(time.monotonic() - back, 1),
    }


def machine() -> str:
    """CPU model, core count, memory and Python version of this machine."""
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        pyplatform.machine(),
    )
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return f"{os.cpu_count()} x {cpu}, {mem:.0f} GiB, Python {pyplatform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rate", type=float, default=20_000, help="throughput target, msg/s")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--latency-rate", type=float, default=5_000)
    ap.add_argument("--latency-seconds", type=float, default=30)
    ap.add_argument("--devices", type=int, default=2_000, help="registered devices")
    ap.add_argument(
        "--publishers", type=int, default=8, help="mosquitto_pub processes, each one of the devices"
    )
    ap.add_argument("--outbox-sync", choices=["full", "normal"], default="full")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--backlog", type=int, default=20_000, help="readings queued in an outage")
    ap.add_argument("--backlog-rate", type=float, default=2_000, help="msg/s during the outage")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="ikn-bench-") as tmp:
        work = Path(tmp)
        with running(mosquitto(work / "mq")) as mq, running(influxd(work / "influx")) as ix:
            db = "bench"
            p = Platform(
                work,
                {
                    "SMARTOFFICE_READINGS_BACKEND": "influx",
                    "SMARTOFFICE_INFLUX_URL": f"http://127.0.0.1:{ix.port}",
                    "SMARTOFFICE_INFLUX_DATABASE": db,
                },
                gateway_id="gw-bench",
            )
            devices = [f"desk-{i:05d}" for i in range(args.devices)]
            p.register(
                [
                    {
                        "id": d,
                        "kind": "desk",
                        "space": {
                            "building": "bench",
                            "floor": f"f{i // 100}",
                            "zone": f"z{i // 50}",
                            "space": f"d-{i:05d}",
                            "space_kind": "desk",
                        },
                    }
                    for i, d in enumerate([*devices, PROBE])
                ]
            )
            p.start_server()
            gw = p.start_gateway(mq.port, SMARTOFFICE_EDGE_OUTBOX_SYNC=args.outbox_sync)
            assert gw.proc is not None
            sampler = RssSampler(gw.proc.pid)
            sampler.start()
            results: dict[str, Any] = {
                "machine": machine(),
                "devices": args.devices,
                "outbox_sync": args.outbox_sync,
            }
            try:
                if not args.skip_throughput:
                    results["throughput"] = throughput(
                        mq.port,
                        ix.port,
                        db,
                        devices,
                        args.rate,
                        args.seconds,
                        args.publishers,
                        1,
                        p,
                    )
                    wait_for(lambda: p.gateway_health()["outbox_depth"] == 0, "drain", 120)
                results["latency"] = latency(
                    mq.port,
                    ix.port,
                    db,
                    devices,
                    args.latency_rate,
                    args.latency_seconds,
                    args.publishers,
                    2,
                )
                results["catch_up"] = catch_up(
                    mq.port,
                    ix.port,
                    db,
                    devices,
                    args.backlog,
                    args.backlog_rate,
                    args.publishers,
                    3,
                    p,
                )
                results["gateway_peak_rss_mb"] = round(sampler.peak, 1)
            finally:
                sampler.stop.set()
                p.stop()
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
