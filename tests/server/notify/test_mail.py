"""Booking mail through a real SMTP server (aiosmtpd), from a running server."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from harness.layouts import one_floor
from harness.services import wait_for
from harness.smtp import Inbox
from tests.server.notify.conftest import mailing_platform

WITA = ZoneInfo("Asia/Makassar")


def test_a_booking_made_through_the_api_is_confirmed_by_mail(
    tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    p = mailing_platform(tmp_path, port, "kantor-m", "budi@example.go.id")
    p.start_server()
    try:
        assert p.api(
            "PUT", "/api/v1/buildings/kantor-m/layout", json=one_floor("kantor-m", "l1", ["m1"])
        ).is_success
        policy = {
            "open_minute": 0,
            "close_minute": 1440,
            "weekdays": [0, 1, 2, 3, 4, 5, 6],
            "public_holidays": False,
        }
        assert p.api("PUT", "/api/v1/buildings/kantor-m/booking-policy", json=policy).is_success
        start = datetime.now(WITA).replace(microsecond=0) + timedelta(hours=1)
        made = p.api(
            "POST",
            "/api/v1/bookings",
            "employee",
            json={
                "building": "kantor-m",
                "desk": "m1",
                "start": start.isoformat(),
                "end": (start + timedelta(hours=1)).isoformat(),
            },
        )
        assert made.status_code == 201
        wait_for(lambda: inbox.messages, "no confirmation mail")
        assert inbox.messages[0]["Subject"] == "Pemesanan meja m1 dikonfirmasi / Booking confirmed"
        assert inbox.messages[0]["To"] == "budi@example.go.id"
    finally:
        p.stop()
