"""Operator commands that work on the server's database directly: layouts, users, schema."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import BaseModel

from server.roles import ROLES

if TYPE_CHECKING:
    from server.db import Database

layout_app = typer.Typer(help="Buildings, floors, zones, desks and rooms.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts and roles.", no_args_is_help=True)
db_app = typer.Typer(help="The relational database.", no_args_is_help=True)
agency_app = typer.Typer(
    help="Agencies (instansi): the ministries whose people work in the buildings.",
    no_args_is_help=True,
)


def actor() -> str:
    """How the audit log names whoever runs the command line."""
    return f"cli:{getpass.getuser()}"


@contextmanager
def database(*, all_stopped: bool = False) -> Iterator[Database]:
    """The configured database, migrated to the newest schema."""
    from server.config import ServerSettings
    from server.db import Database, UnsafeMigration, init_schema

    settings = ServerSettings()
    if "SMARTOFFICE_DATA_DIR" not in os.environ and not settings.database_url:
        from smartoffice.demo import DEMO_DIR, running_demo

        if running_demo(DEMO_DIR):  # the laptop's demo: its people are made in its database
            typer.echo(f"(a demo is running: using its database in {DEMO_DIR})", err=True)
            settings = ServerSettings(data_dir=DEMO_DIR)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.sqlalchemy_url)
    try:
        try:
            init_schema(db.engine, all_stopped=all_stopped)
        except UnsafeMigration as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        yield db
    finally:
        db.close()


@db_app.command("upgrade")
def db_upgrade(
    all_stopped: Annotated[
        bool,
        typer.Option(
            "--all-stopped",
            help="Every server replica is stopped: run migrations unsafe beside older ones too.",
        ),
    ] = False,
) -> None:
    """Apply every pending migration (the server also does this when it starts).

    During a rolling upgrade (older replicas still serving) only migrations safe beside
    them run; one that is not is named, and nothing changes until --all-stopped.
    """
    with database(all_stopped=all_stopped):
        typer.echo("database schema is up to date")


@layout_app.command("import")
def layout_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    dry_run: Annotated[bool, typer.Option(help="Only show what would change.")] = False,
) -> None:
    """Create or update a whole building from a JSON, YAML or CSV layout."""
    from server.audit.service import record
    from server.exceptions import LayoutError
    from server.registry.layout import import_layout
    from server.spaces.loader import load_layout

    try:
        doc, plans = load_layout(file)
    except LayoutError as exc:
        typer.echo(f"{file}: {exc}", err=True)
        raise typer.Exit(2) from exc
    with database() as db:
        try:
            with db.session(commit=not dry_run) as session:
                changes = import_layout(session, doc, plans=plans)
                if changes.changed and not dry_run:
                    record(
                        session,
                        actor=actor(),
                        action="layout.import",
                        target_kind="building",
                        target_id=doc.building.id,
                        file=file.name,
                        created=changes.created,
                        updated=changes.updated,
                        removed=changes.removed,
                    )
        except LayoutError as exc:
            typer.echo(f"{file}: {exc}", err=True)
            raise typer.Exit(2) from exc
    verb = "would change" if dry_run else "changed"
    typer.echo(
        f"building {changes.building}: " + ("nothing to change" if not changes.changed else verb)
    )
    for what in ("floors", "zones", "desks", "rooms"):
        typer.echo(
            f"  {what:7} {changes.created[what]:4} created  {changes.updated[what]:4} updated  "
            f"{changes.removed[what]:4} removed  {changes.unchanged[what]:4} unchanged"
        )


@user_app.command("create")
def user_create(
    username: str,
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}.")] = "employee",
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    team: Annotated[
        str | None,
        typer.Option("--unit", "--team", help="Their unit (unit kerja): one of the agency's."),
    ] = None,
    email: str | None = None,
    agency: Annotated[
        str | None, typer.Option(help="The agency the person works for (its code).")
    ] = None,
    building: Annotated[
        list[str] | None,
        typer.Option(help="Limit an installer to this building (repeat for several)."),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input instead of a prompt.")
    ] = False,
) -> None:
    """Create a local account (the first admin is made this way)."""
    from pydantic import ValidationError

    from server.auth.schemas import UserCreate
    from server.auth.service import create_user
    from server.exceptions import ConflictError, NotFoundError

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        new = UserCreate(
            username=username,
            password=password,
            role=role,
            display_name=name or username,
            team=team,
            email=email,
            agency=agency,
            buildings=building or None,
        )
    except ValidationError as exc:
        from contracts.payloads import describe

        typer.echo(f"not created: {describe(exc)}", err=True)
        raise typer.Exit(2) from exc
    with database() as db:
        try:
            with db.session() as session:
                user = create_user(session, actor=actor(), new=new)
        except (ConflictError, NotFoundError) as exc:
            typer.echo(f"not created: {exc}", err=True)
            raise typer.Exit(2) from exc
    where = f" in {', '.join(user.buildings)}" if user.buildings else ""
    of = f", {user.agency}" if user.agency else ""
    typer.echo(f"created {user.username} ({user.role}{of}{where})")


AgencyNameEn = Annotated[str | None, typer.Option("--name-en", help="Its name in English.")]
Controller = Annotated[
    str | None,
    typer.Option(help="The controller of its people's personal data, for the privacy notice."),
]
Contact = Annotated[str | None, typer.Option(help="Its data protection officer's contact.")]


def _checked(model: type[BaseModel], **fields: object) -> Any:
    """``model`` of ``fields``, or exit 2 saying what was wrong."""
    from pydantic import ValidationError

    from contracts.payloads import describe

    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        typer.echo(f"not saved: {describe(exc)}", err=True)
        raise typer.Exit(2) from exc


@agency_app.command("add")
def agency_add(
    code: Annotated[str, typer.Argument(help="Its code, e.g. kemenko-pmk.")],
    name: Annotated[str, typer.Option("--name", help="Its name in Bahasa Indonesia.")],
    name_en: AgencyNameEn = None,
    controller: Controller = None,
    contact: Contact = None,
) -> None:
    """Add an agency."""
    from server.agencies import service
    from server.agencies.schemas import AgencyCreate
    from server.exceptions import ConflictError

    new = _checked(
        AgencyCreate, id=code, name=name, name_en=name_en, controller=controller, contact=contact
    )
    with database() as db:
        try:
            with db.session() as session:
                made = service.create(session, actor=actor(), new=new)
        except ConflictError as exc:
            typer.echo(f"not added: {exc}", err=True)
            raise typer.Exit(2) from exc
    typer.echo(f"added {made.id}: {made.name}")


@agency_app.command("update")
def agency_update(
    code: Annotated[str, typer.Argument(help="Its code.")],
    name: Annotated[
        str | None, typer.Option("--name", help="Its name in Bahasa Indonesia.")
    ] = None,
    name_en: AgencyNameEn = None,
    controller: Controller = None,
    contact: Contact = None,
) -> None:
    """Change what is given of an agency (an empty value clears it); the rest stays."""
    from server.agencies import service
    from server.agencies.schemas import AgencyDoc
    from server.exceptions import NotFoundError

    given = {"name": name, "name_en": name_en, "controller": controller, "contact": contact}
    with database() as db:
        try:
            with db.session() as session:
                now = service.agency(session, code).model_dump(include=set(given))
                now.update({k: v or None for k, v in given.items() if v is not None})
                doc = _checked(AgencyDoc, **now)
                saved = service.update(session, actor=actor(), code=code, doc=doc)
        except NotFoundError as exc:
            typer.echo(f"not changed: {exc}", err=True)
            raise typer.Exit(2) from exc
    typer.echo(f"changed {saved.id}: {saved.name}")


@agency_app.command("unit")
def agency_unit(
    code: Annotated[str, typer.Argument(help="The agency's code.")],
    names: Annotated[list[str], typer.Argument(help="Units (unit kerja) to add, by name.")],
) -> None:
    """Add units to an agency: its people then belong to one of them."""
    from server.agencies import service
    from server.exceptions import ConflictError, NotFoundError

    with database() as db:
        try:
            with db.session() as session:
                for name in names:
                    now = service.add_unit(session, actor=actor(), agency=code, name=name)
        except (ConflictError, NotFoundError) as exc:
            typer.echo(f"not added: {exc}", err=True)
            raise typer.Exit(2) from exc
    typer.echo(f"{code}: {', '.join(now)}")


@agency_app.command("list")
def agency_list() -> None:
    """Every agency, with who answers for its people's data, and its units."""
    from server.agencies import service

    with database() as db, db.session(commit=False) as session:
        found = [(a, service.units(session, a.id)) for a in service.agencies(session)]
    for a, units in found:
        typer.echo(f"{a.id:24} {a.name}  ({a.controller or 'controller not set'})")
        if units:
            typer.echo(f"{'':24} units: {', '.join(units)}")
    if not found:
        typer.echo("no agency yet: smartoffice agency add CODE --name NAME")
