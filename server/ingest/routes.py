"""``POST /api/v1/ingest``: gateways deliver batches here."""

from __future__ import annotations

import zlib

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import ValidationError

from contracts.batch import IngestBatch, IngestResult
from contracts.payloads import describe
from server.deps import CurrentGateway, IngestDep

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
