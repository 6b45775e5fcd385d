"""The broker's password and ACL files, written from the registry snapshot.

Each device may publish only its own readings and status and read only its own downlink;
the gateway reads every device's uplink and writes every device's downlink and the zones'
commands; an optional building-management login may only read the zones' commands. When the files
change, Mosquitto is told to reload them (SIGHUP), so a registered device can connect and a
decommissioned one cannot, with no broker restart.
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
import subprocess
from pathlib import Path

from contracts.credentials import mosquitto_hash, verify
from contracts.registry import RegistrySnapshot
from contracts.topics import Topics
from edge.exceptions import BrokerFilesError

logger = logging.getLogger(__name__)


class BrokerFiles:
    """Renders, writes and reloads Mosquitto's ``password_file`` and ``acl_file``."""

    def __init__(
        self,
        *,
        passwd_path: Path,
        acl_path: Path,
        topics: Topics,
        gateway_username: str,
        gateway_password: str,
        reload_pid_file: Path | None = None,
        reload_command: str | None = None,
        bms: tuple[str, str] | None = None,
    ) -> None:
        self.passwd_path = passwd_path
        self.acl_path = acl_path
        self._topics = topics
        self._gateway = gateway_username
        self._gateway_hash = self._stable_hash(gateway_password)
        self._reload_pid_file = reload_pid_file
        self._reload_command = reload_command
        self._bms = bms
        self.reloads = 0

    def _stable_hash(self, password: str) -> str:
        """The gateway's own password line, reused from disk while it still matches.

        So an unchanged registry writes an unchanged file and causes no reload.
        """
        if self.passwd_path.exists():
            for line in self.passwd_path.read_text().splitlines():
                user, _, stored = line.partition(":")
                if user == self._gateway and verify(password, stored):
                    return stored
        return mosquitto_hash(password)

    def render(self, snap: RegistrySnapshot) -> tuple[str, str]:
        """The password file and the ACL file for ``snap``."""
        t = self._topics
        head = (
            f"# Written by gateway {snap.gateway_id} from registry {snap.version}; do not edit.\n"
        )
        passwd = [f"{self._gateway}:{self._gateway_hash}"]
        acl = [
            head,
            f"user {self._gateway}",
            f"topic read {t.all_uplink_filter}",
            f"topic read {t.status_filter}",
            f"topic write {t.down_filter}",
            f"topic write {t.zone_down_filter}",
            f"topic readwrite {t.gateway_status(snap.gateway_id)}",
            "",
        ]
        taken = {self._gateway, snap.gateway_id}
        if self._bms is not None:
            user, hashed = self._bms
            passwd.append(f"{user}:{hashed}")
            acl += [f"user {user}", f"topic read {t.zone_down_filter}", ""]
            taken.add(user)
        for device in sorted(snap.devices, key=lambda d: d.device_id):
            if device.mqtt_hash is None:
                continue
            d = device.device_id
            if d in taken:
                # The server refuses such ids; a registry that carries one anyway must not
                # give a device a second line for another login (its password would then
                # log in as the gateway or the BMS).
                logger.error("device %r left out of the broker's logins: %r is taken", d, d)
                continue
            taken.add(d)
            passwd.append(f"{d}:{device.mqtt_hash}")
            acl += [
                f"user {d}",
                f"topic write {t.device_up_filter(d)}",
                f"topic write {t.status(d)}",
                f"topic read {t.device_down_filter(d)}",
                "",
            ]
        return "\n".join(passwd) + "\n", "\n".join(acl)

    def write(self, snap: RegistrySnapshot) -> bool:
        """Write the files if they differ from what is on disk; True if written."""
        passwd, acl = self.render(snap)
        if _read(self.passwd_path) == passwd and _read(self.acl_path) == acl:
            return False
        _write(self.passwd_path, passwd)
        _write(self.acl_path, acl)
        logger.info(
            "broker files written for registry %s (%d device logins)",
            snap.version,
            passwd.count("\n") - 1,
        )
        return True

    def apply(self, snap: RegistrySnapshot) -> bool:
        """Write the files if they changed, then have Mosquitto reload; True if written."""
        if not self.write(snap):
            return False
        self.reload()
        return True

    def reload(self) -> None:
        """Ask Mosquitto to re-read its files (SIGHUP by pid file, or a configured command)."""
        try:
            if self._reload_pid_file is not None:
                pid = int(self._reload_pid_file.read_text().strip())
                os.kill(pid, signal.SIGHUP)
            elif self._reload_command:
                subprocess.run(shlex.split(self._reload_command), check=True, timeout=30)
            else:
                # A watcher reloads Mosquitto (run.sh in compose, a systemd path unit).
                logger.info(
                    "broker files changed; Mosquitto reloads them from %s", self.passwd_path.parent
                )
                return
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            raise BrokerFilesError(f"could not make Mosquitto reload its files: {exc}") from exc
        self.reloads += 1


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _write(path: Path, text: str) -> None:
    """Replace ``path`` atomically; only its owner and group may read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
