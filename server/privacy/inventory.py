"""The inventory of personal data: what, where, why, who may see it, and for how long.

The single source: the retention job enforces the ``retention`` of each category, a
person's export holds each category's ``export``, an erasure runs each ``erase``, and the
privacy notice (``/privacy``) and docs/privacy.md are written from these entries and the
settings they name. A category added here is in all four at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.orm import Session

from server.auth.models import User
from server.config import ServerSettings
from server.i18n import N_
from server.privacy import handlers as h


@dataclass(frozen=True, slots=True)
class Category:
    """One kind of personal data the platform holds."""

    key: str
    name: str
    what: str
    where: str
    purpose: str
    basis: str
    who: str
    retention: str | None
    """The ServerSettings field with its days (None: see ``kept``)."""
    after: str
    """What happens at the end of the retention (or at the person's request)."""
    kept: str = ""
    """For a category without a retention setting: how long it is kept, and why."""
    expire_rows: Callable[[Session, int], int] | None = None
    expire_store: Callable[[h.Context, int], Awaitable[int | None]] | None = None
    export: Callable[[Session, User], list[dict[str, Any]]] | None = None
    export_store: (
        Callable[[h.Context, list[h.DeskBooking], int], Awaitable[list[dict[str, Any]]]] | None
    ) = None
    """From the reading store: given the person's desk bookings and the time now."""
    erase: Callable[[Session, User], int] | None = None

    def days(self, settings: ServerSettings) -> int | None:
        """The retention in days from the settings; None without one, 0 when kept."""
        return int(getattr(settings, self.retention)) if self.retention else None


PUBLIC_TASK: Final = N_(
    "Carrying out the agency's duties under the law (UU PDP art. 20(2)(e)): running its "
    "offices and their shared desks."
)

CATEGORIES: Final[tuple[Category, ...]] = (
    Category(
        key="account",
        name=N_("Your account"),
        what=N_(
            "User name, name, e-mail, team, role, language, the buildings an installer "
            "works in, whether you share your desk with your team, the last sign-in, "
            "and a hash of your password and of your calendar link."
        ),
        where=N_("Relational database: users"),
        purpose=N_("Signing in, booking in your name, mail to you, your choices."),
        basis=PUBLIC_TASK,
        who=N_("You; administrators."),
        retention=None,
        after=N_("Deleted when you ask for erasure and an administrator carries it out."),
        kept=N_("As long as you have an account."),
        export=h.export_account,
        erase=h.erase_account,
    ),
    Category(
        key="bookings",
        name=N_("Bookings and their outcomes"),
        what=N_(
            "Which desk or room you booked, for when, whether and how you checked in "
            "(sensor, QR code, a manager for you), when you left, and whether the "
            "booking was released as a no-show."
        ),
        where=N_(
            "Relational database: bookings. The reading store keeps each finished "
            "booking's outcome and hours by its number, without a name."
        ),
        purpose=N_(
            "Holding a desk for you, checking you in, releasing desks nobody came "
            "to, your own history, and reports in aggregate."
        ),
        basis=PUBLIC_TASK,
        who=N_(
            "You, and whoever booked for you. Facility managers see bookings without "
            "names (unless you share your desk with your team) and reports only of "
            "groups of at least the minimum size; an administrator sees a person's "
            "attendance only with a stated reason, which is recorded."
        ),
        retention="booking_retention_days",
        after=N_(
            "Anonymised: your name is removed; the desk, times and outcome stay for "
            "the reports, naming nobody."
        ),
        expire_rows=h.expire_bookings,
        export=h.export_bookings,
    ),
    Category(
        key="plans",
        name=N_("Your work plan"),
        what=N_(
            "Where you plan to work on each day (at the office, another office, home, another "
            "location, official travel, leave), your usual week, a note you add to a day, and "
            "how far ahead your office days are booked."
        ),
        where=N_("Relational database: work plans and planned days."),
        purpose=N_(
            "Flexible work under PermenPANRB 4/2025: booking your desk for office days, your "
            "unit's week for its head, and expected attendance so the building prepares floors "
            "and energy for the people coming."
        ),
        basis=PUBLIC_TASK,
        who=N_(
            "You; the head (atasan) of your unit, each read recorded; colleagues of your unit "
            "see only your office days, and only if you share your desk with your team; "
            "managers see counts per day of groups at least the minimum size."
        ),
        retention="plan_retention_days",
        after=N_(
            "Days planned otherwise than your week are deleted; your week stays until you "
            "change it or your account is erased."
        ),
        expire_rows=h.expire_plan_days,
        export=h.export_plans,
        erase=h.erase_plans,
    ),
    Category(
        key="presence",
        name=N_("What the desk sensors see"),
        what=N_(
            "Whether each desk is occupied, every few seconds, from its presence "
            "sensor. The sensor sees a body, never who it is; together with a "
            "booking it shows when that person was at the desk."
        ),
        where=N_("Reading store (InfluxDB or SQLite): the presence readings of each desk."),
        purpose=N_(
            "Checking in booked people automatically, freeing desks nobody uses, "
            "and hourly occupancy."
        ),
        basis=PUBLIC_TASK,
        who=N_(
            "Facility managers, as floor, zone and building figures of groups at least "
            "the minimum size; the live map shows a desk's state to everyone, without "
            "names. Reads of raw readings are recorded."
        ),
        retention="raw_retention_days",
        after=N_("Deleted."),
        expire_store=h.expire_raw,
        export_store=h.export_presence,
    ),
    Category(
        key="presence_hours",
        name=N_("Hourly occupancy per desk"),
        what=N_("For each desk and hour: how many seconds it was occupied."),
        where=N_("Reading store: hourly presence rollups."),
        purpose=N_("Occupancy reports and energy per occupied desk over the long run."),
        basis=PUBLIC_TASK,
        who=N_("Facility managers, only as figures of groups at least the minimum size."),
        retention="presence_rollup_retention_days",
        after=N_("Deleted (the occupancy history of floors and zones goes with it)."),
        expire_store=h.expire_presence_hours,
    ),
    Category(
        key="mail",
        name=N_("Booking mail"),
        what=N_(
            "Your e-mail address and the messages sent to you: confirmations, reminders, releases."
        ),
        where=N_("Relational database: the mail outbox."),
        purpose=N_("Telling you about your bookings; finding out why a message did not arrive."),
        basis=PUBLIC_TASK,
        who=N_("Administrators (through the database)."),
        retention="mail_retention_days",
        after=N_("Deleted."),
        expire_rows=h.expire_mail,
        export=h.export_mail,
        erase=h.erase_mail,
    ),
    Category(
        key="notifications",
        name=N_("Notifications"),
        what=N_(
            "Your choice of channels (e-mail, notifications on your devices), your quiet hours, "
            "the push address of each browser you allowed, and which messages you were sent "
            "(a reminder, a morning summary) and when."
        ),
        where=N_("Relational database: notification choices, push subscriptions and outbox."),
        purpose=N_(
            "Reminding you before a desk is released, once, by the ways you chose, and never "
            "in your quiet hours."
        ),
        basis=PUBLIC_TASK,
        who=N_("You; administrators (through the database)."),
        retention="mail_retention_days",
        after=N_(
            "What you were sent is deleted; your choices and browsers stay until you change "
            "them or your account is erased (a browser the push service says is gone is "
            "removed at once)."
        ),
        expire_rows=h.expire_notices,
        export=h.export_notifications,
        erase=h.erase_notifications,
    ),
    Category(
        key="logins",
        name=N_("Sign-ins"),
        what=N_(
            "Your browser sessions (when they began and end) and failed sign-ins "
            "under your user name, with the address they came from."
        ),
        where=N_("Relational database: sessions and failed sign-ins."),
        purpose=N_("Keeping you signed in; stopping password guessing; investigating misuse."),
        basis=N_("Security of processing (UU PDP art. 35)."),
        who=N_("Administrators (through the database)."),
        retention="login_retention_days",
        after=N_("Deleted."),
        expire_rows=h.expire_logins,
        export=h.export_logins,
        erase=h.erase_logins,
    ),
    Category(
        key="audit",
        name=N_("Audit log"),
        what=N_(
            "Who changed what, and who read a person's data and why: your own "
            "actions, and those of managers and administrators about you."
        ),
        where=N_("Relational database: the audit log."),
        purpose=N_(
            "Accountability: showing who did what, including every read of "
            "personal data, when a complaint is made."
        ),
        basis=N_("Recording processing activities (UU PDP art. 31)."),
        who=N_("Administrators; you see the entries about you in your export."),
        retention="audit_retention_days",
        after=N_(
            "Deleted. An erasure does not remove it earlier: it is the record that "
            "the erasure, and every read of your data, happened."
        ),
        expire_rows=h.expire_audit,
        export=h.export_audit,
    ),
    Category(
        key="requests",
        name=N_("Your privacy requests"),
        what=N_(
            "Requests to anonymise your history or erase your account, and what became of them."
        ),
        where=N_("Relational database: privacy requests."),
        purpose=N_("Carrying out your requests and showing that they were."),
        basis=N_("The law's duty to honour data subjects' rights (UU PDP art. 5-13)."),
        who=N_("You; administrators."),
        retention="audit_retention_days",
        after=N_("Deleted once decided that long ago, like the audit log's entries."),
        expire_rows=h.expire_requests,
        export=h.export_requests,
    ),
)

BY_KEY: Final = {c.key: c for c in CATEGORIES}
