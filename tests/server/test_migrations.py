"""Alembic migrations on SQLite and PostgreSQL: the schema they build is the models' schema."""

from __future__ import annotations

import inspect as pyinspect
import json

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

import server.models  # noqa: F401  (every table in the metadata)
from server.audit.models import AuditEntry
from server.auth.models import User, WebSession
from server.bookings.models import Booking
from server.db import MIGRATIONS, Base, Database, UnsafeMigration, init_schema
from server.privacy.models import PrivacyRequest


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
    init_schema(old.engine, all_stopped=True)
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
    # The rows as that schema had them (written in SQL: the models are the newest schema's).
    people: dict[str, int] = {}
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO buildings (id, name, timezone) "
                "VALUES ('kantor-m', 'M', 'Asia/Makassar')"
            )
        )
        for name, subject in (
            ("../users/siti", "nip-1"),
            ("Budi Santoso", "nip-2"),
            ("budi-santoso", None),  # a local account that already has the mapped name
            ("///", "nip-4"),
            ("rina", None),
        ):
            conn.execute(
                text(
                    "INSERT INTO users (uid, username, display_name, role, source, active, "
                    "share_location, created_ms, oidc_issuer, oidc_subject) VALUES (:uid, :n, "
                    ":n, 'employee', :src, true, false, 1, :iss, :sub)"
                ),
                {
                    "uid": f"u{len(people)}",
                    "n": name,
                    "src": "oidc" if subject else "local",
                    "iss": "https://idp" if subject else None,
                    "sub": subject,
                },
            )
            people[name] = conn.execute(
                text("SELECT id FROM users WHERE username = :n"), {"n": name}
            ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO bookings (building_id, space_code, space_kind, user_id, booked_by, "
                "start_ms, end_ms, state, created_ms, checked_in_actor) VALUES ('kantor-m', 'm1', "
                "'desk', :u, 'Budi Santoso', 1, 2, 'booked', 1, 'Budi Santoso')"
            ),
            {"u": people["Budi Santoso"]},
        )
        conn.execute(
            text(
                "INSERT INTO privacy_requests (username, user_uid, kind, note, state, created_ms) "
                "VALUES ('../users/siti', 'u0', 'erase', '', 'open', 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO web_sessions (id, user_id, created_ms, expires_ms) "
                "VALUES (:id, :u, 1, 1099511627776)"
            ),
            {"id": "s" * 64, "u": people["../users/siti"]},
        )
    init_schema(db.engine, all_stopped=True)
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


def test_an_installation_from_before_agencies_becomes_one_agency_and_works_as_before(
    empty_database_url: str,
) -> None:
    """Migration 0016: its employees are the people of one agency, ``instansi``; its staff
    stay platform-wide and its floors the building's, so every rule works as before."""
    db = Database(empty_database_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0015")
        conn.execute(
            text(
                "INSERT INTO buildings (id, name, timezone) "
                "VALUES ('kantor-a', 'A', 'Asia/Makassar')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO floors (building_id, code, name, level, width, height) "
                "VALUES ('kantor-a', 'l1', 'Lantai 1', 1, 40, 10)"
            )
        )
        for i, (name, role, team) in enumerate(
            (
                ("siti", "employee", "Pusdatin"),
                ("budi", "employee", "Biro Umum"),
                ("root", "admin", None),
                ("rina", "installer", None),
            )
        ):
            conn.execute(
                text(
                    "INSERT INTO users (uid, username, display_name, role, source, active, "
                    "share_location, created_ms, team) VALUES (:uid, :n, :n, :r, 'local', true, "
                    "false, 1, :t)"
                ),
                {"uid": f"u{i}", "n": name, "r": role, "t": team},
            )
        conn.execute(
            text(
                "INSERT INTO privacy_requests (username, user_uid, kind, note, state, created_ms) "
                "VALUES ('siti', 'u0', 'erase', '', 'open', 1)"
            )
        )
        for i, (user, state) in enumerate((("siti", "completed"), ("budi", "booked"))):
            conn.execute(
                text(
                    "INSERT INTO bookings (building_id, space_code, space_kind, user_id, "
                    "booked_by, start_ms, end_ms, created_ms, state) SELECT 'kantor-a', 'r1', "
                    "'room', id, :booker, :s, :e, 1, :state FROM users WHERE username = :who"
                ),
                {
                    "who": user,
                    "booker": user,
                    "s": 1_000_000 * (i + 1),
                    "e": 1_000_000 * (i + 1) + 3_600_000,
                    "state": state,
                },
            )
        before = conn.execute(text("SELECT username, role FROM users ORDER BY username")).all()
        booked = conn.execute(text("SELECT * FROM bookings ORDER BY id")).all()
    init_schema(db.engine, all_stopped=True)
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT id, name FROM agencies")).all() == [
            ("instansi", "Instansi")
        ]
        people = conn.execute(
            text("SELECT username, role, agency_id FROM users ORDER BY username")
        ).all()
        assert [(u, r) for u, r, _ in people] == [tuple(b) for b in before]
        assert {u: a for u, _, a in people} == {
            "budi": "instansi",
            "rina": None,
            "root": None,
            "siti": "instansi",
        }
        assert conn.execute(text("SELECT agency_id FROM floors")).scalars().all() == [None]
        # 0018: the open request is the agency's to answer; 0019: its teams are its units,
        # and nobody's team changed.
        asked = conn.execute(text("SELECT username, agency_id FROM privacy_requests")).all()
        assert [tuple(r) for r in asked] == [("siti", "instansi")]
        units = conn.execute(text("SELECT agency_id, name FROM units ORDER BY name")).all()
        assert [tuple(u) for u in units] == [("instansi", "Biro Umum"), ("instansi", "Pusdatin")]
        teams = conn.execute(text("SELECT username, team FROM users ORDER BY username")).all()
        assert dict(teams) == {"budi": "Biro Umum", "rina": None, "root": None, "siti": "Pusdatin"}
        # Every booking is as it was, column for column; a column added since (0022's
        # origin: who booked it, a person or a work plan) is empty.
        after = conn.execute(text("SELECT * FROM bookings ORDER BY id")).all()
        width = len(booked[0])
        assert [tuple(r)[:width] for r in after] == [tuple(b) for b in booked]
        assert all(v is None for r in after for v in tuple(r)[width:])
    db.close()


def test_an_empty_installation_gets_no_agency_it_did_not_ask_for(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    init_schema(db.engine)
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM agencies")).scalar() == 0
    db.close()


def _at(url: str, revision: str) -> Database:
    db = Database(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return db


def _revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def test_every_migration_says_whether_it_may_run_beside_the_release_before() -> None:
    for rev in ScriptDirectory(str(MIGRATIONS)).walk_revisions():
        assert isinstance(getattr(rev.module, "rolling", None), bool), rev.revision
        if rev.module.rolling:
            body = pyinspect.getsource(rev.module.upgrade)
            for unsafe in ("drop_column", "alter_column", "drop_table", "rename", "execute"):
                assert unsafe not in body, (rev.revision, unsafe)


def test_a_migration_unsafe_beside_older_replicas_waits_until_all_are_stopped(
    postgres_url: str,
) -> None:
    db = _at(postgres_url, "0018")
    try:
        with pytest.raises(UnsafeMigration, match=r"0019 \(Units") as refused:
            init_schema(db.engine)
        assert "--all-stopped" in str(refused.value)
        assert _revision(db) == "0018"  # nothing changed

        init_schema(db.engine, all_stopped=True)
        assert _revision(db) == ScriptDirectory(str(MIGRATIONS)).get_current_head()
    finally:
        db.close()


def test_migrations_safe_beside_older_replicas_run_as_the_new_release_starts(
    postgres_url: str,
) -> None:
    db = _at(postgres_url, "0020")
    try:
        init_schema(db.engine)
        assert _revision(db) == ScriptDirectory(str(MIGRATIONS)).get_current_head()
    finally:
        db.close()
