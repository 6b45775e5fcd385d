"""A booking's reminder by Web Push and mail, from a running server, to a push service that
decrypts it (harness/push.py) and a real SMTP server (aiosmtpd): sent once, with two
answers a tap away; "I am coming" keeps the desk, "release it" frees it for everyone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from harness.layouts import one_floor
from harness.push import PushService
from harness.services import wait_for
from harness.smtp import Inbox
from server.notify.push import allowed, new_private_key
from tests.server.notify.conftest import mailing_platform

WITA = ZoneInfo("Asia/Makassar")
B = "kantor-p"


@pytest.fixture
def browser() -> Iterator[PushService]:
    service = PushService()
    yield service
    service.close()


def test_only_the_named_push_services_and_loopback_http_are_posted_to() -> None:
    hosts = ["fcm.googleapis.com", "web.push.apple.com", "127.0.0.1"]
    assert allowed("https://fcm.googleapis.com/fcm/send/abc", hosts)
    assert allowed("https://web.push.apple.com/QGx", hosts)
    assert allowed("http://127.0.0.1:9/push", hosts)
    assert not allowed("http://fcm.googleapis.com/fcm/send/abc", hosts)  # not over TLS
    assert not allowed("https://evil.example/fcm.googleapis.com", hosts)
    assert not allowed("https://fcm.googleapis.com.evil.example/x", hosts)
    assert not allowed("https://10.0.0.5/x", hosts)


def test_a_reminder_reaches_mail_and_push_once_and_its_answers_keep_or_free_the_desk(
    tmp_path: Path, smtp: tuple[Inbox, int], browser: PushService
) -> None:
    inbox, port = smtp
    p = mailing_platform(
        tmp_path,
        port,
        B,
        "sari@example.go.id",
        # The reminder is due as the booking starts: its minutes equal the grace.
        SMARTOFFICE_REMINDER_MINUTES="10",
        SMARTOFFICE_COMING_HOLD_MINUTES="15",
        SMARTOFFICE_VAPID_PRIVATE_KEY=new_private_key(),
        SMARTOFFICE_PUSH_HOSTS='["127.0.0.1"]',
    )
    p.start_server()
    try:
        layout = one_floor(B, "l1", ["m1", "m2"])
        assert p.api("PUT", f"/api/v1/buildings/{B}/layout", json=layout).is_success
        policy = {
            "open_minute": 0,
            "close_minute": 1440,
            "weekdays": [0, 1, 2, 3, 4, 5, 6],
            "public_holidays": False,
            "checkin_grace_minutes": 10,
        }
        assert p.api("PUT", f"/api/v1/buildings/{B}/booking-policy", json=policy).is_success
        key = p.api("GET", "/api/v1/push/key").json()["key"]
        assert len(key) == 87  # a P-256 point, uncompressed, base64url
        # A browser that is not at a push service this server knows is refused.
        wrong = {**browser.subscription(), "endpoint": "https://push.example.net/x"}
        refused = p.api("POST", "/api/v1/me/push-subscriptions", "employee", json=wrong)
        assert refused.status_code == 409 and "push.example.net" in refused.json()["detail"]
        made = p.api(
            "POST", "/api/v1/me/push-subscriptions", "employee", json=browser.subscription()
        )
        assert made.status_code == 201 and made.json() == {"browsers": 1}

        start = datetime.now(WITA).replace(second=0, microsecond=0) - timedelta(minutes=1)
        slot = {
            "building": B,
            "desk": "m1",
            "start": start.isoformat(),
            "end": (start + timedelta(hours=2)).isoformat(),
        }
        booked = p.api("POST", "/api/v1/bookings", "employee", json=slot)
        assert booked.status_code == 201, booked.text
        booking = booked.json()["created"][0]["id"]

        wait_for(lambda: browser.received, "no push reached the browser's push service")
        pushed = browser.received[0]
        assert pushed["title"] == "Segera check-in: Meja m1"
        assert pushed["tag"] == f"reminder:{booking}"
        assert [a["action"] for a in pushed["actions"]] == ["coming", "release"]
        signed = browser.headers[0]["authorization"]  # VAPID (RFC 8292), with the server's key
        assert signed.startswith("vapid t=") and signed.endswith(f",k={key}")
        wait_for(lambda: len(inbox.messages) >= 2, "no reminder mail")  # confirmation, reminder
        reminder = inbox.messages[1]
        assert reminder["Subject"] == "Segera check-in di meja m1 / Check in soon"
        text = reminder.get_payload(decode=True).decode()
        assert pushed["actions"][0]["url"].split("?")[0] in text

        # The sweep runs twice a second: after three more, the reminder is still the only one.
        time.sleep(1.5)
        with httpx.Client(timeout=10) as client:
            coming = client.post(
                pushed["actions"][0]["url"], headers={"Accept": "application/json"}
            )
            assert coming.status_code == 200, coming.text
            assert "menunggu Anda sampai" in coming.json()["said"]
            held = start + timedelta(minutes=10 + 15)
            assert f"{held:%H.%M}" in coming.json()["said"]
            assert len(browser.received) == 1 and len(inbox.messages) == 2
            # "Release it", from the mail's page: a GET shows the answers, the POST acts.
            page = client.get(pushed["actions"][1]["url"].split("?")[0])
            assert "Saya datang" in page.text and "Lepaskan" in page.text
            freed = client.post(
                pushed["actions"][1]["url"].split("?")[0], data={"action": "release"}
            )
            assert freed.status_code == 200 and "dilepas" in freed.text
        mine = p.api("GET", "/api/v1/bookings", "employee").json()
        assert [b["state"] for b in mine if b["id"] == booking] == ["cancelled"]
        free = p.api(
            "GET",
            "/api/v1/availability",
            "employee",
            params={"building": B, "floor": "l1", "start": slot["start"], "end": slot["end"]},
        ).json()
        assert {d["id"]: d["state"] for d in free}["m1"] == "free"
        # A forged link does nothing.
        with httpx.Client(timeout=10) as client:
            forged = client.post(
                pushed["actions"][0]["url"].replace("/r/", "/r/x"),
                headers={"Accept": "application/json"},
            )
        assert forged.status_code == 404
    finally:
        p.stop()
