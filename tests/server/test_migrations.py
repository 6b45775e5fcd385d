"""Alembic migrations on SQLite and PostgreSQL: the schema they build is the models' schema."""

from __future__ import annotations

import json

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

import server.models  # noqa: F401  (every table in the metadata)
from harness.layouts import one_floor
from server.audit.models import AuditEntry
from server.auth.models import User, WebSession
from server.bookings.models import Booking
from server.db import MIGRATIONS, Base, Database, init_schema
from server.privacy.models import PrivacyRequest
from server.registry.layout import import_layout
from server.spaces.loader import parse_layout
from server.spaces.service import find_desk_id


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


def test_usernames_from_before_the_one_syntax_are_renamed_and_their_records_follow(
    empty_database_url: str,
) -> None:
    """Migration 0015: odd provider names of old are mapped as new ones are; nothing is lost."""
    db = Database(empty_database_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0014")
    with db.session() as s:
        import_layout(s, parse_layout(one_floor("kantor-m", "l1", ["m1"])))
        desk = find_desk_id(s, "kantor-m", "m1")
        people = {}
        for name, subject in (
            ("../users/siti", "nip-1"),
            ("Budi Santoso", "nip-2"),
            ("budi-santoso", None),  # a local account that already has the mapped name
            ("///", "nip-4"),
            ("rina", None),
        ):
            user = User(
                username=name,
                display_name=name,
                role="employee",
                created_ms=1,
                source="oidc" if subject else "local",
                oidc_issuer="https://idp" if subject else None,
                oidc_subject=subject,
            )
            s.add(user)
            s.flush()
            people[name] = user.id
        s.add(
            Booking(
                building_id="kantor-m",
                desk_id=desk,
                space_code="m1",
                space_kind="desk",
                user_id=people["Budi Santoso"],
                booked_by="Budi Santoso",
                start_ms=1,
                end_ms=2,
                created_ms=1,
                checked_in_actor="Budi Santoso",
            )
        )
        s.add(
            PrivacyRequest(
                username="../users/siti", kind="erase", note="", state="open", created_ms=1
            )
        )
        s.add(
            WebSession(id="s" * 64, user_id=people["../users/siti"], created_ms=1, expires_ms=2**40)
        )
    init_schema(db.engine)
    with db.session(commit=False) as s:
        names = {u.id: u.username for u in s.scalars(select(User))}
        assert names[people["../users/siti"]] == "users-siti"
        assert names[people["Budi Santoso"]] == "budi-santoso-2"  # the name was taken
        assert names[people["budi-santoso"]] == "budi-santoso"  # untouched
        assert names[people["///"]].startswith("sso-") and len(names[people["///"]]) == 16
        assert names[people["rina"]] == "rina"
        booking = s.scalars(select(Booking)).one()
        assert (booking.booked_by, booking.checked_in_actor) == ("budi-santoso-2",) * 2
        assert s.scalars(select(PrivacyRequest.username)).one() == "users-siti"
        assert s.scalars(select(WebSession)).all() == []  # signs in again, by the new name
        renames = {
            e.target_id: json.loads(e.detail)["was"]
            for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "user.rename"))
        }
        assert renames == {
            "users-siti": "../users/siti",
            "budi-santoso-2": "Budi Santoso",
            names[people["///"]]: "///",
        }
    db.close()
