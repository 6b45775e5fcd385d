"""A building's layout as installed: its spaces, and the devices assigned to them.

Importing a layout goes through here, so that a space a device is assigned to is not
removed under it, and a desk that moved to another floor or zone takes its devices' tags
along.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.exceptions import LayoutError
from server.registry.models import Device
from server.spaces.schemas import LayoutChanges, LayoutDoc
from server.spaces.service import Plan, space_ref, sync_layout


def import_layout(
    session: Session, doc: LayoutDoc, *, plans: dict[str, Plan] | None = None
) -> LayoutChanges:
    """Create, update or remove what differs from ``doc``; an equal document changes nothing.

    ``plans`` maps floor codes to plan files; floors without one keep the plan they have.
    Spaces the document no longer has are removed, unless a device is still assigned to them.
    """
    changes = sync_layout(
        session, doc, plans=plans, before_removing=partial(_refuse_removing_assigned, session)
    )
    _refresh_device_spaces(session, doc.building.id)
    return changes


def _refuse_removing_assigned(session: Session, building: str, codes: set[str]) -> None:
    """LayoutError naming the devices still assigned to spaces about to go."""
    if not codes:
        return
    assigned = session.scalars(
        select(Device)
        .where(Device.building == building, Device.space.in_(codes))
        .where(Device.decommissioned_ms.is_(None))
        .order_by(Device.id)
    ).all()
    if assigned:
        pairs = ", ".join(f"{d.space} (device {d.id})" for d in assigned[:10])
        raise LayoutError(
            f"the layout removes spaces that devices are assigned to: {pairs}; "
            "reassign or decommission those devices first"
        )


def _refresh_device_spaces(session: Session, building: str) -> None:
    """A desk that moved to another floor or zone carries its devices' tags with it."""
    devices = session.scalars(
        select(Device).where(Device.building == building, Device.space.is_not(None))
    ).all()
    for device in devices:
        ref = space_ref(session, building, device.space or "")
        if ref is not None:
            device.floor, device.zone = ref["floor"], ref["zone"]
