"""The roles, what outranks what, and which of them act for one agency only.

A platform administrator (``admin``) and a building operator (``facility_manager``) reach
every agency; an agency's administrator (``agency_admin``) and an agency's facility manager
(``agency_manager``) reach their own agency only: its people, floors, rules and reports.
Which agency is the account's (``User.agency_id``); the services check it (``Principal.reaches``).
"""

from __future__ import annotations

from typing import Final, Literal

from server.i18n import N_

Role = Literal[
    "employee", "installer", "agency_manager", "facility_manager", "agency_admin", "admin"
]
# From least to most privileged: when an identity provider's groups map to several roles,
# the user gets the highest.
ROLES: Final[tuple[Role, ...]] = (
    "employee",
    "installer",
    "agency_manager",
    "facility_manager",
    "agency_admin",
    "admin",
)

EVERYONE: Final = ROLES
MANAGERS: Final[tuple[Role, ...]] = ("facility_manager", "admin")
"""The building's whole: energy, comfort, plans and layouts, every agency's floors."""
REPORTERS: Final[tuple[Role, ...]] = ("agency_manager", "facility_manager", "agency_admin", "admin")
"""Reports, the live map and desk blocks: an agency's roles for their agency's floors only."""
INSTALLERS: Final[tuple[Role, ...]] = ("installer", "admin")
STAFF: Final[tuple[Role, ...]] = ("installer", "facility_manager", "admin")
"""Devices and gateways: the building's, never an agency's."""
ADMINS: Final[tuple[Role, ...]] = ("admin",)
"""The platform's whole: buildings' rules, gateways, agencies."""
PEOPLE_ADMINS: Final[tuple[Role, ...]] = ("agency_admin", "admin")
"""Accounts, privacy requests, the audit log, lending floors: an agency's for its own."""
AGENCY_ROLES: Final[tuple[Role, ...]] = ("agency_admin", "agency_manager")
"""Roles that act for one agency and need one; the other staff roles belong to none."""


LABELS: Final[dict[str, str]] = {
    "employee": N_("Employee"),
    "installer": N_("Installer"),
    "agency_manager": N_("Agency's facility manager"),
    "facility_manager": N_("Facility manager"),
    "agency_admin": N_("Agency's administrator"),
    "admin": N_("Administrator"),
}
"""Each role as people read it (translated where it is shown)."""


def highest(roles: list[Role]) -> Role | None:
    """The most privileged of ``roles``."""
    return max(roles, key=ROLES.index) if roles else None
