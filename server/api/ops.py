"""Health, readiness and metrics, for orchestrators and Prometheus."""

from __future__ import annotations

import contextlib
import shutil
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from server.api.deps import Public, ServicesDep
from server.backup.service import archives
from server.clock import now_ms
from server.config import ServerSettings
from server.db import Database
from server.exceptions import StoreError
from server.metrics import ServerMetrics
from server.registry.service import gateways

VERSION = "0.1.0"
router = APIRouter(tags=["ops"])


def _troubles(db: Database) -> list[str]:
    with db.session(commit=False) as session:
        return [t for g in gateways(session) for t in g.troubles]


def _gateway_gauges(db: Database, metrics: ServerMetrics) -> None:
    """Each gateway's backlog as it last reported it (from the database: any replica)."""
    now = now_ms()
    with db.session(commit=False) as session:
        for g in gateways(session):
            if g.revoked or g.backlog_reported_ms is None:
                continue
            age = (now - g.oldest_unsent_ms) / 1000 if g.oldest_unsent_ms else 0.0
            metrics.gateway_oldest_unsent.labels(g.id).set(age)
            metrics.gateway_outbox_depth.labels(g.id).set(g.outbox_depth or 0)
            metrics.gateway_dead_letters.labels(g.id).set(g.dead_letters or 0)
        for g in gateways(session):
            if not g.revoked and g.last_contact_ms:
                metrics.gateway_last_contact.labels(g.id).set(g.last_contact_ms / 1000)


def _files_gauges(settings: ServerSettings, metrics: ServerMetrics) -> None:
    """The newest backup's time and the free disk, for the backup and disk alerts."""
    newest = archives(settings.backups)
    metrics.backup_newest.set(newest[-1].created.timestamp() if newest else 0)
    for name, path in (("data", settings.data_dir), ("backups", settings.backups)):
        with contextlib.suppress(OSError):
            usage = shutil.disk_usage(path if path.exists() else path.parent)
            metrics.disk_free_ratio.labels(name).set(usage.free / usage.total)


@router.get("/healthz", dependencies=[Public])
async def healthz(services: ServicesDep) -> dict[str, Any]:
    """The process is up (always 200); ``troubles`` names gateways silent or stuck.

    A building whose gateway holds readings it cannot deliver makes the status
    ``degraded``; the answer stays 200 so that no orchestrator restarts a server that
    is not at fault.
    """
    try:
        found = await run_in_threadpool(_troubles, services.db)
    except SQLAlchemyError:
        found = ["the database does not answer"]
    return {"status": "degraded" if found else "ok", "version": VERSION, "troubles": found}


@router.get("/readyz", dependencies=[Public])
async def readyz(services: ServicesDep) -> JSONResponse:
    """The relational database and the reading store both answer."""
    checks: dict[str, str] = {}
    try:
        with services.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001  (any failure means not ready)
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        await services.store.ping()
        checks["readings"] = "ok"
    except StoreError as exc:
        checks["readings"] = f"error: {exc}"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)


@router.get("/metrics", dependencies=[Public])
async def metrics(services: ServicesDep) -> Response:
    """Prometheus metrics."""
    gauges = services.metrics
    try:
        await run_in_threadpool(_gateway_gauges, services.db, gauges)
        gauges.store_up.labels("database").set(1)
    except SQLAlchemyError:
        gauges.store_up.labels("database").set(0)
    try:
        await services.store.ping()
        gauges.store_up.labels("readings").set(1)
    except StoreError:
        gauges.store_up.labels("readings").set(0)
    await run_in_threadpool(_files_gauges, services.settings, gauges)
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
