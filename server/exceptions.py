"""Domain errors of the server; routes turn them into HTTP answers.

ServerError
 ├── StoreError          a reading store failed (unreachable, refused a write or query)
 ├── DatabaseError       the relational database failed
 ├── QueryError          a query asked for something the store cannot answer
 └── RegistryError       a registry import or lookup was not valid
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
