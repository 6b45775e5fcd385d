"""Every table of the server, for the migrations and the schema test.

Each area defines its own tables; this module, above them all, imports every one, so that
``Base.metadata`` knows them all.
"""

import server.agencies.models
import server.audit.models
import server.auth.models
import server.bookings.models
import server.calendar.models
import server.energy.models
import server.ingest.models
import server.notify.models
import server.plans.models
import server.privacy.models
import server.registry.models
import server.spaces.models  # noqa: F401
