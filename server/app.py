"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio.to_thread
import httpx
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from server.api.audit import router as audit_router
from server.api.auth import router as auth_router
from server.api.bookings import refusal_response
from server.api.bookings import router as bookings_router
from server.api.deps import Public
from server.api.energy import router as energy_router
from server.api.ingest import router as ingest_router
from server.api.readings import router as readings_router
from server.api.registry import router as registry_router
from server.api.spaces import router as spaces_router
from server.auth.tokens import LocalTokens, OidcVerifier
from server.bookings.availability import AvailabilityCache
from server.bookings.events import EventHub
from server.bookings.presence import DeskMonitor
from server.cache import TableCache
from server.config import ServerSettings
from server.db import Database, init_schema
from server.energy.accounting import Bands, Limits
from server.energy.actions import ActionConfig, ZoneActions
from server.energy.comfort import AlertConfig
from server.energy.rollup import RollupConfig, Rollups
from server.energy.runner import EnergyRunner
from server.exceptions import (
    AuthError,
    ConflictError,
    DatabaseError,
    Forbidden,
    LayoutError,
    NotFoundError,
    QueryError,
    Refusal,
    RegistryError,
    StoreError,
)
from server.ingest.service import IngestService
from server.limits import BodyLimit
from server.metrics import ServerMetrics
from server.notify.mail import SmtpSender, deliver
from server.readings.influx import InfluxReadingStore
from server.readings.sqlite import SQLiteReadingStore
from server.readings.store import ReadingStore, StoredReading
from server.registry.downlink import Notifier
from server.registry.service import gateways

logger = logging.getLogger(__name__)
VERSION = "0.1.0"


def build_store(settings: ServerSettings) -> ReadingStore:
    """The reading store the settings choose."""
    if settings.readings_backend == "influx":
        return InfluxReadingStore(
            url=settings.influx_url,
            database=settings.influx_database,
            retention_policy=settings.influx_retention_policy,
            rollup_retention_policy=settings.influx_rollup_retention_policy,
            raw_retention_days=settings.raw_retention_days,
            precision=settings.influx_precision,
            token=settings.influx_token.get_secret_value() if settings.influx_token else None,
            username=settings.influx_username,
            password=(
                settings.influx_password.get_secret_value() if settings.influx_password else None
            ),
            timeout_s=settings.influx_timeout_s,
        )
    return SQLiteReadingStore(settings.sqlite_readings_path)


def jwt_secret(settings: ServerSettings) -> str:
    """The token-signing secret: from the settings, or (development) kept in ``data_dir``."""
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value()
    path = settings.data_dir / "jwt-secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        logger.warning("no SMARTOFFICE_JWT_SECRET: made one in %s (development only)", path)
    return path.read_text().strip()


def build_oidc(settings: ServerSettings) -> OidcVerifier | None:
    """The identity-provider verifier, when an issuer is configured."""
    if settings.oidc_issuer is None:
        return None
    if not settings.oidc_audience:
        raise ValueError("SMARTOFFICE_OIDC_AUDIENCE is required with SMARTOFFICE_OIDC_ISSUER")
    jwks_url = settings.oidc_jwks_url
    if jwks_url is None:
        discovery = settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            jwks_url = str(httpx.get(discovery, timeout=10).raise_for_status().json()["jwks_uri"])
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            raise ValueError(
                f"cannot read the identity provider's configuration at {discovery}: {exc}; "
                "set SMARTOFFICE_OIDC_JWKS_URL"
            ) from exc
    return OidcVerifier(
        issuer=settings.oidc_issuer,
        audience=settings.oidc_audience,
        jwks_url=jwks_url,
        role_map=settings.oidc_role_map,
        default_role=settings.oidc_default_role,
        username_claim=settings.oidc_username_claim,
        groups_claim=settings.oidc_groups_claim,
    )


def _mailer(settings: ServerSettings, db: Database) -> Callable[[], int] | None:
    """Sends queued booking mail, when an SMTP server is configured."""
    if settings.smtp_host is None:
        return None
    sender = SmtpSender(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        starttls=settings.smtp_starttls,
    )
    return lambda: deliver(db, sender, settings.mail_from)


async def repeat(step: Callable[[], Awaitable[object]], every_s: float, what: str) -> None:
    """Run ``step`` every ``every_s`` forever, surviving any one failure."""
    while True:
        try:
            await step()
        except Exception:
            logger.exception("%s failed; trying again in %.0f s", what, every_s)
        await asyncio.sleep(every_s)


async def _sweep(
    monitor: DeskMonitor,
    notifier: Notifier,
    mailer: Callable[[], int] | None,
    store: ReadingStore,
) -> None:
    """One booking sweep.

    Releases no-shows and vacated desks, refreshes LEDs, sends mail, and writes finished
    bookings' outcomes to the reading store.
    """
    for gateway in await asyncio.to_thread(monitor.sweep):
        notifier.notify(gateway)
    if mailer is not None:
        await asyncio.to_thread(mailer)
    points, ids = await asyncio.to_thread(monitor.outcomes)
    if points:
        # A StoreError is retried at the next sweep; a refused point (our own, so a bug)
        # is logged and not retried for ever.
        for refused in await store.write(points):
            logger.error("booking outcome %s not stored: %s", ids[refused.index], refused.reason)
        await asyncio.to_thread(monitor.mark_exported, ids)


def _troubles(db: Database) -> list[str]:
    with db.session(commit=False) as session:
        return [t for g in gateways(session) for t in g.troubles]


def _gateway_gauges(db: Database, metrics: ServerMetrics) -> None:
    """Each gateway's backlog as it last reported it (from the database: any replica)."""
    now = int(time.time() * 1000)
    with db.session(commit=False) as session:
        for g in gateways(session):
            if g.revoked or g.backlog_reported_ms is None:
                continue
            age = (now - g.oldest_unsent_ms) / 1000 if g.oldest_unsent_ms else 0.0
            metrics.gateway_oldest_unsent.labels(g.id).set(age)
            metrics.gateway_outbox_depth.labels(g.id).set(g.outbox_depth or 0)
            metrics.gateway_dead_letters.labels(g.id).set(g.dead_letters or 0)


def action_config(settings: ServerSettings) -> ActionConfig:
    """How zones are run, from the settings."""
    return ActionConfig(
        mode=settings.energy_actions, precondition_minutes=settings.precondition_minutes,
        vacancy_minutes=settings.vacancy_minutes, normal_setpoint_c=settings.normal_setpoint_c,
        setback_setpoint_c=settings.setback_setpoint_c,
        setback_lighting_pct=settings.setback_lighting_pct,
        valid_minutes=settings.zone_command_valid_minutes,
    )  # fmt: skip


def rollup_config(settings: ServerSettings) -> RollupConfig:
    """How readings become hourly rollups, from the settings."""
    return RollupConfig(
        limits=Limits(max_gap_ms=int(settings.energy_max_gap_hours * 3_600_000)),
        bands=Bands(co2=tuple(settings.co2_levels_ppm), temp_c=settings.temp_band_c,
                    rh_pct=settings.rh_band_pct),
        raw_retention_days=settings.raw_retention_days,
    )  # fmt: skip


def create_app(settings: ServerSettings) -> FastAPI:
    """Build the app; stores are opened in the lifespan, so building it is cheap."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # Blocking work (the database) runs on this many threads; more threads only wait
        # longer for Python's interpreter lock (see docs/benchmarks.md, Bookings).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        db = Database(settings.sqlalchemy_url)
        init_schema(db.engine)
        store = build_store(settings)
        if isinstance(store, InfluxReadingStore) and settings.influx_create_database:
            try:
                await store.create_database()
            except StoreError as exc:
                logger.warning("could not create the InfluxDB database (yet): %s", exc)
        metrics = ServerMetrics()
        app.state.settings = settings
        app.state.db = db
        app.state.store = store
        app.state.tokens = LocalTokens(jwt_secret(settings), settings.access_token_minutes * 60)
        app.state.oidc = build_oidc(settings)
        app.state.downlink = Notifier(asyncio.get_running_loop())
        app.state.metrics = metrics
        app.state.events = EventHub(asyncio.get_running_loop())
        db.cache_s = settings.cache_s
        app.state.availability = AvailabilityCache(db)
        app.state.accounts = TableCache(db, ("users",), size=10_000)
        monitor = DeskMonitor(
            db=db, notifier=app.state.downlink, events=app.state.events.publish,
            mail=settings.smtp_host is not None, reminder_minutes=settings.reminder_minutes,
        )  # fmt: skip
        app.state.monitor = monitor
        rollups = Rollups(
            db, store, rollup_config(settings),
            on_progress=lambda b, ms: metrics.rollup_done_until.labels(b).set(ms / 1000),
        )  # fmt: skip
        app.state.rollups = rollups

        async def on_stored(readings: list[StoredReading]) -> None:
            await monitor.on_stored(readings)
            await asyncio.to_thread(rollups.mark_late, readings)

        app.state.ingest = IngestService(
            db=db,
            store=store,
            metrics=metrics,
            dedup_window_days=settings.dedup_window_days,
            on_stored=on_stored,
        )
        sweeper = (
            asyncio.create_task(
                repeat(
                    partial(_sweep, monitor, app.state.downlink, _mailer(settings, db), store),
                    settings.booking_sweep_s,
                    "booking sweep",
                )  # fmt: skip
            )
            if settings.sweeper
            else None
        )
        app.state.zone_actions = ZoneActions(action_config(settings))
        runner = EnergyRunner(
            db=db, store=store, actions=app.state.zone_actions,
            alerts=AlertConfig(level_ppm=settings.co2_alert_ppm,
                               top_ppm=max(settings.co2_levels_ppm),
                               minutes=settings.co2_alert_minutes),
            notify=app.state.downlink.notify, events=app.state.events.publish, metrics=metrics,
        )  # fmt: skip
        energy = (
            [
                asyncio.create_task(repeat(rollups.run, settings.rollup_every_s, "rollups")),
                asyncio.create_task(
                    repeat(runner.tick, settings.energy_sweep_s, "energy evaluation")
                ),  # fmt: skip
            ]
            if settings.sweeper
            else []
        )
        logger.info("server ready: readings in %s%s", settings.readings_backend,
                    "" if sweeper else "; the booking sweep runs in another replica")  # fmt: skip
        try:
            yield
        finally:
            for task in (sweeper, *energy):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await store.close()
            db.close()

    app = FastAPI(
        title="IKN Smart Office",
        version=VERSION,
        lifespan=lifespan,
        description="Flexible desks, sensors and energy for the government offices of IKN.",
    )
    app.add_middleware(BodyLimit)
    app.include_router(auth_router)
    app.include_router(spaces_router)
    app.include_router(registry_router)
    app.include_router(bookings_router)
    app.include_router(ingest_router)
    app.include_router(readings_router)
    app.include_router(audit_router)
    app.include_router(energy_router)

    @app.exception_handler(StoreError)
    @app.exception_handler(DatabaseError)
    async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
        # The store's own words stay in the log: they may echo what was sent, and they
        # tell a caller nothing it can act on.
        logger.error("storage failed: %s", exc)
        which = "reading store" if isinstance(exc, StoreError) else "database"
        return JSONResponse(
            {
                "detail": f"the {which} is unavailable; try again later. Nothing was "
                "acknowledged: sending the same request again is safe."
            },
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Never the input itself: a 10 MB body must not come back as a 20 MB answer.
        errors = exc.errors()
        detail = [
            {
                "loc": [str(p)[:64] for p in err["loc"][:8]],
                "msg": str(err["msg"])[:200],
                "type": err["type"],
            }
            for err in errors[:10]
        ]
        if len(errors) > 10:
            detail.append({"loc": [], "msg": f"and {len(errors) - 10} more", "type": "more"})
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(QueryError)
    async def _query_error(_: Request, exc: QueryError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    statuses: dict[type[Exception], int] = {
        RegistryError: 400,
        LayoutError: 400,
        NotFoundError: 404,
        ConflictError: 409,
        Forbidden: 403,
        AuthError: 401,
    }

    async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc)},
            status_code=next(s for k, s in statuses.items() if isinstance(exc, k)),
        )

    for kind in statuses:
        app.add_exception_handler(kind, _domain_error)
    app.add_exception_handler(Refusal, refusal_response)

    @app.get("/healthz", tags=["ops"], dependencies=[Public])
    async def healthz(request: Request) -> dict[str, Any]:
        """The process is up (always 200); ``troubles`` names gateways silent or stuck.

        A building whose gateway holds readings it cannot deliver makes the status
        ``degraded``; the answer stays 200 so that no orchestrator restarts a server that
        is not at fault.
        """
        try:
            found = await asyncio.to_thread(_troubles, request.app.state.db)
        except SQLAlchemyError:
            found = ["the database does not answer"]
        return {"status": "degraded" if found else "ok", "version": VERSION, "troubles": found}

    @app.get("/readyz", tags=["ops"], dependencies=[Public])
    async def readyz(request: Request) -> JSONResponse:
        """The relational database and the reading store both answer."""
        checks: dict[str, str] = {}
        try:
            with request.app.state.db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001  (any failure means not ready)
            checks["database"] = f"error: {exc.__class__.__name__}"
        try:
            await request.app.state.store.ping()
            checks["readings"] = "ok"
        except StoreError as exc:
            checks["readings"] = f"error: {exc}"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["ops"], dependencies=[Public])
    async def metrics(request: Request) -> Response:
        """Prometheus metrics."""
        with contextlib.suppress(SQLAlchemyError):
            state = request.app.state
            await asyncio.to_thread(_gateway_gauges, state.db, state.metrics)
        return Response(
            generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
        )

    return app
