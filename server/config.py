"""Server settings from the environment (``SMARTOFFICE_`` prefix) or a ``.env`` file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.clock import TimeZone
from server.roles import Role

PLACEHOLDERS = frozenset({"changeme", "change-me", "secret", "password", "admin", "token"})


def weak_secret(secret: str) -> str | None:
    """Why a signing secret is too weak, or None: 32+ characters, not a word repeated."""
    if secret.lower() in PLACEHOLDERS:
        return "it is a placeholder"
    if len(secret) < 32:
        return f"{len(secret)} characters; use at least 32 (e.g. `openssl rand -base64 48`)"
    if len(set(secret)) < 10:
        return "it uses fewer than 10 different characters; use a random one"
    return None


class OidcProvider(BaseModel):
    """Another identity provider whose tokens the API accepts (``oidc_providers``)."""

    model_config = ConfigDict(extra="forbid")

    issuer: str
    audience: str
    name: str | None = None
    """What the pages' sign-in button calls it, e.g. ``Kemenko Pangan``."""
    client_id: str | None = None
    """The pages' client there (default: the audience); ``sso: false`` for API tokens only."""
    client_secret: SecretStr | None = None
    sso: bool = True
    jwks_url: str | None = None
    agency: str | None = None
    agency_claim: str | None = None
    unit_claim: str | None = None
    role_map: dict[str, Role] | None = None
    default_role: Role | None = None


class ServerSettings(BaseSettings):
    """Everything the server needs; built once at start-up and passed to ``create_app``."""

    # Errors never repeat what was given: the settings hold secrets.
    model_config = SettingsConfigDict(
        env_prefix="SMARTOFFICE_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    environment: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    tls_certfile: Path | None = None
    """Serve HTTPS with this certificate chain (else put a TLS proxy in front)."""
    tls_keyfile: Path | None = None
    data_dir: Path = Path("var")
    web_vendor_dir: Path | None = None
    """Where the front-end libraries from npm are (Swagger UI and ReDoc for ``/docs`` and
    ``/redoc``); default: the checkout's ``node_modules`` (``make`` installs them)."""
    database_url: str | None = None
    """SQLAlchemy URL of the relational database; default SQLite in ``data_dir``."""

    readings_backend: Literal["sqlite", "influx"] = "sqlite"
    readings_sqlite_path: Path | None = None
    influx_url: str = "http://127.0.0.1:8086"
    influx_database: str = "smartoffice"
    influx_retention_policy: str | None = None
    influx_precision: Literal["ms", "s", "u", "ns"] = "ns"
    """``ns`` or ``u`` keep two readings of one device in the same millisecond apart."""
    influx_token: SecretStr | None = None
    influx_username: str | None = None
    influx_password: SecretStr | None = None
    influx_rollup_retention_policy: str | None = None
    """Where hourly rollups go (kept forever); raw readings go to ``influx_retention_policy``.
    On InfluxDB 1.x the server creates both (with ``influx_create_database``); on 2.x/3.x
    map each to a bucket (docs/operations.md)."""
    influx_create_database: bool = True
    influx_timeout_s: float = 10.0

    jwt_secret: SecretStr | None = None
    """Signs access tokens. Required in production; in development one is made and kept
    in ``data_dir/jwt-secret``."""
    access_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    """Wrong passwords an account may have from one address (or its owner's browser) before
    each further one waits twice as long as the last; ``4x`` different accounts failing
    from one address, or ``20x`` failures of one account from anywhere, hold up tries from
    browsers its owner never signed in on (server.auth.throttle)."""
    login_window_s: int = Field(default=300, ge=1, le=86_400)
    trusted_proxies: str = "127.0.0.1"
    """Comma-separated addresses (or ``*``) of reverse proxies whose ``X-Forwarded-For``
    and ``X-Forwarded-Proto`` are believed; empty believes none. Behind a proxy on another
    host, name it here, or every login seems to come from the proxy."""
    timezone: TimeZone = "Asia/Makassar"
    """The zone of times that belong to no one building: the audit log, a person's own data
    and its export, the administrators' lists, "today" across buildings. Each building shows
    its own times in its own ``timezone`` (the layout document's)."""
    public_url: str = "http://127.0.0.1:8000"
    """Where people reach the server: desk labels' QR codes point here."""

    oidc_issuer: str | None = None
    """The agency identity provider's issuer; set it to accept its tokens."""
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    """Default: the ``jwks_uri`` of ``{oidc_issuer}/.well-known/openid-configuration``."""
    oidc_username_claim: str = "preferred_username"
    oidc_groups_claim: str = "groups"
    oidc_agency_claim: str | None = None
    """The token's claim naming the person's agency (e.g. ``instansi``); its value is the
    agency's code here, or mapped to one by ``oidc_agency_map``. Set, a person whose agency
    is missing or unknown here is refused, saying which; the agency follows the provider at
    every sign-in."""
    oidc_agency_map: dict[str, str] = Field(default_factory=dict)
    """The provider's agency name -> the agency's code here, as JSON:
    ``{"KEMENKO PMK": "kemenko-pmk"}``."""
    oidc_unit_claim: str | None = None
    """The token's claim naming the person's unit (unit kerja); a unit not listed yet is
    added to their agency."""
    oidc_providers: list[OidcProvider] = Field(default_factory=list)
    """More identity providers beside ``oidc_issuer``, as JSON: one per agency that runs its
    own, e.g. ``[{"issuer": "https://sso.kemenkopmk.go.id/realms/pmk", "audience":
    "smartoffice", "agency": "kemenko-pmk"}]``. Each entry takes ``issuer`` and ``audience``
    and may set ``jwks_url``, ``agency`` (every person it vouches for is that agency's) or
    ``agency_claim``, ``unit_claim``, ``role_map`` and ``default_role``; what it leaves out
    is the main provider's setting. Tokens are told apart by their issuer (``iss``). The
    sign-in page has a button for each (``name``; its client ``client_id``,
    ``client_secret``), unless ``sso`` is false."""
    oidc_role_map: dict[str, Role] = Field(default_factory=dict)
    """Provider group -> role, as JSON: ``{"ikn-fm": "facility_manager"}``."""
    oidc_default_role: Role | None = None
    """Role of provider users in no mapped group; none refuses them."""
    oidc_roles: Literal["provider", "local"] = "provider"
    """Who decides a provider user's role: ``provider``, their groups at every sign-in (an
    administrator's change here is refused, saying so); ``local``, their groups only when
    the account is made, and administrators here afterwards."""
    oidc_client_id: str | None = None
    """The pages' client at the provider, for single sign-on (default: the audience)."""
    oidc_client_secret: SecretStr | None = None
    """For a confidential client; a public client signs in with PKCE alone."""
    oidc_authorization_url: str | None = None
    """Default: the discovery document's ``authorization_endpoint``."""
    oidc_token_url: str | None = None
    """Default: the discovery document's ``token_endpoint``."""

    base_topic: str = "ikn"
    """The MQTT base topic devices are configured with (shown to installers)."""
    booking_sweep_s: float = Field(default=30.0, gt=0)
    """How often no-shows and vacated desks are released and desk LEDs refreshed."""
    plan_follow_s: float = Field(default=600.0, gt=0)
    """How often work plans' office days within reach get their desks booked."""
    sweeper: bool = True
    """Take part in running the periodic jobs: the sweep, mail, rollups, zone decisions and
    CO2 alerts. On PostgreSQL one replica at a time runs them (an advisory lock); false
    keeps a replica out of it altogether. On SQLite there is one replica."""
    jobs_lock_retry_s: float = Field(default=10.0, gt=0, le=3600)
    """How often a replica that does not run the jobs tries to take them over (and the one
    that does checks it still holds them)."""
    worker_threads: int = Field(default=8, ge=1, le=200)
    """Threads per server process for blocking work (database calls). One Python process
    computes on one core at a time: more threads than this queue for the interpreter and
    make every request slower (measured in docs/benchmarks.md). Scale out with replicas."""
    cache_s: float = Field(default=1.0, ge=0)
    """What the server keeps from the database (accounts behind tokens, floors'
    availability, booking rules) is read again after this long at most. A change made
    through this server process applies at once; one made through another replica, or
    the command line, within this time. 0 keeps nothing."""
    smtp_host: str | None = None
    """Send booking mail (confirmations, reminders, releases) through this SMTP server."""
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    mail_from: str = "IKN Smart Office <smartoffice@localhost>"
    reminder_minutes: int = Field(default=5, ge=1, le=60)
    """Remind the booker this long before the check-in grace period ends."""
    coming_hold_minutes: int = Field(default=15, ge=1, le=120)
    """ "I am coming", tapped on a reminder, keeps the desk this long past the check-in grace
    (never past the booking's end; once per booking)."""
    morning_summary_minute: int = Field(default=6 * 60 + 30, ge=0, lt=24 * 60)
    """On office days, each person's morning summary goes out from this minute (local time)."""
    vapid_private_key: SecretStr | None = None
    """Web Push: the server's VAPID private key (base64url of the raw 32-byte P-256 key;
    ``smartoffice push-keys`` makes one). Without it no push is sent; mail still is."""
    vapid_subject: str = "mailto:smartoffice@localhost"
    """Web Push: who push services may contact about this server (a mailto: or https: URL)."""
    push_hosts: list[str] = Field(
        default=[
            "fcm.googleapis.com",
            "updates.push.services.mozilla.com",
            "web.push.apple.com",
            "notify.windows.com",
        ]
    )
    """Web Push: the push services a browser's subscription may name (a host or its
    parent domain). Anything else is refused, so the server never posts to an address a
    person typed. Loopback addresses are for tests."""
    raw_retention_days: int = Field(default=90, ge=0)
    """Raw readings older than this are deleted (SQLite) or expired by the retention policy
    (InfluxDB); hourly rollups stay. 0 keeps raw readings forever."""
    rollup_every_s: float = Field(default=300.0, gt=0)
    """How often hourly rollups are brought up to date (by the sweeping replica)."""
    energy_max_gap_hours: float = Field(default=6.0, gt=0, le=48)
    """A meter silent longer than this: the energy across the gap is left out (coverage)."""
    energy_actions: Literal["off", "advise", "command"] = "advise"
    """Zone HVAC and lighting decisions: not made, shown in the API only, or also sent as
    commands on zone/{zone}/down/{hvac,lighting} for the building-management system."""
    energy_sweep_s: float = Field(default=60.0, gt=0)
    """How often zone decisions and comfort alerts are evaluated."""
    precondition_minutes: int = Field(default=30, ge=0, le=240)
    """HVAC runs normally from this long before a booked arrival."""
    vacancy_minutes: int = Field(default=15, ge=0, le=240)
    standby_minutes: int = Field(default=5, ge=0, le=240)
    """ASHRAE Guideline 36 occupied-standby: an empty zone in working hours relaxes its
    cooling setpoint by ``standby_offset_k`` after this long (and is set back after
    ``vacancy_minutes``)."""
    standby_offset_k: float = Field(default=0.5, ge=0, le=3)
    """A zone must be empty this long before it is set back."""
    normal_setpoint_c: float = 24.0
    setback_setpoint_c: float = 27.0
    setback_lighting_pct: int = Field(default=30, ge=0, le=100)
    zone_command_valid_minutes: int = Field(default=15, ge=2, le=240)
    """A zone command tells the BMS to fall back to its own schedule after this long
    without a newer one; the platform refreshes commands at half this age."""
    co2_levels_ppm: list[int] = Field(default=[800, 1000, 1500], min_length=1, max_length=5)
    temp_band_c: tuple[float, float] = (23.0, 27.0)
    rh_band_pct: tuple[float, float] = (40.0, 60.0)
    co2_alert_ppm: int = Field(default=1000, ge=400)
    """Alert when an occupied room stays at or above this level ..."""
    co2_alert_minutes: int = Field(default=15, ge=1, le=240)
    """... for this long."""
    command_timeout_s: int = 300
    """A device command not delivered by then is dropped and reported as expired."""
    dedup_window_days: int = 14

    # Personal data (docs/privacy.md): how long each kind is kept, and how small a group
    # the reports may show. The privacy notice states these values; the retention job
    # enforces them every ``retention_every_s``.
    privacy_controller: str = ""
    """Who is responsible for the personal data (the agency), as the privacy notice names it."""
    privacy_contact: str = ""
    """How people reach the agency's data protection officer (UU PDP art. 53): shown in the
    privacy notice. Empty: the notice says none is named yet."""
    privacy_min_group: int = Field(default=5, ge=1, le=1000)
    """A report group (desk, zone, floor) is shown only with at least this many people
    (bookings) or desks (sensors) in it, or when everyone in it chose to be visible."""
    booking_retention_days: int = Field(default=180, ge=1, le=3650)
    """Finished bookings name their person this long; then the person is removed from them
    (the desk, times and outcome stay for the reports)."""
    mail_retention_days: int = Field(default=30, ge=1, le=3650)
    """Booking mail (addresses and bodies) is deleted this long after it was queued."""
    audit_retention_days: int = Field(default=730, ge=30, le=3650)
    """Audit entries, reads of personal data included, are deleted after this long."""
    login_retention_days: int = Field(default=30, ge=1, le=3650)
    """Failed sign-ins (name and address) and ended sessions are deleted after this long."""
    plan_retention_days: int = Field(default=90, ge=1, le=3650)
    """Days of a work plan set otherwise than the week (leave, travel, home) are deleted
    this long after the day."""
    presence_rollup_retention_days: int = Field(default=730, ge=0, le=36500)
    """Hourly occupancy per desk is deleted after this long (0: kept); floors' and zones'
    history goes with it."""
    retention_every_s: float = Field(default=3600.0, gt=0)
    """How often the retention job runs (on the replica that runs the periodic jobs)."""
    backup_dir: Path | None = None
    """Where ``smartoffice backup`` writes archives; default ``data_dir/backups``. The
    server reports the newest one's age on ``/metrics`` (for the backup alert)."""
    backup_recipients: str = ""
    """age public keys (``age1...``, comma-separated) that backups are encrypted to
    (``smartoffice backup-key`` makes a key pair). The server needs only these; the
    private key stays with the operator, off this machine."""
    backup_keep_days: int = Field(default=30, ge=1, le=3650)
    """Archives older than this are deleted when a new one is written: a backup holds
    personal data, so it is kept no longer than the shortest retention period (mail and
    sign-ins: 30 days) unless the operator decides otherwise (docs/privacy.md)."""
    influx_backup_address: str | None = None
    """InfluxDB 1.x's backup (RPC) address for ``influxd backup -portable``; default the
    host of ``influx_url`` on port 8088."""

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> ServerSettings:
        if self.jwt_secret is not None:
            # Whoever knows it can sign a token for any account: an explicit one is checked
            # in every environment (the demo and development make a strong one themselves).
            weak = weak_secret(self.jwt_secret.get_secret_value())
            if weak:
                raise ValueError(f"SMARTOFFICE_JWT_SECRET is too weak: {weak}")
        if self.environment != "production":
            return self
        if self.jwt_secret is None:
            raise ValueError("SMARTOFFICE_JWT_SECRET is required in production")
        for name in ("influx_token", "influx_password"):
            value = getattr(self, name)
            if value is not None and (
                value.get_secret_value().lower() in PLACEHOLDERS
                or len(value.get_secret_value()) < 16
            ):
                raise ValueError(f"SMARTOFFICE_{name.upper()} is a placeholder or too short")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The relational database URL, defaulting to SQLite under ``data_dir``."""
        return self.database_url or f"sqlite:///{self.data_dir / 'smartoffice.db'}"

    @property
    def backups(self) -> Path:
        """Where backup archives are written and found."""
        return self.backup_dir or self.data_dir / "backups"

    @property
    def sqlite_readings_path(self) -> Path:
        """Where the embedded reading store lives."""
        return self.readings_sqlite_path or self.data_dir / "readings.db"
