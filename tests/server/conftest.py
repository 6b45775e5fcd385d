from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from harness.services import Service
from server.auth.schemas import UserCreate
from server.auth.service import Principal, create_user
from server.db import Database
from server.readings.influx import InfluxReadingStore
from server.readings.sqlite import SQLiteReadingStore
from server.readings.store import ReadingStore
from server.registry.layout import import_layout
from server.spaces.loader import parse_layout
from tests.server.office import OFFICE
from tests.server.sitting import seat_building


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sqlite", "influx"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def store(
    store_kind: str, tmp_path: Path, request: pytest.FixtureRequest, unique_name: str
) -> AsyncIterator[ReadingStore]:
    if store_kind == "sqlite":
        s: ReadingStore = SQLiteReadingStore(tmp_path / "readings.db")
    else:
        influxd: Service = request.getfixturevalue("influxd")
        influx = InfluxReadingStore(url=f"http://127.0.0.1:{influxd.port}", database=unique_name)
        await influx.create_database()
        s = influx
    yield s
    await s.close()


@pytest.fixture
def influx_query(influxd: Service) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://127.0.0.1:{influxd.port}") as client:
        yield client


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of the test's own at the newest schema, on both engines.

    Each is a copy of one migrated once per run (a file copy; CREATE DATABASE ... TEMPLATE),
    not the migrations run again for every test.
    """
    if request.param == "sqlite":
        path = tmp_path / "smartoffice.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        return f"sqlite:///{path}"
    return str(request.getfixturevalue("migrated_postgres_url"))


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of the test's own, on both engines."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'smartoffice.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A database at the newest schema."""
    database = Database(database_url)
    yield database
    database.close()


@pytest.fixture
def people(db: Database) -> dict[str, Principal]:
    """The small office (tests/server/office.py) and its people: siti and budi (employees of
    two teams) and rina (a facility manager)."""
    with db.session() as s:
        import_layout(s, parse_layout(OFFICE))
        made = {}
        for name, role, team in (
            ("siti", "employee", "Pusdatin"),
            ("budi", "employee", "Biro Hukum"),
            ("rina", "facility_manager", None),
        ):
            new = UserCreate(
                username=name, password="p" * 12, role=role, display_name=name, team=team
            )
            u = create_user(s, actor="t", new=new)
            made[name] = Principal(u.username, u.role, u.display_name, team)
    return made


@pytest.fixture
def seated(db: Database) -> Database:
    """``db`` with kantor-p, the personal-data tests' building (tests/server/sitting.py)."""
    return seat_building(db)
