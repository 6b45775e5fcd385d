"""``make demo``: broker, server, gateway and a simulated fleet in one process.

Everything runs on embedded defaults: SQLite for everything, and a private Mosquitto with
per-device logins when one is installed (else the in-process amqtt broker, anonymous).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from contextlib import ExitStack
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any, Final, NamedTuple

import uvicorn
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contracts.topics import Topics
from edge.app import Gateway
from edge.broker import BrokerFiles
from edge.config import EdgeSettings
from server.agencies import service as agencies
from server.agencies.schemas import AgencyCreate
from server.app import create_app
from server.auth.models import User
from server.auth.passwords import hash_password
from server.auth.schemas import UserCreate
from server.auth.service import create_user
from server.bookings.models import Booking
from server.config import ServerSettings
from server.db import Database, init_schema
from server.energy.rollup import Rollups
from server.exceptions import LayoutError
from server.plans import forecast as forecasting
from server.registry.layout import import_layout
from server.registry.service import add_gateway, import_doc, parse_doc, snapshot
from server.services import build_store, rollup_config
from server.spaces.loader import parse_layout
from server.spaces.service import Plan
from smartoffice.children import die_with_parent
from smartoffice.fleet import FLOOR_H, FLOOR_W, WITA, Fleet, FleetThread, SimClock, floor_plan
from smartoffice.living import LiveOffice, Past, add_accounts, add_plans, people_of

logger = logging.getLogger(__name__)
GATEWAY = "gw-demo"


class Agency(NamedTuple):
    """One of the demo's ministries (fictional): code, names, and its floor's two units."""

    code: str
    name: str
    name_en: str
    units: tuple[str, str]


DEMO_DIR = Path("var/demo")
BUILDING = "kemenpan-a"


def _free_port(preferred: int) -> int:
    """``preferred`` when it is free, else any free port.

    A port left in TIME_WAIT by the last run counts as free: the server reuses addresses.
    """
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


LOCK = "demo.lock"
HISTORY_DAYS = 5  # working days lived through before the demo opens


def office_moment(now: datetime) -> datetime | None:
    """When the demo's clock starts: None (now) in office hours, else a working morning.

    09:30 WITA of the latest working day, so the building is at work whenever it is run.
    """
    now = now.astimezone(WITA)
    if now.weekday() < 5 and 8 <= now.hour < 15:
        return None
    day = now.date()
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return datetime.combine(day, dtime(9, 30), WITA)


# The demo is a tower two ministries share (fictional names): each on its own floor, a
# floor of meeting rooms for both, under one building operator.
AGENCIES: Final = (
    Agency(
        "kemenko-nusantara",
        "Kemenko Pembangunan Nusantara",
        "Coordinating Ministry for Nusantara Development",
        ("Biro Perencanaan", "Pusat Data dan Informasi"),
    ),
    Agency(
        "kementerian-kota-hijau",
        "Kementerian Kota Hijau",
        "Ministry of Green Cities",
        ("Direktorat Tata Ruang", "Direktorat Ruang Terbuka Hijau"),
    ),
)
FLOORS: Final = {"f1": AGENCIES[0].code, "f2": AGENCIES[1].code}
"""Whose floor: the first for one ministry, the second for the other (more are the building's)."""
SHARED_FLOOR: Final = "f9"

# The demo's people: an account per role (and per agency for an agency's own roles);
# passwords are new at every start.
PEOPLE = (
    ("pegawai", "employee", "Siti Pegawai", "Biro Perencanaan", AGENCIES[0].code),
    ("manajer", "facility_manager", "Budi Pengelola Gedung", None, None),
    ("teknisi", "installer", "Andi Teknisi", None, None),
    ("admin", "admin", "Admin platform", None, None),
    ("admin-nusantara", "agency_admin", "Rina Admin Nusantara", None, AGENCIES[0].code),
    ("fasilitas-nusantara", "agency_manager", "Joko Fasilitas Nusantara", None, AGENCIES[0].code),
    ("admin-kotahijau", "agency_admin", "Dewi Admin Kota Hijau", None, AGENCIES[1].code),
)


def shared_floor() -> dict[str, Any]:
    """The floor of meeting rooms both agencies book (the building's own, no agency)."""
    rooms = (
        ("ruang-nusantara", "Ruang Rapat Nusantara", 20, 3, 6, 16, 10),
        ("ruang-garuda", "Ruang Rapat Garuda", 12, 21, 6, 12, 10),
        ("aula-khatulistiwa", "Aula Khatulistiwa", 40, 35, 6, 26, 20),
    )
    return {
        "id": SHARED_FLOOR,
        "name": "Lantai 9 Ruang Bersama",
        "level": 9,
        "width": FLOOR_W,
        "height": FLOOR_H,
        "zones": [{"id": "f9-rapat", "name": "Lantai 9 Ruang Bersama", "kind": "hvac"}],
        "desks": [],
        "rooms": [
            {
                "id": code,
                "name": name,
                "zone": "f9-rapat",
                "capacity": seats,
                "x": x,
                "y": y,
                "width": w,
                "height": h,
            }
            for code, name, seats, x, y, w, h in rooms
        ],
    }


def tower(fleet: Fleet) -> tuple[dict[str, Any], dict[str, Plan]]:
    """The demo's building: the fleet's floors, each agency's, and the shared one; plans."""
    doc = fleet.layout(BUILDING, "Menara Kemenko 3 (simulasi)", agencies=FLOORS)
    doc["floors"].append(shared_floor())
    plans = {f["id"]: (floor_plan(f), "image/svg+xml") for f in doc["floors"]}
    return doc, plans


class DemoRunning(RuntimeError):
    """Another demo holds this data directory."""


class DemoLock:
    """One demo per data directory: an exclusive lock the OS drops when the process ends.

    The file also says where the running demo is, for the second one's refusal and for
    ``smartoffice user create`` (which then writes to the running demo's database).
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK
        self._file: Any = None

    def acquire(self, note: str) -> None:
        import fcntl

        f = self.path.open("a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            f.seek(0)
            held = f.read().strip() or "another process"
            f.close()
            raise DemoRunning(held) from exc
        self._file = f
        self.note(note)

    def note(self, text: str) -> None:
        """What a second demo is told about this one."""
        self._file.seek(0)
        self._file.truncate()
        self._file.write(text)
        self._file.flush()

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def running_demo(data_dir: Path) -> bool:
    """Whether a demo is running on ``data_dir`` now."""
    import fcntl

    path = data_dir / LOCK
    if not path.exists():
        return False
    with path.open("a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


def _wipe(data_dir: Path) -> None:
    """Remove the demo's data (not its secrets): the next start makes it anew."""
    for name in (
        "smartoffice.db",
        "smartoffice.db-wal",
        "smartoffice.db-shm",
        "readings.db",
        "readings.db-wal",
        "readings.db-shm",
    ):
        (data_dir / name).unlink(missing_ok=True)
    for name in ("nodes", "edge"):  # (the broker rewrites its own files at every start)
        shutil.rmtree(data_dir / name, ignore_errors=True)


class _Broker:
    """An amqtt broker on its own event loop thread."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-broker", daemon=True)
        self._broker: Any = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        from amqtt.broker import Broker

        self._broker = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
                "plugins": {
                    "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
                },
            }
        )
        await self._broker.start()

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(20):
            raise RuntimeError("the in-process MQTT broker did not start")

    def stop(self) -> None:
        fut = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
        fut.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


class _Mosquitto:
    """A private Mosquitto on a free port, used when the machine has one installed.

    It checks every login against the password and ACL files the gateway writes from the
    registry, as in a real building, and reloads them on the gateway's SIGHUP.
    """

    def __init__(self, port: int, workdir: Path, binary: str) -> None:
        self.port = port
        workdir.mkdir(parents=True, exist_ok=True)
        self.passwd = workdir / "passwd"
        self.acl = workdir / "acl"
        self.pid_file = workdir / "mosquitto.pid"
        self._conf = workdir / "mosquitto.conf"
        user = "user root\n" if os.geteuid() == 0 else ""
        self._conf.write_text(
            f"{user}listener {port} 127.0.0.1\nallow_anonymous false\n"
            "use_username_as_clientid true\n"
            f"password_file {self.passwd}\nacl_file {self.acl}\npid_file {self.pid_file}\n"
            f"persistence true\npersistence_location {workdir}/\nmax_queued_messages 0\n"
            "max_inflight_messages 1000\nlog_dest none\n"
        )
        self._argv = [binary, "-c", str(self._conf)]
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._proc = subprocess.Popen(
            self._argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,  # noqa: PLW1509  (no other thread runs yet)
        )
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("the demo's Mosquitto did not start")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)


def _broker(port: int, workdir: Path) -> _Broker | _Mosquitto:
    """Mosquitto when installed, else the in-process amqtt broker.

    Mosquitto copes with hundreds of clients connecting at once; amqtt needs nothing from
    the OS, so the demo runs on a machine without Mosquitto too.
    """
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
    return _Mosquitto(port, workdir, binary) if binary else _Broker(port)


# Ctrl-C or SIGTERM ends the whole demo within this long.
STOP_BOUND_S: Final = 60.0


def run_demo(*, desks: int, port: int, data_dir: Path) -> None:
    """Start everything, print where to look, and run until Ctrl-C."""
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = DemoLock(data_dir)
    try:
        lock.acquire(f"pid {os.getpid()}")
    except DemoRunning as exc:
        raise SystemExit(
            f"A demo is already running on {data_dir} ({exc}). Open it in your browser, or "
            "stop it with Ctrl-C in its terminal; for a second one, give --data-dir."
        ) from None
    moment = office_moment(datetime.now(WITA))
    if moment is not None:
        # The whole demo (server, gateway, sensors, people) runs on one clock, at real speed.
        import time_machine

        time_machine.travel(moment, tick=True).start()
    # From here on, a SIGTERM ends the demo as Ctrl-C does: what was started is stopped,
    # within STOP_BOUND_S whatever a part does.
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)
    with ExitStack() as running:
        running.callback(lock.release)
        try:
            _run(running, desks=desks, port=port, data_dir=data_dir, lock=lock, moment=moment)
        except KeyboardInterrupt:
            print("stopping...", flush=True)  # noqa: T201
    _end_threads(grace_s=10)


def _end_threads(grace_s: float) -> None:
    """End the process even if a part did not stop in time, saying which.

    Python waits for every thread at exit: a server thread given up on (its stop timed out)
    leaves worker threads nobody will stop, and the demo would hang for good (a CI run
    once waited on one).
    """
    deadline = time.monotonic() + grace_s
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    for t in others:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = sorted({t.name for t in others if t.is_alive()})
    if stuck:
        print(f"not stopped in time, left behind: {', '.join(stuck)}", flush=True)  # noqa: T201
        os._exit(0)


def _interrupted(*_: object) -> None:
    _bound_the_stop()
    raise KeyboardInterrupt


def _bound_the_stop() -> None:
    """End the process if stopping its parts takes longer than STOP_BOUND_S, saying why.

    The parts still running are named. Each part's stop has its own timeout, but they
    add up (the gateway's sender, the server, the broker, the threads), and a CI run's
    demo once did not end within 90 s of Ctrl-C. The broker dies with the process
    (``die_with_parent``).
    """

    def watch() -> None:
        time.sleep(STOP_BOUND_S)
        alive = sorted(t.name for t in threading.enumerate() if t is not threading.current_thread())
        print(  # noqa: T201
            f"the demo did not stop within {STOP_BOUND_S:.0f} s; ending it "
            f"(still running: {', '.join(alive)})",
            flush=True,
        )
        os._exit(1)

    threading.Thread(target=watch, name="demo-stop-bound", daemon=True).start()


def _listen(preferred: int) -> socket.socket:
    """The server's listening socket, held from now on: ``preferred`` when free, else any.

    Holding it closes the gap in which another program could take the port between the
    check and the server's start (the demo then waited for a server that never came).
    A port left in TIME_WAIT by the last run counts as free: the server reuses addresses.
    """
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", preferred))
    except OSError:
        s.bind(("127.0.0.1", 0))
    s.listen(2048)
    return s


def _run(
    running: ExitStack,
    *,
    desks: int,
    port: int,
    data_dir: Path,
    lock: DemoLock,
    moment: datetime | None,
) -> None:
    """Start each part, registering how it stops; then wait for Ctrl-C or SIGTERM."""
    listener = running.enter_context(_listen(port))
    chosen = int(listener.getsockname()[1])
    # Zone decisions go out as commands on ikn/v1/zone/{zone}/down/{hvac,lighting}.
    settings = ServerSettings(data_dir=data_dir, port=chosen, energy_actions="command")
    settings.public_url = f"http://127.0.0.1:{settings.port}"
    lock.note(f"pid {os.getpid()}, {settings.public_url}/app")
    broker_port = _free_port(1883)
    broker = _broker(broker_port, data_dir / "mosquitto")
    secure = isinstance(broker, _Mosquitto)
    passwords = {name: secrets.token_urlsafe(9) for name, *_ in PEOPLE}
    admin_password = passwords["admin"]
    gateway_mqtt_password = secrets.token_urlsafe(24)
    try:
        fleet, token, snap = _prepare(settings, desks, broker_port, secure, passwords)
    except LayoutError:
        # Made by a run with more desks, whose devices still sit on the desks to remove.
        print(
            f"The demo's data in {data_dir} was made for another number of devices: "
            "starting afresh.",
            flush=True,
        )  # noqa: T201
        _wipe(data_dir)
        fleet, token, snap = _prepare(settings, desks, broker_port, secure, passwords)
    people = people_of(fleet, FLOORS, units_of())
    lived = _live_the_past(settings, fleet, people)

    topics = Topics()
    broker_files = None
    if isinstance(broker, _Mosquitto):
        broker_files = (broker.passwd, broker.acl, broker.pid_file)
        # The broker needs its files before it starts; the gateway keeps them current.
        BrokerFiles(
            passwd_path=broker.passwd,
            acl_path=broker.acl,
            topics=topics,
            gateway_username=GATEWAY,
            gateway_password=gateway_mqtt_password,
        ).write(snap)
    broker.start()
    running.callback(broker.stop)
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning")
    )
    server_thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="demo-server", daemon=True
    )
    server_thread.start()
    running.callback(server_thread.join, 30)
    running.callback(setattr, server, "should_exit", True)
    while not server.started:
        if not server_thread.is_alive():
            raise SystemExit("the demo's server did not start: its log above says why")
        time.sleep(0.05)
    gateway = Gateway(
        EdgeSettings(
            gateway_id=GATEWAY,
            gateway_token=SecretStr(token),
            server_url=f"http://127.0.0.1:{settings.port}",
            mqtt_port=broker.port,
            mqtt_password=SecretStr(gateway_mqtt_password) if secure else None,
            broker_passwd_file=broker_files[0] if broker_files else None,
            broker_acl_file=broker_files[1] if broker_files else None,
            broker_reload_pid_file=broker_files[2] if broker_files else None,
            data_dir=data_dir / "edge",
            http_port=_free_port(9100),
            outbox_sync="normal",
        )
    )
    gateway.start()
    running.callback(gateway.stop)
    # amqtt mishandles many sessions subscribing at the same instant; spread them out.
    fleet_thread = FleetThread(fleet, stagger_s=0.05)
    fleet_thread.start()
    running.callback(fleet_thread.stop)
    office = LiveOffice(app.state.services.db, fleet, BUILDING, people)
    office.start()
    running.callback(office.stop)

    base = f"http://127.0.0.1:{settings.port}"
    login = (
        f"TOKEN=$(curl -s -d 'username=admin&password={admin_password}' {base}/api/v1/auth/token"
        " | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')"
    )
    # Today in WITA, so the example answers with this demo's own data.
    today = datetime.now(WITA).date().isoformat()
    counts = f"stream=presence&start={today}T00:00&end={today}T23:59&every=1m"
    energy = f"building={BUILDING}&start={today}T00:00&end={today}T23:59&every=1h&by=floor"
    logins = "per-device logins and ACLs" if secure else "anonymous (in-process amqtt)"
    moved = (
        f"\n  (port {port} is taken by another program: this time the demo is on {settings.port})\n"
        if settings.port != port
        else ""
    )
    clock_note = (
        " (outside office hours the demo runs on the latest working day's morning)"
        if moment is not None
        else ""
    )
    named = {a.code: a.name for a in AGENCIES}
    accounts = "\n".join(
        f"    {role:17} {name:20} / {passwords[name]:14} {named.get(agency or '', '')}".rstrip()
        for name, role, _, _, agency in PEOPLE
    )
    print(
        f"""
IKN Smart Office demo is running. Open the app:

  {base}/app
{moved}
  Sign in as (the demo's accounts; new passwords at every start):
{accounts}
  More people: smartoffice user create <name> --role employee  (while the demo runs, it
  goes into the demo's database)

{len(fleet.devices)} simulated devices run the firmware's own application, and
{len(people)} simulated people book, come, walk in or do not show up. {lived}
The demo's clock says {datetime.now(WITA):%A %d %B %Y, %H:%M} WITA{clock_note}.

  API and docs      {base}/docs
  server health     {base}/readyz     metrics {base}/metrics
  gateway health    http://127.0.0.1:{gateway.http_server.port}/healthz
  MQTT broker       127.0.0.1:{broker.port}   (topics under ikn/v1/..., {logins})

  Log in (a token for 30 minutes):
    {login}
  Latest CO2 per room:
    curl -H "Authorization: Bearer $TOKEN" '{base}/api/v1/readings/latest?stream=env&field=co2_ppm'
  Presence readings stored per minute today (WITA):
    curl -H "Authorization: Bearer $TOKEN" '{base}/api/v1/readings/counts?{counts}'
  Energy today per floor (kWh, per occupied desk-hour, out of hours), and as CSV:
    curl -H "Authorization: Bearer $TOKEN" '{base}/api/v1/energy/summary?{energy}'
    curl -H "Authorization: Bearer $TOKEN" '{base}/api/v1/energy/summary?{energy}&format=csv'
  Each zone's HVAC and lighting mode and why (also on ikn/v1/zone/+/down/#):
    curl -H "Authorization: Bearer $TOKEN" '{base}/api/v1/energy/actions?building={BUILDING}'
  Devices, and the installer's view of them:
    smartoffice login --server {base} --username admin && smartoffice device list

Press Ctrl-C to stop.""",
        flush=True,
    )  # noqa: T201

    threading.Event().wait()  # until Ctrl-C or SIGTERM; then `running` stops each part


def _prepare(
    settings: ServerSettings,
    desks: int,
    broker_port: int,
    secure: bool,
    passwords: dict[str, str],
) -> tuple[Fleet, str, Any]:
    """The fleet, and the database with its building, devices, gateway and people.

    Returns the fleet, the gateway's token and the registry snapshot for the broker.
    """
    fleet = Fleet(
        building=BUILDING,
        desks=desks,
        host="127.0.0.1",
        port=broker_port,
        clock=SimClock(None, 1.0),
        home=settings.data_dir / "nodes",
        passwords=secure,
    )
    db = Database(settings.sqlalchemy_url)
    try:
        init_schema(db.engine)
        with db.session() as session:
            token = add_gateway(session, gateway_id=GATEWAY, actor="demo", building=BUILDING)
            _agencies(session)
            doc, plans = tower(fleet)
            import_layout(session, parse_layout(doc), plans=plans)
            import_doc(session, parse_doc(fleet.registry(GATEWAY)), actor="demo")
            for name, role, display, team, agency in PEOPLE:
                _demo_user(session, name, role, passwords[name], display, team, agency)
            people = people_of(fleet, FLOORS, units_of())
            add_accounts(session, people)
            session.flush()
            add_plans(session, people, datetime.now(WITA).date())
            snap = snapshot(session, gateway_id=GATEWAY)
    finally:
        db.close()
    return fleet, token, snap


def _live_the_past(settings: ServerSettings, fleet: Fleet, people: list[Any]) -> str:
    """The last working days and this morning, lived through the real services (once)."""
    db = Database(settings.sqlalchemy_url)
    try:
        with db.session(commit=False) as session:
            lived = session.scalar(select(func.count()).select_from(Booking))
    finally:
        db.close()
    if lived:
        return f"The building keeps its {lived} bookings from earlier runs."
    print(
        f"Living through the last {HISTORY_DAYS} working days and this morning "
        "(bookings, sensors, energy)...",
        flush=True,
    )  # noqa: T201
    now = datetime.now(WITA)
    h = Past(settings, fleet, BUILDING, people).run(days=HISTORY_DAYS, until=now)
    return (
        f"Behind them: {h.days} working days with {h.bookings} bookings, {h.walk_ins} "
        f"walk-ins and {h.readings} readings. {_forecast_said(settings, now)}"
    )


def _forecast_said(settings: ServerSettings, now: datetime) -> str:
    """How far the forecasts kept for the lived days were from what the sensors saw."""
    db = Database(settings.sqlalchemy_url)
    store = build_store(settings)

    async def measure() -> Any:
        return await forecasting.accuracy(
            db,
            Rollups(db, store, rollup_config(settings)),
            building=BUILDING,
            first=now.date() - timedelta(days=3 * HISTORY_DAYS),
            last=now.date() - timedelta(days=1),
        )

    async def run() -> Any:
        try:
            return await measure()
        finally:
            await store.close()

    try:
        found = asyncio.run(run())
    finally:
        db.close()
    if found.mean_absolute_error is None:
        return "No forecast to measure yet."
    return (
        f"The forecast kept each afternoon before was off by {found.mean_absolute_error} "
        f"people per floor-day on average ({len(found.days)} floor-days)."
    )


def units_of() -> dict[str, tuple[str, str]]:
    """Each agency's units for its floor's north and south wings."""
    return {a.code: a.units for a in AGENCIES}


def _agencies(session: Session) -> None:
    """The two ministries and their units (kept as they are on a later start)."""
    for a in AGENCIES:
        if a.code not in {x.id for x in agencies.agencies(session)}:
            new = AgencyCreate(
                id=a.code,
                name=a.name,
                name_en=a.name_en,
                controller=f"{a.name} (PPID)",
                contact=f"ppid@{a.code}.example.go.id",
            )
            agencies.create(session, actor="demo", new=new)
        for unit in a.units:
            if unit not in agencies.units(session, a.code):
                agencies.add_unit(session, actor="demo", agency=a.code, name=unit)


def _demo_user(
    session: Session,
    username: str,
    role: str,
    password: str,
    name: str,
    team: str | None,
    agency: str | None,
) -> None:
    """One of the demo's accounts (its password is new at every start)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        create_user(
            session,
            actor="demo",
            new=UserCreate(
                username=username,
                password=password,
                role=role,
                display_name=name,
                team=team,
                agency=agency,
            ),
        )
    else:
        user.password_hash = hash_password(password)
        user.role, user.agency_id, user.team = role, agency, team  # as the demo has them now
