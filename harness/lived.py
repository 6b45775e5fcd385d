"""A deployment that has been lived in: the demo's building, people and past days.

What a backup, a restore or an upgrade must keep whole: accounts, agencies, the layout,
devices, bookings and their outcomes, weekly series, work plans, forecasts, audit
entries, a privacy request, raw readings and hourly rollups, all made by the real services
(``smartoffice.living.Past``) on whichever database and reading store the settings name.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from server.clock import WITA, now_utc
from server.config import ServerSettings
from server.db import Database
from server.privacy.schemas import PrivacyRequestCreate
from server.privacy.subject import make_request
from server.readings.influx import InfluxReadingStore
from server.services import build_store
from smartoffice import demo
from smartoffice.living import Past, people_of


def lived_in(settings: ServerSettings, *, desks: int = 20, days: int = 1) -> None:
    """Make the demo's building in ``settings``' stores and live ``days`` past days."""

    async def create() -> None:
        store = build_store(settings)
        if isinstance(store, InfluxReadingStore):
            await store.create_database()
        await store.close()

    asyncio.run(create())
    passwords = {name: "lived-in-pw" for name, *_ in demo.PEOPLE}
    fleet, _, _ = demo._prepare(settings, desks, 1883, False, passwords)
    until = now_utc().astimezone(WITA).replace(hour=9, minute=30, second=0, microsecond=0)
    while until.weekday() >= 5:
        until -= timedelta(days=1)
    people = people_of(fleet)
    Past(settings, fleet, demo.BUILDING, people).run(days=days, until=until)
    db = Database(settings.sqlalchemy_url)
    try:
        with db.session() as session:
            make_request(
                session,
                actor=people[0].principal,
                new=PrivacyRequestCreate(kind="anonymise", note="pindah instansi"),
                now_ms=int(datetime.timestamp(until) * 1000),
            )
    finally:
        db.close()
