"""Errors raised by the wire contract.

ContractError
 ├── TopicError     a topic that does not follow the scheme
 └── PayloadError   a payload that is not valid for its topic
"""


class ContractError(ValueError):
    """Base class: a message does not follow the wire contract; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TopicError(ContractError):
    """The topic does not match ``{base}/v1/...``."""


class PayloadError(ContractError):
    """The payload is not a valid message for its topic."""
