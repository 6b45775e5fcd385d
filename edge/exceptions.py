"""Errors of the edge gateway.

EdgeError
 ├── UplinkError      the server did not take a batch (retryable unless ``permanent``)
 └── BrokerFilesError the broker's password/ACL files could not be written or reloaded
"""


class EdgeError(Exception):
    """Base class of the gateway's own errors."""


class UplinkError(EdgeError):
    """A batch was not accepted by the server."""

    def __init__(self, message: str, *, status: int | None = None, permanent: bool = False):
        super().__init__(message)
        self.status = status
        self.permanent = permanent


class BrokerFilesError(EdgeError):
    """Mosquitto's password or ACL file could not be written, or Mosquitto not reloaded."""
