"""Throttling a shared office can live with: a guesser is slowed, nobody else is held up.

Against a running server (the pages' sign-in form and the API's token endpoint), with the
addresses a trusted proxy (here, loopback) says the tries come from; the waits that take
minutes are walked through with a clock the test moves, on both databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import time_machine
from sqlalchemy import select

from harness.pages import browser, login
from harness.platform import PASSWORD, Platform
from server.audit.models import AuditEntry
from server.auth.models import User
from server.auth.schemas import UserCreate
from server.auth.service import authenticate, create_user
from server.auth.throttle import LoginLimit
from server.db import Database
from server.exceptions import RateLimited
from server.notify.models import MailMessage

NAT = "203.0.113.50"  # one ministry floor behind one address


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    # Mail is queued (its server is away; the queue is what this test reads).
    env = {"SMARTOFFICE_SMTP_HOST": "127.0.0.1", "SMARTOFFICE_SMTP_PORT": "9"}
    p = Platform(tmp_path_factory.mktemp("throttle"), env, gateway_id="gw-throttle")
    p.register([])
    db = Database(p.database_url)
    with db.session() as s:
        for n in range(25):
            create_user(
                s,
                actor="test",
                new=UserCreate(username=f"asn{n:02d}", password=PASSWORD, display_name=f"ASN {n}"),
            )
    db.close()
    p.start_server()
    yield p
    p.stop()


def token(p: Platform, username: str, password: str, via: str) -> httpx.Response:
    assert p.server is not None
    return httpx.post(
        f"{p.server.url}/api/v1/auth/token",
        headers={"X-Forwarded-For": via},
        data={"username": username, "password": password},
    )


def test_one_guesser_behind_a_shared_address_holds_up_nobody_else(office: Platform) -> None:
    """The review: 21 failures from one address locked everyone behind it out."""
    assert office.server is not None
    with (
        browser(office.server.url, address=NAT) as owner,
        browser(office.server.url, address=NAT) as stranger,
    ):
        assert login(owner, "employee", PASSWORD).status_code == 303  # their browser, known
        guesses = [token(office, "employee", f"tebakan-{n}", NAT).status_code for n in range(30)]
        assert guesses.count(401) == 5 and guesses.count(429) == 25
        # Twenty-five colleagues behind the same address sign in with their right passwords.
        for n in range(25):
            assert token(office, f"asn{n:02d}", PASSWORD, NAT).status_code == 200, n
        # The owner on their own browser behind the same address too; a browser the owner
        # never used there waits, and is told how long.
        owner.cookies.delete("smartoffice_session")
        assert login(owner, "employee", PASSWORD).status_code == 303
        held = login(stranger, "employee", PASSWORD)
        assert held.status_code == 429 and "detik" in held.text


def test_a_guess_from_everywhere_slows_the_guessers_not_the_owner(office: Platform) -> None:
    """The review: 5 failures from each of 21 addresses locked one account out everywhere."""
    assert office.server is not None
    with browser(office.server.url, address="198.51.100.1") as owner:
        assert login(owner, "admin", PASSWORD).status_code == 303
        codes = [
            token(office, "admin", "salah-lagi", f"192.0.2.{n + 1}").status_code
            for n in range(21)
            for _ in range(5)
        ]
        assert codes.count(401) == 100 and codes.count(429) == 5  # then the guessers wait
        fresh = token(office, "admin", PASSWORD, "192.0.2.200")
        assert fresh.status_code == 429 and 0 < int(fresh.headers["Retry-After"]) <= 300
        owner.cookies.delete("smartoffice_session")
        assert login(owner, "admin", PASSWORD).status_code == 303  # the owner's browser goes on
    db = Database(office.database_url)
    with db.session() as s:
        told = s.scalars(select(MailMessage).where(MailMessage.to == "admin@kantor.example.go.id"))
        assert [m.subject for m in told] == ["Percobaan masuk yang gagal / Failed sign-ins"]
        held = s.scalars(select(AuditEntry.target_id).where(AuditEntry.action == "login.held"))
        assert list(held) == ["admin"]
    db.close()


def test_a_pairs_wait_doubles_and_ends_by_itself(tmp_path: Path, database_url: str) -> None:
    db = Database(database_url)
    with db.session() as s:
        create_user(
            s, actor="test", new=UserCreate(username="siti", password=PASSWORD, display_name="Siti")
        )
    limit = LoginLimit(failures=3, window_s=60)

    def attempt(password: str) -> str:
        try:
            found = authenticate(db, username="siti", password=password, address=NAT, limit=limit)
        except RateLimited as exc:
            return f"wait {exc.retry_after_s}"
        return "in" if found else "wrong"

    with time_machine.travel(1_800_000_000, tick=False) as clock:
        assert [attempt("x") for _ in range(3)] == ["wrong"] * 3
        assert attempt(PASSWORD) == "wait 60"
        clock.shift(60)
        assert attempt("x") == "wrong"  # the 4th wrong one: now two windows
        assert attempt(PASSWORD) == "wait 120"
        clock.shift(121)
        assert attempt("x") == "wrong"
        assert attempt("x") == "wait 240"
        clock.shift(3 * 3600)  # however long it went on, the wait is at most an hour
        assert attempt(PASSWORD) == "in"
        assert attempt("x") == "wrong"  # a right password started the pair afresh
    with db.session() as s:
        assert s.scalar(select(User.last_login_ms).where(User.username == "siti"))
    db.close()
