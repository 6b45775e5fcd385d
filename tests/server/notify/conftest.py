"""A running server that sends mail to a real SMTP server (aiosmtpd), for the notify tests."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from harness.platform import Platform
from server.auth.models import User
from server.db import Database


def mailing_platform(
    tmp_path: Path, smtp_port: int, building: str, email: str, **env: str
) -> Platform:
    """A platform whose server sends mail through ``smtp_port``, sweeping twice a second, and
    whose test employee has ``email`` (not started: the caller starts it)."""
    p = Platform(
        tmp_path,
        {
            "SMARTOFFICE_SMTP_HOST": "127.0.0.1",
            "SMARTOFFICE_SMTP_PORT": str(smtp_port),
            "SMARTOFFICE_SMTP_STARTTLS": "false",
            "SMARTOFFICE_BOOKING_SWEEP_S": "0.5",
            **env,
        },
        gateway_id=f"gw-{building}",
    )
    p.register([], building=building)
    db = Database(p.database_url)
    with db.session() as s:
        employee = s.scalar(select(User).where(User.username == "employee"))
        assert employee is not None
        employee.email = email
    db.close()
    return p
