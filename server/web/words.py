"""Words several pages share: a booking's states and outcomes, said in the page's language."""

from __future__ import annotations

from typing import Final

from server.i18n import N_, gettext

STATES: Final = {
    "booked": N_("Booked"),
    "checked_in": N_("Checked in"),
    "completed": N_("Done"),
    "released": N_("Released"),
    "cancelled": N_("Cancelled"),
}
OUTCOMES: Final = {
    "attended": N_("Attended"),
    "no_show": N_("No-show: released"),
    "walk_in": N_("Walk-in"),
    "released_early": N_("Left early: released"),
    "cancelled": N_("Cancelled"),
    "released": N_("Released"),
    "completed": N_("Done"),
    "booked": N_("Booked"),
    "checked_in": N_("Checked in"),
}


def translated(lang: str, table: dict[str, str]) -> dict[str, str]:
    """``table``'s words in ``lang``."""
    return {k: gettext(lang, v) for k, v in table.items()}
