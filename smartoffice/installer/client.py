"""The installer's session and API calls, with errors that say what to do.

The session (server and token) is kept readable only by the user, in their config dir.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


class CliError(Exception):
    """A failure to show the installer as one clear line (and exit non-zero)."""


def config_dir() -> Path:
    """Where the CLI keeps its session and device files (``SMARTOFFICE_CLI_HOME``)."""
    home = os.environ.get("SMARTOFFICE_CLI_HOME")
    if home:
        return Path(home)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "smartoffice"


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (sessions and device passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


@dataclass
class Session:
    """A logged-in session."""

    server: str
    username: str
    token: str
    expires: float

    @classmethod
    def load(cls) -> Session:
        """The saved session, or CliError asking to log in."""
        path = config_dir() / "session.json"
        try:
            data = json.loads(path.read_text())
            session = cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise CliError("not logged in: run `smartoffice login --server URL`") from exc
        if session.expires < time.time():
            raise CliError(
                f"your session on {session.server} expired: run `smartoffice login` again"
            )
        return session

    def save(self) -> Path:
        """Keep the session for later commands."""
        path = config_dir() / "session.json"
        write_private(path, json.dumps(self.__dict__))
        return path


def login(server: str, username: str, password: str) -> Session:
    """Log in with the OAuth2 password flow and keep the session."""
    server = server.rstrip("/")
    try:
        resp = httpx.post(
            f"{server}/api/v1/auth/token",
            data={"username": username, "password": password},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        raise CliError(f"cannot reach the server at {server}: {exc}") from exc
    if resp.status_code != 200:
        raise CliError(f"login refused: {_detail(resp)}")
    body = resp.json()
    session = Session(server, username, body["access_token"], time.time() + body["expires_in"])
    session.save()
    return session


def _detail(resp: httpx.Response) -> str:
    try:
        detail = resp.json().get("detail")
    except ValueError:
        detail = None
    if isinstance(detail, list):  # FastAPI's validation errors
        detail = "; ".join(
            f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail
        )
    return str(detail or resp.text[:200] or resp.reason_phrase)


class Api:
    """Calls to the server as the logged-in user."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._http = httpx.Client(
            base_url=session.server,
            headers={"Authorization": f"Bearer {session.token}"},
            timeout=90,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The decoded answer, or CliError with the server's reason."""
        try:
            resp = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach the server at {self.session.server}: {exc}") from exc
        if resp.status_code == 401:
            raise CliError(f"{_detail(resp)}: run `smartoffice login` again")
        if resp.status_code >= 400:
            raise CliError(_detail(resp))
        return resp.json() if resp.content else None
