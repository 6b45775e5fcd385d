from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from server.db import Database, init_schema
from server.readings.influx import InfluxReadingStore
from server.readings.sqlite import SQLiteReadingStore
from server.readings.store import ReadingStore
from tests.harness.services import Service


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
    """The relational store tests run on both databases."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'smartoffice.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A database at the newest schema."""
    database = Database(database_url)
    init_schema(database.engine)
    yield database
    database.close()
