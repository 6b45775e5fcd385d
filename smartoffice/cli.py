"""``smartoffice``: run the server, the gateway, the simulator or the whole demo."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from smartoffice import backup as backup_commands
from smartoffice.admin import actor, agency_app, database, db_app, layout_app, user_app
from smartoffice.installer.commands import device_app, login_command

app = typer.Typer(
    help="IKN Smart Office: server, edge gateway, tools and demo.", no_args_is_help=True
)
registry_app = typer.Typer(help="Gateways and devices known to the server.", no_args_is_help=True)
app.add_typer(registry_app, name="registry")
app.add_typer(layout_app, name="layout")
app.add_typer(user_app, name="user")
app.add_typer(db_app, name="db")
app.add_typer(agency_app, name="agency")
app.add_typer(device_app, name="device")
energy_app = typer.Typer(help="Energy rollups and raw-reading retention.", no_args_is_help=True)
app.add_typer(energy_app, name="energy")
plans_app = typer.Typer(help="Work plans: their desks, and the forecast.", no_args_is_help=True)
app.add_typer(plans_app, name="plans")
app.command("login")(login_command)
app.command("backup")(backup_commands.backup)
app.command("restore")(backup_commands.restore)
app.command("backup-key")(backup_commands.backup_key)

LogLevel = Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")]


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Per-request and per-packet chatter of libraries drowns the platform's own log.
    for noisy in ("httpx", "amqtt", "transitions", "uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


@app.command()
def server(log_level: LogLevel = "INFO") -> None:
    """Run the API server (settings from SMARTOFFICE_* variables)."""
    import uvicorn
    from sqlalchemy.exc import SQLAlchemyError

    from server.app import create_app
    from server.config import ServerSettings
    from server.db import UnsafeMigration, check_rolling, make_engine

    _logging(log_level)
    settings = ServerSettings()
    engine = make_engine(settings.sqlalchemy_url)
    try:
        check_rolling(engine)
    except UnsafeMigration as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except SQLAlchemyError:  # not reachable yet: the server says so itself as it starts
        pass
    finally:
        engine.dispose()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=log_level.lower(),
        access_log=False,
        ssl_certfile=settings.tls_certfile,
        ssl_keyfile=settings.tls_keyfile,
        # The client address (login limits, audit) is a trusted proxy's word or the peer's.
        proxy_headers=bool(settings.trusted_proxies.strip()),
        forwarded_allow_ips=settings.trusted_proxies.strip() or None,
    )


@app.command()
def edge(
    log_level: LogLevel = "INFO",
    env_file: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="SMARTOFFICE_EDGE_* settings from this file too."
        ),
    ] = None,
) -> None:
    """Run the building gateway (settings from SMARTOFFICE_EDGE_* variables)."""
    from pydantic import ValidationError

    from edge.app import Gateway
    from edge.config import EdgeSettings

    _logging(log_level)
    try:
        settings = EdgeSettings(_env_file=env_file)
    except ValidationError as exc:  # said without a traceback; the inputs are never repeated
        problems = "\n".join(f"  {e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        raise SystemExit(f"The gateway's settings are not usable:\n{problems}") from None
    Gateway(settings).run()


@registry_app.command("import")
def registry_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Create or update gateways and devices from a JSON document (bulk, pre-planned fleets)."""
    from server.exceptions import RegistryError
    from server.registry.service import import_doc, parse_doc

    try:
        raw = json.loads(file.read_text())
        with database() as db, db.session() as session:
            counts = import_doc(session, parse_doc(raw), actor=actor())
    except json.JSONDecodeError as exc:
        typer.echo(f"{file}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}", err=True)
        raise typer.Exit(2) from exc
    except RegistryError as exc:
        typer.echo(f"{file}: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        f"devices: {counts['created']} created, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged"
    )


@registry_app.command("gateway-token")
def gateway_token(
    gateway_id: str,
    building: Annotated[str | None, typer.Option(help="The building it serves.")] = None,
) -> None:
    """Register a gateway (or rotate its token) and print the token once."""
    from server.registry.service import add_gateway

    with database() as db, db.session() as session:
        token = add_gateway(session, gateway_id=gateway_id, actor=actor(), building=building)
    typer.echo(token)


@registry_app.command("broker-hash")
def broker_hash(
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Print a broker password's Mosquitto hash (for SMARTOFFICE_EDGE_BMS_PASSWORD_HASH)."""
    from contracts.credentials import mosquitto_hash

    if len(password) < 16:
        typer.echo("use at least 16 characters", err=True)
        raise typer.Exit(2)
    typer.echo(mosquitto_hash(password))


@app.command("push-keys")
def push_keys() -> None:
    """Make a VAPID key pair for Web Push: the private key for SMARTOFFICE_VAPID_PRIVATE_KEY.

    Keep the private key secret; browsers subscribe with the public one, which the server
    derives and serves. A new key makes every browser subscribe again.
    """
    from server.notify.push import new_private_key, public_key

    private = new_private_key()
    typer.echo(f"SMARTOFFICE_VAPID_PRIVATE_KEY={private}")
    typer.echo(f"# public key (served at /api/v1/push/key): {public_key(private)}", err=True)


@plans_app.command("follow")
def plans_follow() -> None:
    """Book the office days of every plan now (as the server's job does every 10 minutes)."""
    from server.plans.follow import follow_all

    with database() as db:
        done = follow_all(db)
    typer.echo(
        f"{len(done.booked)} desk(s) booked, {len(done.released)} released, "
        f"{len(done.failed)} day(s) left unbooked"
    )
    for day, why in done.failed[:20]:
        typer.echo(f"  {day}: {why}")


@plans_app.command("forecast")
def plans_forecast(
    building: Annotated[str, typer.Argument(help="The building.")],
    days: Annotated[int, typer.Option(min=1, max=62, help="How many days from today.")] = 14,
) -> None:
    """People expected per floor and day, from bookings and work plans (for operators)."""
    from collections import defaultdict

    from server.calendar.dates import today_in
    from server.calendar.hours import building_tz
    from server.exceptions import NotFoundError
    from server.plans.forecast import forecast

    with database() as db, db.session(commit=False) as session:
        try:
            first = today_in(building_tz(session, building)[1])
        except NotFoundError as exc:
            typer.echo(f"no forecast: {exc}", err=True)
            raise typer.Exit(2) from exc
        found = forecast(session, building=building, first=first, days=days)
    for day, zones in sorted(found.items()):
        floors: dict[str, float] = defaultdict(float)
        booked: dict[str, int] = defaultdict(int)
        for z in zones.values():
            floors[z.floor] += z.expected
            booked[z.floor] += len(z.booked)
        said = "  ".join(f"{f}: {n:.1f} ({booked[f]} booked)" for f, n in sorted(floors.items()))
        typer.echo(f"{day.isoformat()} {day:%a}  {said}")


@energy_app.command("rollup")
def energy_rollup(
    building: Annotated[str | None, typer.Option(help="One building (default: all).")] = None,
    since: Annotated[
        str | None, typer.Option(help="Redo from this time (ISO, WITA when no offset).")
    ] = None,
) -> None:
    """Bring hourly rollups up to date, or rebuild them from raw readings since a time.

    The server does the former every few minutes; use --since after an upgrade or after
    importing old readings, while their raw readings are still kept.
    """
    import asyncio
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from server.config import ServerSettings
    from server.energy.rollup import Rollups
    from server.services import build_store, rollup_config
    from server.spaces.models import Building

    settings = ServerSettings()
    since_ms = None
    if since is not None:
        try:
            t = datetime.fromisoformat(since)
        except ValueError as exc:
            typer.echo(f"--since: {since!r} is not an ISO time, e.g. 2026-01-01T00:00", err=True)
            raise typer.Exit(2) from exc
        since_ms = int(
            (t if t.tzinfo else t.replace(tzinfo=ZoneInfo("Asia/Makassar"))).timestamp() * 1000
        )

    async def run() -> int:
        store = build_store(settings)
        try:
            with database() as db:
                with db.session(commit=False) as s:
                    known = list(s.scalars(select(Building.id).order_by(Building.id)))
                if building is not None and building not in known:
                    typer.echo(f"no building {building!r}; known: {', '.join(known)}", err=True)
                    raise typer.Exit(2)
                rollups = Rollups(db, store, rollup_config(settings))
                written = 0
                for b in [building] if building else known:
                    n = await rollups.roll(b, since_ms=since_ms)
                    typer.echo(f"{b}: {n} rollup rows written")
                    written += n
                return written
        finally:
            await store.close()

    asyncio.run(run())


@app.command()
def sim(
    host: str = "127.0.0.1",
    port: int = 1883,
    devices: Annotated[int, typer.Option(help="Desks; a room per ten, meters per zone.")] = 300,
    building: str = "kemenpan-a",
    base_topic: str = "ikn",
    start: Annotated[
        str | None, typer.Option(help="Simulated WITA start, e.g. 08:00 (default: now).")
    ] = None,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 1.0,
    registry_out: Annotated[Path | None, typer.Option(help="Write the fleet's registry.")] = None,
    layout_out: Annotated[Path | None, typer.Option(help="Write the fleet's layout.")] = None,
    gateway: str = "gw-demo",
) -> None:
    """Run the firmware's own node application as a simulated fleet against a broker."""
    import asyncio
    import signal

    from smartoffice.fleet import Fleet, SimClock, parse_start

    _logging("INFO")
    fleet = Fleet(
        building=building,
        desks=devices,
        host=host,
        port=port,
        base=base_topic,
        clock=SimClock(parse_start(start), speed),
    )
    if layout_out:
        layout_out.write_text(json.dumps(fleet.layout(building), indent=1))
        typer.echo(f"layout of {building} written to {layout_out}")
    if registry_out:
        registry_out.write_text(json.dumps(fleet.registry(gateway), indent=1))
        typer.echo(f"registry of {len(fleet.devices)} devices written to {registry_out}")
    if layout_out or registry_out:
        return

    async def run() -> None:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        typer.echo(f"{len(fleet.nodes)} nodes publishing to {host}:{port}; Ctrl-C stops")
        await fleet.run(stop)

    asyncio.run(run())


@app.command()
def demo(
    devices: Annotated[int, typer.Option(help="Simulated desks.")] = 100,
    port: int = 8000,
    data_dir: Path = Path("var/demo"),  # smartoffice.demo.DEMO_DIR (imported only to run)
) -> None:
    """The whole platform on embedded defaults with a simulated fleet."""
    from smartoffice.demo import run_demo

    _logging("INFO")
    run_demo(desks=devices, port=port, data_dir=data_dir)
