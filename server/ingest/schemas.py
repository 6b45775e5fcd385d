"""What the ingest API shows of refused readings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from contracts.batch import RejectionKind


class QuarantinedPublic(BaseModel):
    """A reading the server refused: when, from which gateway and batch, and why."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    received_ms: int
    gateway_id: str
    batch_id: str
    device: str | None
    kind: RejectionKind
    reason: str
    reading: str
