"""Errors of the edge gateway.

EdgeError
 ├── UplinkError      the server did not take a batch (``kind`` says whether to retry)
 └── BrokerFilesError the broker's password/ACL files could not be written or reloaded
"""


class EdgeError(Exception):
    """Base class of the gateway's own errors."""


class UplinkError(EdgeError):
    """A batch was not accepted by the server.

    ``kind``: ``transient`` (unreachable, overloaded, storage down: send it again later),
    ``content`` (the server says the batch itself is bad: find the reading and set it
    aside), or ``suspect`` (an internal server error: it may be the content, so the batch
    is narrowed down and a single reading that keeps failing is set aside).
    """

    def __init__(self, message: str, *, status: int | None = None, kind: str = "transient"):
        super().__init__(message)
        self.status = status
        self.kind = kind


class BrokerFilesError(EdgeError):
    """Mosquitto's password or ACL file could not be written, or Mosquitto not reloaded."""
