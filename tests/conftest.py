"""Session-wide private services and the cleanup check every test runs under."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from harness import services
from harness.smtp import Inbox
from server.db import Database, init_schema

# Linux's prctl option: orphans of our children become ours, not init's.
PR_SET_CHILD_SUBREAPER = 36


def _children() -> list[str]:
    """This process's live children, as ``pid (name)``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == os.getpid() and state != "Z":
            found.append(f"{entry.name} ({stat[stat.index('(') + 1 : stat.rindex(')')]})")
    return found


@pytest.fixture(scope="session", autouse=True)
def nothing_left_running() -> Iterator[None]:
    """Every process the tests start is gone when they end, orphans included.

    This process adopts the orphans of the processes it starts (a subreaper), so a broker
    left behind by a demo the tests killed is seen here, and the run fails naming it.
    """
    if not sys.platform.startswith("linux"):
        yield
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    yield
    deadline = time.monotonic() + 10
    while (left := _children()) and time.monotonic() < deadline:
        time.sleep(0.2)
    for child in left:
        os.kill(int(child.split()[0]), signal.SIGKILL)
    assert left == [], f"processes the tests started are still running: {left}"


@pytest.fixture(scope="session")
def services_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def mosquitto(services_dir: Path) -> Iterator[services.Service]:
    with services.running(services.mosquitto(services_dir / "mosquitto")) as svc:
        yield svc


@pytest.fixture(scope="session")
def influxd(services_dir: Path) -> Iterator[services.Service]:
    with services.running(services.influxd(services_dir / "influxd")) as svc:
        yield svc


@pytest.fixture(scope="session")
def postgres(services_dir: Path) -> Iterator[services.Service]:
    with services.running(services.postgres(services_dir / "postgres")) as svc:
        yield svc


SHARED_SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "schemas"


def shared_schema(name: str) -> Path:
    """A reference schema from ``../shared/schemas`` beside the checkout.

    CI always lays shared/ beside the clone, so there a missing schema fails the run;
    a checkout elsewhere without it skips the one test that needs it.
    """
    path = SHARED_SCHEMAS / name
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI must lay shared/ beside the checkout")
        pytest.skip(f"{path} not found (shared/ is not beside this checkout)")
    return path


@pytest.fixture
def unique_name() -> str:
    """A name no other test uses: for topics, databases and device ids."""
    return "t" + uuid.uuid4().hex[:10]


def _create_database(postgres: services.Service, name: str, template: str | None = None) -> str:
    import psycopg

    with psycopg.connect(
        f"host=127.0.0.1 port={postgres.port} user=postgres dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return f"postgresql+psycopg://postgres@127.0.0.1:{postgres.port}/{name}"


@pytest.fixture
def postgres_url(postgres: services.Service, unique_name: str) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return _create_database(postgres, unique_name)


@pytest.fixture(scope="session")
def migrated_postgres(postgres: services.Service) -> str:
    """A PostgreSQL database at the newest schema, migrated once per run, to copy."""
    name = "migrated_" + uuid.uuid4().hex[:8]
    db = Database(_create_database(postgres, name))
    init_schema(db.engine)
    db.close()  # CREATE DATABASE ... TEMPLATE needs the template without connections
    return name


@pytest.fixture
def migrated_postgres_url(
    postgres: services.Service, migrated_postgres: str, unique_name: str
) -> str:
    """A PostgreSQL database of its own for one test, at the newest schema."""
    return _create_database(postgres, unique_name, template=migrated_postgres)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the newest schema, migrated once per run, to copy."""
    path = tmp_path_factory.mktemp("migrated") / "smartoffice.db"
    db = Database(f"sqlite:///{path}")
    init_schema(db.engine)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # all of it in the one file
    db.close()
    return path


@pytest.fixture(autouse=True)
def verify_cleanup() -> Iterator[None]:
    """Fail a test that leaves threads (daemon or not) running behind it."""
    before = set(threading.enumerate())
    yield
    deadline = threading.Event()
    for _ in range(50):
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra:
            return
        deadline.wait(0.1)
    pytest.fail(f"threads left running: {[t.name for t in extra]}")


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = services.free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()
