"""The server's services, built once from the settings: a typed container, not app.state.

``Services.start`` opens the stores and builds every service the routes and the
background jobs use; a route asks for the ones it needs with the typed dependencies of
``server.api.deps``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import anyio.to_thread
import httpx
from starlette.concurrency import run_in_threadpool

from server.auth.service import Principal
from server.auth.sso import SsoClient
from server.auth.tokens import Claims, LocalTokens, OidcVerifier
from server.bookings.availability import AvailabilityCache
from server.bookings.events import EventHub
from server.bookings.presence import DeskMonitor
from server.cache import TableCache
from server.config import ServerSettings
from server.db import Database, init_schema
from server.effects import Effects
from server.energy.accounting import Bands, Limits
from server.energy.actions import ActionConfig, ZoneActions
from server.energy.comfort import AlertConfig
from server.energy.rollup import RollupConfig, Rollups
from server.energy.runner import EnergyRunner
from server.exceptions import StoreError
from server.ingest.service import IngestService
from server.metrics import ServerMetrics
from server.notify import push
from server.notify.mail import SmtpSender, deliver
from server.notify.service import Notifying
from server.plans.forecast import planned_today
from server.privacy.handlers import Context
from server.privacy.retention import Retention
from server.readings.influx import InfluxReadingStore
from server.readings.sqlite import SQLiteReadingStore
from server.readings.store import ReadingStore, StoredReading
from server.registry.downlink import Notifier
from server.replicas import EventChannel

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Services:
    """Everything the routes and background jobs use, made once per process."""

    settings: ServerSettings
    db: Database
    store: ReadingStore
    metrics: ServerMetrics
    tokens: LocalTokens
    csrf_key: str
    """Signs the browser sessions' CSRF tokens (derived from the token secret)."""
    providers: dict[str, OidcVerifier]
    """Every identity provider whose tokens the API takes, by issuer (the main one first)."""
    ssos: list[SsoClient]
    """The pages' sign-in providers: the main one first (``SsoClient.index``)."""
    """The pages' single sign-on, when an identity provider is configured."""
    accounts: TableCache[Claims, Principal]
    notifier: Notifier
    events: EventHub
    channel: EventChannel
    availability: AvailabilityCache
    monitor: DeskMonitor
    rollups: Rollups
    ingest: IngestService
    zone_actions: ZoneActions
    energy: EnergyRunner
    mailer: Callable[[], int] | None
    """Sends the outboxes (mail, pushes) at each sweep; None when nothing is sent."""
    retention: Retention
    """Keeps each kind of personal data no longer than its setting (server.privacy)."""

    @classmethod
    async def start(cls, settings: ServerSettings) -> Services:
        """Open the database (at the newest schema) and the reading store; build the rest."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # Blocking work (the database) runs on this many threads; more threads only wait
        # longer for Python's interpreter lock (see docs/benchmarks.md, Bookings).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        db = Database(settings.sqlalchemy_url)
        init_schema(db.engine)
        db.cache_s = settings.cache_s
        db.mail = settings.smtp_host is not None
        db.provider_roles = settings.oidc_roles == "provider"
        db.zone = ZoneInfo(settings.timezone)
        store = build_store(settings)
        if isinstance(store, InfluxReadingStore) and settings.influx_create_database:
            try:
                await store.create_database()
            except StoreError as exc:
                logger.warning("could not create the InfluxDB database (yet): %s", exc)
        loop = asyncio.get_running_loop()
        metrics = ServerMetrics()
        notifier = Notifier(loop)
        events = EventHub(loop)
        channel = EventChannel(db, deliver=events.publish)
        await run_in_threadpool(channel.start)
        # A committed change wakes its gateways and tells the maps (server.effects).
        db.effects = Effects(wake=notifier.notify, announce=channel.publish)
        monitor = DeskMonitor(db=db, reminder_minutes=settings.reminder_minutes)
        rollups = Rollups(
            db,
            store,
            rollup_config(settings),
            on_progress=lambda b, ms: metrics.rollup_done_until.labels(b).set(ms / 1000),
        )

        async def on_stored(readings: list[StoredReading]) -> None:
            await monitor.on_stored(readings)
            await run_in_threadpool(rollups.mark_late, readings)

        zone_actions = ZoneActions(action_config(settings))
        secret = jwt_secret(settings)
        csrf_key = hashlib.sha256(b"csrf:" + secret.encode()).hexdigest()
        db.notifying = notifying_of(settings, secret)
        providers = build_providers(settings, build_oidc(settings))
        return cls(
            settings=settings,
            db=db,
            store=store,
            metrics=metrics,
            tokens=LocalTokens(secret, settings.access_token_minutes * 60),
            csrf_key=csrf_key,
            providers=providers,
            ssos=build_sso(settings, providers, csrf_key),
            accounts=TableCache(db, ("users",), size=10_000),
            notifier=notifier,
            events=events,
            channel=channel,
            availability=AvailabilityCache(db),
            monitor=monitor,
            rollups=rollups,
            ingest=IngestService(
                db=db,
                store=store,
                metrics=metrics,
                dedup_window_days=settings.dedup_window_days,
                on_stored=on_stored,
            ),
            zone_actions=zone_actions,
            energy=EnergyRunner(
                db=db,
                store=store,
                actions=zone_actions,
                planned=planned_today,
                alerts=AlertConfig(
                    level_ppm=settings.co2_alert_ppm,
                    top_ppm=max(settings.co2_levels_ppm),
                    minutes=settings.co2_alert_minutes,
                ),
                metrics=metrics,
            ),
            mailer=_senders(settings, db),
            retention=Retention(Context(db, store, settings.raw_retention_days), settings),
        )

    async def close(self) -> None:
        """Stop listening for events; close the reading store and the database."""
        await run_in_threadpool(self.channel.stop)
        await self.store.close()
        self.db.close()


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


def _jwks_url(issuer: str, given: str | None) -> str:
    """The provider's key set: as given, else from its discovery document."""
    if given is not None:
        return given
    discovery = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        return str(httpx.get(discovery, timeout=10).raise_for_status().json()["jwks_uri"])
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        raise ValueError(
            f"cannot read the identity provider's configuration at {discovery}: {exc}; "
            "set SMARTOFFICE_OIDC_JWKS_URL (or the provider's jwks_url)"
        ) from exc


def build_oidc(settings: ServerSettings) -> OidcVerifier | None:
    """The identity-provider verifier, when an issuer is configured."""
    if settings.oidc_issuer is None:
        return None
    if not settings.oidc_audience:
        raise ValueError("SMARTOFFICE_OIDC_AUDIENCE is required with SMARTOFFICE_OIDC_ISSUER")
    return OidcVerifier(
        issuer=settings.oidc_issuer,
        audience=settings.oidc_audience,
        jwks_url=_jwks_url(settings.oidc_issuer, settings.oidc_jwks_url),
        role_map=settings.oidc_role_map,
        default_role=settings.oidc_default_role,
        username_claim=settings.oidc_username_claim,
        groups_claim=settings.oidc_groups_claim,
        agency_claim=settings.oidc_agency_claim,
        agency_map=settings.oidc_agency_map,
        unit_claim=settings.oidc_unit_claim,
    )


def build_providers(settings: ServerSettings, main: OidcVerifier | None) -> dict[str, OidcVerifier]:
    """Every identity provider whose tokens the API takes, by issuer.

    The main one and ``oidc_providers`` (what an entry leaves out is the main provider's).
    """
    found = {main.issuer: main} if main is not None else {}
    for p in settings.oidc_providers:
        if p.issuer in found:
            raise ValueError(f"identity provider {p.issuer} is configured twice")
        found[p.issuer] = OidcVerifier(
            issuer=p.issuer,
            audience=p.audience,
            jwks_url=_jwks_url(p.issuer, p.jwks_url),
            role_map=settings.oidc_role_map if p.role_map is None else p.role_map,
            default_role=p.default_role or settings.oidc_default_role,
            username_claim=settings.oidc_username_claim,
            groups_claim=settings.oidc_groups_claim,
            agency_claim=p.agency_claim or settings.oidc_agency_claim,
            agency_map=settings.oidc_agency_map,
            agency=p.agency,
            unit_claim=p.unit_claim or settings.oidc_unit_claim,
        )
    return found


def build_sso(
    settings: ServerSettings, providers: dict[str, OidcVerifier], key: str
) -> list[SsoClient]:
    """The pages' single sign-on clients.

    The main provider's first, then each of ``oidc_providers`` that signs people in here.
    """
    redirect = settings.public_url.rstrip("/") + "/app/login/sso/callback"
    found = []
    if settings.oidc_issuer is not None:
        secret = settings.oidc_client_secret
        found.append(
            SsoClient(
                verifier=providers[settings.oidc_issuer],
                client_id=settings.oidc_client_id or settings.oidc_audience or "",
                client_secret=secret.get_secret_value() if secret else None,
                redirect_uri=redirect,
                key=key,
                authorization_url=settings.oidc_authorization_url,
                token_url=settings.oidc_token_url,
            )
        )
    for p in settings.oidc_providers:
        if p.sso:
            found.append(
                SsoClient(
                    verifier=providers[p.issuer],
                    client_id=p.client_id or p.audience,
                    client_secret=p.client_secret.get_secret_value() if p.client_secret else None,
                    redirect_uri=redirect,
                    key=key,
                    index=len(found),
                    name=p.name or p.agency or p.issuer,
                )
            )
    return found


def notifying_of(settings: ServerSettings, secret: str) -> Notifying:
    """What the notification service needs of the settings (server.notify.service)."""
    vapid = settings.vapid_private_key.get_secret_value() if settings.vapid_private_key else None
    return Notifying(
        public_url=settings.public_url,
        secret=hashlib.sha256(b"links:" + secret.encode()).hexdigest(),
        push=vapid is not None,
        hold_minutes=settings.coming_hold_minutes,
        vapid_public_key=push.public_key(vapid) if vapid else None,
    )


def _senders(settings: ServerSettings, db: Database) -> Callable[[], int] | None:
    """Sends what the outboxes hold: mail (with an SMTP server), pushes (with a VAPID key)."""
    senders = [s for s in (_mailer(settings, db), _pusher(settings, db)) if s is not None]
    if not senders:
        return None
    return lambda: sum(send() for send in senders)


def _pusher(settings: ServerSettings, db: Database) -> Callable[[], int] | None:
    if settings.vapid_private_key is None:
        return None
    pusher = push.WebPusher(
        private_key=settings.vapid_private_key.get_secret_value(), subject=settings.vapid_subject
    )
    return lambda: push.deliver(db, pusher)


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


def action_config(settings: ServerSettings) -> ActionConfig:
    """How zones are run, from the settings."""
    return ActionConfig(
        mode=settings.energy_actions,
        precondition_minutes=settings.precondition_minutes,
        vacancy_minutes=settings.vacancy_minutes,
        standby_minutes=settings.standby_minutes,
        standby_offset_k=settings.standby_offset_k,
        normal_setpoint_c=settings.normal_setpoint_c,
        setback_setpoint_c=settings.setback_setpoint_c,
        setback_lighting_pct=settings.setback_lighting_pct,
        valid_minutes=settings.zone_command_valid_minutes,
    )


def rollup_config(settings: ServerSettings) -> RollupConfig:
    """How readings become hourly rollups, from the settings."""
    return RollupConfig(
        limits=Limits(max_gap_ms=int(settings.energy_max_gap_hours * 3_600_000)),
        bands=Bands(
            co2=tuple(settings.co2_levels_ppm),
            temp_c=settings.temp_band_c,
            rh_pct=settings.rh_band_pct,
        ),
    )
