"""Alembic migrations on SQLite and PostgreSQL: the schema they build is the models' schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

import server.models  # noqa: F401  (every table in the metadata)
from server.db import MIGRATIONS, Base, Database, init_schema


def test_migrations_build_exactly_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head


def test_running_the_migrations_again_changes_nothing(db: Database) -> None:
    init_schema(db.engine)
    init_schema(db.engine)
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1


def test_a_database_from_before_migrations_is_stamped_and_upgraded(
    empty_database_url: str,
) -> None:
    # Issue 2's servers made their three tables with create_all and kept no version.
    old = Database(empty_database_url)
    with old.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE gateways (id VARCHAR(32) PRIMARY KEY, token_sha256 VARCHAR(64) "
                "NOT NULL UNIQUE, created_ms BIGINT NOT NULL, last_ingest_ms BIGINT)"
            )
        )
        conn.execute(
            text(
                "CREATE TABLE devices (id VARCHAR(32) PRIMARY KEY, kind VARCHAR(16) NOT NULL, "
                "gateway_id VARCHAR(32) REFERENCES gateways(id) ON DELETE SET NULL, "
                "building VARCHAR(32), floor VARCHAR(32), zone VARCHAR(32), space VARCHAR(32), "
                "space_kind VARCHAR(16), online BOOLEAN NOT NULL, last_seen_ms BIGINT, "
                "status_ms BIGINT, fw VARCHAR(32), boot INTEGER)"
            )
        )
        conn.execute(
            text(
                "CREATE TABLE ingest_seen (device VARCHAR(32), boot INTEGER, seq INTEGER, "
                "stored_ms BIGINT NOT NULL, PRIMARY KEY (device, boot, seq))"
            )
        )
        conn.execute(text("INSERT INTO gateways VALUES ('gw-old', 'x', 1, NULL)"))
        conn.execute(
            text(
                "INSERT INTO devices (id, kind, gateway_id, online) "
                "VALUES ('desk-old', 'desk', 'gw-old', false)"
            )
        )
    init_schema(old.engine)
    with old.engine.connect() as conn:
        assert "users" in inspect(conn).get_table_names()
        row = conn.execute(text("SELECT id, gaps FROM devices")).one()
        assert tuple(row) == ("desk-old", 0)
    old.close()


def test_postgres_refuses_overlapping_bookings_of_a_desk_by_itself(postgres_url: str) -> None:
    db = Database(postgres_url)
    init_schema(db.engine)
    with db.engine.connect() as conn:
        names = conn.execute(
            text("SELECT conname FROM pg_constraint WHERE conrelid = 'bookings'::regclass")
        ).scalars()
        assert {"bookings_desk_id_no_overlap", "bookings_room_id_no_overlap"} <= set(names)
    db.close()
