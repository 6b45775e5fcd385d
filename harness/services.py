"""Start private Mosquitto, influxd and PostgreSQL servers on free loopback ports in temp dirs."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import trustme


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll ``check`` until it is true, or fail saying ``what`` never happened."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # noqa: BLE001  (keep polling; report the last one)
            last = exc
        time.sleep(0.05)
    raise TimeoutError(f"{what} within {timeout} s" + (f" (last error: {last!r})" if last else ""))


def port_open(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:port."""
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def find(binary: str, *extra: str) -> str:
    """Path of a server binary, also looking in sbin and PostgreSQL's libexec dirs."""
    dirs = [*extra, "/usr/sbin", "/usr/local/sbin", "/usr/bin"]
    found = shutil.which(binary) or shutil.which(binary, path=os.pathsep.join(dirs))
    if not found:
        raise RuntimeError(f"{binary} not found: run `make test` (it installs the OS packages)")
    return found


@dataclass
class Service:
    """A running server process and how to reach it."""

    name: str
    port: int
    workdir: Path
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    remove_workdir: bool = False
    ready: Callable[[], bool] | None = None
    """Readiness beyond a listening port (an HTTP health check, say)."""
    rpc: int = 0
    """InfluxDB 1.x's backup and restore (RPC) port."""

    def start(self) -> None:
        """Start (or restart) the process and wait until it is ready."""
        log = open(self.workdir / f"{self.name}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            env={**os.environ, **self.env},
            user=self.user,
            start_new_session=True,
        )
        log.close()
        wait_for(self._up, f"{self.name} did not come up on port {self.port}")

    def _up(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited {self.proc.returncode}:\n{self.log_tail()}")
        return port_open(self.port) and (self.ready is None or self.ready())

    @property
    def url(self) -> str:
        """Base HTTP URL of the service's port."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the process and wait for it."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log_tail(self, n: int = 30) -> str:
        """The last lines the server logged."""
        path = self.workdir / f"{self.name}.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-n:]) if path.exists() else ""
        )


def mosquitto(workdir: Path, *, extra_conf: str = "") -> Service:
    """A Mosquitto broker with persistence, unlimited queues and in-flight windows."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    user = "root" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"user {user}\n"
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence true\n"
        f"persistence_location {workdir}/\n"
        "autosave_interval 1\n"
        # A persistent gateway session must hold everything published while it is away.
        "max_queued_messages 0\n"
        "max_inflight_messages 1000\n"
        "log_type error\nlog_type warning\n"
        f"{extra_conf}"
    )
    svc = Service("mosquitto", port, workdir, [find("mosquitto"), "-c", str(conf)])
    svc.start()
    return svc


def influxd(workdir: Path, *, auth: bool = False, max_rows: int = 0) -> Service:
    """An InfluxDB 1.x server with its own meta, data and WAL dirs.

    ``auth``: users needed; ``max_rows``: answers cut at that many rows (0: no limit).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port, rpc = free_port(), free_port()
    conf = workdir / "influxdb.conf"
    conf.write_text(
        f"""reporting-disabled = true
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{workdir}/meta"
[data]
  dir = "{workdir}/data"
  wal-dir = "{workdir}/wal"
  query-log-enabled = false
  wal-fsync-delay = "0s"
[http]
  bind-address = "127.0.0.1:{port}"
  log-enabled = false
  max-body-size = 0
  max-row-limit = {max_rows}
  auth-enabled = {"true" if auth else "false"}
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
"""
    )
    svc = Service("influxd", port, workdir, [find("influxd"), "run", "-config", str(conf)], rpc=rpc)
    svc.start()
    wait_for(
        lambda: httpx.get(f"http://127.0.0.1:{port}/ping").status_code == 204,
        "influxd did not answer /ping",
    )
    return svc


def postgres(workdir: Path) -> Service:
    """A PostgreSQL server in its own data dir (run as the postgres user when we are root)."""
    pg_bin = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    extra = [str(p) for p in pg_bin[-1:]]
    initdb, server = find("initdb", *extra), find("postgres", *extra)
    user = "postgres" if os.geteuid() == 0 else None
    if user:
        # PostgreSQL refuses to run as root; its user must reach the data dir, and pytest's
        # temp tree is private to root, so the cluster lives in a dir of its own under /tmp.
        workdir = Path(tempfile.mkdtemp(prefix="ikn-pg-"))
        shutil.chown(workdir, user)
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / "data"
    subprocess.run(
        [initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"],
        check=True,
        capture_output=True,
        user=user,
        cwd=workdir,
    )
    port = free_port()
    svc = Service(
        "postgres",
        port,
        workdir,
        [
            server,
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(workdir),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
        ],
        user=user,
        remove_workdir=user is not None,
    )
    svc.start()
    # The port opens before the server takes sessions ("the database system is starting
    # up"): wait until one is taken.
    wait_for(lambda: _takes_sessions(port), "postgres did not take a session")
    return svc


def _takes_sessions(port: int) -> bool:
    try:
        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres") as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True


@contextlib.contextmanager
def running(svc: Service) -> Iterator[Service]:
    """Stop ``svc`` on exit."""
    try:
        yield svc
    finally:
        svc.stop()
        if svc.remove_workdir:
            shutil.rmtree(svc.workdir, ignore_errors=True)


def broker_certs(directory: Path) -> trustme.CA:
    """A CA made here and the broker's certificate for 127.0.0.1 (and localhost), written
    as ``ca.crt``, ``broker.crt`` and ``broker.key`` in ``directory``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca.cert_pem.write_to_path(str(directory / "ca.crt"))
    cert.cert_chain_pems[0].write_to_path(str(directory / "broker.crt"))
    cert.private_key_pem.write_to_path(str(directory / "broker.key"))
    return ca


def tls_listener(port: int, certs: Path) -> str:
    """Mosquitto lines for a TLS listener on loopback with the certificates of ``certs``."""
    return (
        f"listener {port} 127.0.0.1\ncafile {certs}/ca.crt\n"
        f"certfile {certs}/broker.crt\nkeyfile {certs}/broker.key\n"
    )
