"""How many wrong passwords a sign-in may follow, and from where.

A shared office behind one address can live with it; a guesser cannot.

Three counts, each with its own purpose:

- **The pair** (an account from one address, or from one browser its owner signed in on
  before): after ``failures`` wrong passwords it waits, and each further one doubles the
  wait (one window, two, four ... at most ``MAX_WAIT_S``). A right password clears it.
  This is what slows a guesser, wherever they are.
- **An address spraying accounts**: ``failures * 4`` *different* accounts failing from
  one address in a window stop untrusted tries from it for that window. Colleagues behind
  one NAT who mistype their own passwords are a few accounts, not dozens, and the guesser
  who hammers one account at that address is counted by the pair, so nobody else there is
  held up.
- **An account guessed from everywhere**: ``failures * 20`` failures over all addresses in
  a window stop *untrusted* tries for that account until the window passes, and its owner
  is told by mail. The owner's own browser (a device cookie, issued at every sign-in) is
  not stopped, so a spread-out attack slows the attackers, never keeps the owner out, and
  repeating it cannot lock them out for days.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from server.audit.models import AuditEntry
from server.audit.service import record
from server.auth.models import LoginFailure, User
from server.notify.mail import queue

# A wrong password is remembered this long: long enough that the doubling wait of a
# patient guesser keeps growing, short enough to hold little about anyone (docs/privacy.md).
MEMORY_MS: Final = 24 * 3600 * 1000
MAX_WAIT_S: Final = 3600


@dataclass(frozen=True, slots=True)
class LoginLimit:
    """``failures`` wrong passwords per pair before it waits; the window they count in."""

    failures: int = 5
    window_s: int = 300


@dataclass(frozen=True, slots=True)
class Try:
    """Who is trying to sign in, from where: the account, the address, the browser."""

    username: str
    address: str
    device: str | None = None
    """The browser's id when it is one the account's owner signed in on; else None."""

    def pair(self) -> tuple[ColumnElement[bool], ...]:
        """The pair's condition: the account from this browser, else from this address."""
        if self.device is not None:
            return (LoginFailure.username == self.username, LoginFailure.device == self.device)
        return (
            LoginFailure.username == self.username,
            LoginFailure.address == self.address,
            LoginFailure.device.is_(None),
        )


def note_failure(session: Session, attempt: Try, now_ms: int) -> int:
    """Count a try (before its password is checked); its row's id, taken back on success."""
    row = LoginFailure(
        username=attempt.username, address=attempt.address, device=attempt.device, at_ms=now_ms
    )
    session.add(row)
    session.flush()
    return row.id


def wait_s(session: Session, attempt: Try, limit: LoginLimit, now_ms: int, noted: int) -> int:
    """Seconds this try must wait before its password is checked; 0 when it may go on.

    ``noted`` is this try's own row: the tries before it are weighed.
    """
    window_ms = limit.window_s * 1000
    since = now_ms - window_ms
    count, previous = session.execute(
        select(func.count(), func.max(LoginFailure.at_ms)).where(
            *attempt.pair(), LoginFailure.at_ms > now_ms - MEMORY_MS, LoginFailure.id != noted
        )
    ).one()
    over = count - limit.failures  # the tries before this one, past the allowance
    if over >= 0:
        until = previous + min(window_ms * 2**over, MAX_WAIT_S * 1000)
        if until > now_ms:
            return _seconds(until - now_ms)
    if attempt.device is not None:
        return 0  # the owner's browser: only its own pair counts
    sprayed, oldest = session.execute(
        select(func.count(func.distinct(LoginFailure.username)), func.min(LoginFailure.at_ms))
        .where(LoginFailure.address == attempt.address, LoginFailure.at_ms > since)
        .where(LoginFailure.username != attempt.username, LoginFailure.id != noted)
    ).one()
    if sprayed >= limit.failures * 4:
        return _seconds(oldest + window_ms - now_ms)
    spread, oldest = session.execute(
        select(func.count(), func.min(LoginFailure.at_ms)).where(
            LoginFailure.username == attempt.username,
            LoginFailure.device.is_(None),
            LoginFailure.at_ms > since,
            LoginFailure.id != noted,
        )
    ).one()
    if spread >= limit.failures * 20:
        _tell_owner(session, attempt.username, limit, since)
        return _seconds(oldest + window_ms - now_ms)
    return 0


def _seconds(ms: int) -> int:
    return max(1, (ms + 999) // 1000)


def succeeded(session: Session, attempt: Try, now_ms: int) -> None:
    """A right password: the pair starts afresh; what is past memory is forgotten."""
    session.execute(delete(LoginFailure).where(*attempt.pair()))
    session.execute(delete(LoginFailure).where(LoginFailure.at_ms <= now_ms - MEMORY_MS))


def _tell_owner(session: Session, username: str, limit: LoginLimit, since: int) -> None:
    """Once a window: the audit log says the account was held, and its owner is told."""
    told = session.scalar(
        select(func.count()).where(
            AuditEntry.action == "login.held",
            AuditEntry.target_id == username,
            AuditEntry.at_ms > since,
        )
    )
    user = session.scalar(select(User).where(User.username == username))
    if told or user is None:
        return
    record(
        session,
        actor="server",
        action="login.held",
        target_kind="user",
        target_id=username,
        minutes=limit.window_s // 60,
    )
    minutes = max(1, limit.window_s // 60)
    queue(
        session,
        to=user.email,
        subject="Percobaan masuk yang gagal / Failed sign-ins",
        body=(
            f"Banyak percobaan masuk dengan kata sandi yang salah ke akun {username} dari "
            f"berbagai alamat. Masuk dari peramban baru ditahan sekitar {minutes} menit; "
            f"peramban tempat Anda biasa masuk tetap bisa dipakai. Bila itu bukan Anda, "
            f"ganti kata sandi Anda dan beri tahu administrator.\n\n"
            f"Many sign-ins with a wrong password were tried on account {username} from many "
            f"addresses. Sign-in from new browsers is held for about {minutes} minutes; the "
            f"browser you usually sign in on still works. If it was not you, change your "
            f"password and tell an administrator."
        ),
    )
