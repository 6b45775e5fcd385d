"""Domain errors of the server; routes turn them into HTTP answers.

ServerError
 ├── StoreError          a reading store failed (unreachable, refused a write or query)
 ├── DatabaseError       the relational database failed
 ├── QueryError          a query asked for something the store cannot answer
 ├── RegistryError       a registry import or lookup was not valid
 ├── LayoutError         a layout document is not valid (says where)
 ├── NotFoundError       the thing asked for does not exist
 ├── ConflictError       the request contradicts the current state
 ├── Forbidden           the caller's role may do this, but not here
 ├── Refusal             a booking rule says no (names the rule)
 └── AuthError           a login or token was refused
     └── RateLimited     too many failed logins; retry later
"""


class ServerError(Exception):
    """Base class of the server's own errors."""


class StoreError(ServerError):
    """A reading store could not do what was asked; the data was not stored or read."""


class DatabaseError(ServerError):
    """The relational database could not do what was asked; nothing was committed."""


class QueryError(ServerError):
    """A query is not valid (unknown stream, field or aggregation; bad time range)."""


class RegistryError(ServerError):
    """A registry document or lookup is not valid; the message says where."""


class LayoutError(ServerError):
    """A layout document is not valid; the message names the line or path and field."""


class NotFoundError(ServerError):
    """The building, floor, device, user or gateway asked for does not exist."""


class ConflictError(ServerError):
    """The request contradicts the current state (an id taken, a device decommissioned)."""


class Forbidden(ServerError):
    """The caller's role allows this, but not on this thing (a building not theirs)."""


class AuthError(ServerError):
    """A login or token was refused; the message says why without helping an attacker."""


class RateLimited(AuthError):
    """Too many failed logins for this account or address."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Refusal(ServerError):
    """A booking the rules do not allow: ``rule`` names which, the message says why."""

    def __init__(self, rule: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.rule = rule
        self.status = status
