"""The four roles and what outranks what."""

from __future__ import annotations

from typing import Final, Literal

Role = Literal["employee", "installer", "facility_manager", "admin"]
# From least to most privileged: when an identity provider's groups map to several roles,
# the user gets the highest.
ROLES: Final[tuple[Role, ...]] = ("employee", "installer", "facility_manager", "admin")

EVERYONE: Final = ROLES
MANAGERS: Final[tuple[Role, ...]] = ("facility_manager", "admin")
INSTALLERS: Final[tuple[Role, ...]] = ("installer", "admin")
STAFF: Final[tuple[Role, ...]] = ("installer", "facility_manager", "admin")
ADMINS: Final[tuple[Role, ...]] = ("admin",)


def highest(roles: list[Role]) -> Role | None:
    """The most privileged of ``roles``."""
    return max(roles, key=ROLES.index) if roles else None
