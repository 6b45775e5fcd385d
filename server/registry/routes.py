"""Registry endpoints for gateways."""

from __future__ import annotations

from fastapi import APIRouter

from contracts.registry import RegistrySnapshot
from server.deps import CurrentGateway, DatabaseDep
from server.registry.service import snapshot

router = APIRouter(prefix="/api/v1", tags=["registry"])


@router.get("/gateway/registry", response_model=RegistrySnapshot)
def gateway_registry(gateway: CurrentGateway, db: DatabaseDep) -> RegistrySnapshot:
    """The calling gateway's devices and their spaces."""
    with db.session() as session:
        return snapshot(session, gateway_id=gateway.id)
