"""Per-device MQTT passwords in Mosquitto's own hash format (server and gateway share it).

The server keeps only this hash; the gateway writes it into Mosquitto's password file, so
the plain password exists once: in the answer to the installer that registered the
device. The format is Mosquitto 2's PBKDF2-SHA512 line, ``$7$<iterations>$<salt>$<hash>``
with base64 salt (12 bytes) and hash (64 bytes), the same as ``mosquitto_passwd`` writes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

# Broker logins are one namespace. Devices and gateways log in as their ids
# (DEVICE_ID_PATTERN: no dot), and the server keeps the two apart; any other login (a
# building-management system, say) must contain a dot, so no device can ever be given it.
SERVICE_LOGIN_PATTERN: Final = r"^[a-z0-9][a-z0-9-]{0,31}\.[a-z0-9][a-z0-9.-]{0,62}$"

# Mosquitto's own default; the broker checks every connect against it, so a much higher
# count would cost the broker CPU on every reconnect storm of a few thousand nodes.
ITERATIONS = 101
SALT_BYTES = 12


def new_password() -> str:
    """A random device password (about 190 bits), safe in JSON and MQTT."""
    return secrets.token_urlsafe(24)


def mosquitto_hash(
    password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS
) -> str:
    """The password-file hash of ``password`` (a fresh salt unless one is given)."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify(password: str, stored: str) -> bool:
    """Whether ``password`` matches a ``$7$`` hash (ours or mosquitto_passwd's)."""
    try:
        _, kind, iterations, salt, digest = stored.split("$")
        if kind != "7":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.pbkdf2_hmac(
            "sha512", password.encode(), base64.b64decode(salt), int(iterations)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)
