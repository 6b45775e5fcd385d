"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from server import jobs
from server.api import (
    agencies,
    audit,
    auth,
    bookings,
    energy,
    errors,
    ingest,
    kiosks,
    notify,
    ops,
    plans,
    privacy,
    readings,
    registry,
    spaces,
)
from server.api.ops import VERSION
from server.config import ServerSettings
from server.limits import BodyLimit
from server.services import Services
from server.web import docs, web
from server.web.headers import StrictTransport


def create_app(settings: ServerSettings) -> FastAPI:
    """Build the app; the stores are opened when it starts, so building it is cheap."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await Services.start(settings)
        app.state.services = services
        try:
            async with jobs.running(services):
                yield
        finally:
            await services.close()

    app = FastAPI(
        title="IKN Smart Office",
        version=VERSION,
        lifespan=lifespan,
        description="Flexible desks, sensors and energy for the government offices of IKN.",
        docs_url=None,  # served by server.web.docs, without a CDN
        redoc_url=None,
    )
    app.add_middleware(BodyLimit)
    app.add_middleware(StrictTransport)
    for area in (
        auth,
        agencies,
        spaces,
        registry,
        bookings,
        kiosks,
        ingest,
        readings,
        audit,
        energy,
        plans,
        notify,
        privacy,
        ops,
    ):
        app.include_router(area.router)
    app.include_router(agencies.floors)
    errors.install(app)
    web.install(app, vendor=docs.vendor_dir(settings.web_vendor_dir))
    return app
