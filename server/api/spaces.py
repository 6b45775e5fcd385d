"""Buildings and floor maps for everyone; layout changes for facility managers and admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from server.api.deps import Anyone, DatabaseDep, Manager
from server.audit.service import record
from server.exceptions import LayoutError
from server.registry.layout import import_layout
from server.spaces.loader import MAX_PLAN_BYTES, PLAN_TYPES, parse_layout
from server.spaces.plans import PLAN_CSP, checked_plan
from server.spaces.schemas import BuildingPublic, FloorPublic, LayoutChanges
from server.spaces.service import building, buildings, floor_map, get_floor

router = APIRouter(prefix="/api/v1/buildings", tags=["spaces"])


@router.get("", response_model=list[BuildingPublic])
def list_buildings(_: Anyone, db: DatabaseDep) -> list[BuildingPublic]:
    """Every building and its floors."""
    with db.session() as session:
        return buildings(session)


@router.get("/{building_id}", response_model=BuildingPublic)
def get_building(building_id: str, _: Anyone, db: DatabaseDep) -> BuildingPublic:
    """One building and its floors."""
    with db.session() as session:
        return building(session, building_id)


@router.get("/{building_id}/floors/{floor_id}", response_model=FloorPublic)
def get_floor_map(building_id: str, floor_id: str, _: Anyone, db: DatabaseDep) -> FloorPublic:
    """A floor's zones, desks and rooms with their plan coordinates."""
    with db.session() as session:
        return floor_map(session, building_id, floor_id)


@router.get("/{building_id}/floors/{floor_id}/plan", response_class=Response)
def get_plan(building_id: str, floor_id: str, _: Anyone, db: DatabaseDep) -> Response:
    """The floor's plan image (SVG, PNG or JPEG)."""
    with db.session() as session:
        floor = get_floor(session, building_id, floor_id)
        if floor.plan is None:
            return Response(status_code=404, content=b'{"detail":"this floor has no plan"}')
        return Response(
            floor.plan,
            media_type=floor.plan_type or "application/octet-stream",
            headers={"Content-Security-Policy": PLAN_CSP, "X-Content-Type-Options": "nosniff"},
        )


@router.put("/{building_id}/floors/{floor_id}/plan", status_code=204)
async def put_plan(
    building_id: str, floor_id: str, request: Request, user: Manager, db: DatabaseDep
) -> None:
    """Replace a floor's plan; send the file as the body with its Content-Type."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind not in PLAN_TYPES.values():
        raise LayoutError(f"plan must be one of {', '.join(sorted(set(PLAN_TYPES.values())))}")
    data = await request.body()
    if not data or len(data) > MAX_PLAN_BYTES:
        raise LayoutError("plan must be between 1 byte and 10 MiB")
    data = checked_plan(data, kind)
    with db.session() as session:
        floor = get_floor(session, building_id, floor_id)
        floor.plan, floor.plan_type = data, kind
        record(
            session,
            actor=user.username,
            action="layout.plan",
            target_kind="floor",
            target_id=f"{building_id}/{floor_id}",
            bytes=len(data),
        )


@router.put("/{building_id}/layout", response_model=LayoutChanges)
def put_layout(
    building_id: str,
    doc: Annotated[dict[str, Any], Body()],
    user: Manager,
    db: DatabaseDep,
    dry_run: bool = False,
) -> LayoutChanges:
    """Make the building match a layout document; ``dry_run`` only reports the changes.

    Floor plans are uploaded separately and kept across layout changes.
    """
    layout = parse_layout(doc)
    if layout.building.id != building_id:
        raise LayoutError(
            f"building.id: the document is for {layout.building.id!r}, the URL for {building_id!r}"
        )
    with db.session(commit=not dry_run) as session:
        changes = import_layout(session, layout)
        if changes.changed and not dry_run:
            record(
                session,
                actor=user.username,
                action="layout.import",
                target_kind="building",
                target_id=building_id,
                created=changes.created,
                updated=changes.updated,
                removed=changes.removed,
            )
    return changes
