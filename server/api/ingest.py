"""``POST /api/v1/ingest``: gateways deliver batches here; admins read what was refused."""

from __future__ import annotations

import zlib
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import ValidationError

from contracts.batch import IngestBatch, IngestResult, RejectionKind
from contracts.payloads import describe
from server.api.deps import Admin, CurrentGateway, DatabaseDep, IngestDep
from server.ingest.schemas import QuarantinedPublic
from server.ingest.service import quarantined

router = APIRouter(prefix="/api/v1", tags=["ingest"])
MAX_BODY = 64 * 1024 * 1024


def _gunzip(body: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, MAX_BODY)
    except zlib.error as exc:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail=f"body is not valid gzip: {exc}"
        ) from exc
    if inflater.unconsumed_tail:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            detail=f"batch inflates past {MAX_BODY} bytes: send smaller batches",
        )
    return out


@router.post("/ingest", response_model=IngestResult)
async def ingest(request: Request, gateway: CurrentGateway, service: IngestDep) -> IngestResult:
    """Store a gateway's batch of readings (gzip JSON). Re-sending a batch is safe."""
    body = await request.body()
    if request.headers.get("content-encoding", "").lower() == "gzip":
        body = _gunzip(body)
    elif len(body) > MAX_BODY:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail="batch too large")
    try:
        batch = IngestBatch.model_validate_json(body)
    except ValidationError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"not an ingest batch: {describe(exc)}"
        ) from exc
    if batch.gateway_id != gateway.id:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"token belongs to gateway {gateway.id!r}, batch says {batch.gateway_id!r}",
        )
    return await service.ingest(gateway_id=gateway.id, batch=batch)


@router.get("/ingest/quarantine", response_model=list[QuarantinedPublic])
def ingest_quarantine(
    _: Admin,
    db: DatabaseDep,
    gateway: Annotated[str | None, Query(max_length=32)] = None,
    device: Annotated[str | None, Query(max_length=64)] = None,
    kind: RejectionKind | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[QuarantinedPublic]:
    """Readings that gateways sent and the server did not store, with why; newest first."""
    with db.session(commit=False) as session:
        return quarantined(session, gateway=gateway, device=device, kind=kind, limit=limit)
