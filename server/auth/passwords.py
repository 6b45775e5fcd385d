"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.exceptions import AuthError

MIN_LENGTH = 10
_hasher = PasswordHasher()
# Verified when the user does not exist, so an unknown name costs as long as a known one.
_DUMMY = _hasher.hash("not a real password, only for timing")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``, after checking it is long enough."""
    if len(password) < MIN_LENGTH:
        raise AuthError(f"password too short: use at least {MIN_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored`` (None: spend the same time, then False)."""
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored)
