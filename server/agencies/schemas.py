"""Agencies as the API takes and shows them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from contracts.payloads import Label


class AgencyDoc(BaseModel):
    """An agency's names and who answers for its people's personal data."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="In Bahasa Indonesia.")
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    controller: str | None = Field(
        default=None,
        max_length=300,
        description="The controller of its people's personal data (UU PDP), as the privacy "
        "notice names it; empty: the platform's (SMARTOFFICE_PRIVACY_CONTROLLER).",
    )
    contact: str | None = Field(
        default=None, max_length=300, description="Its data protection officer's contact."
    )


class AgencyCreate(AgencyDoc):
    """A new agency, with the code people and layouts use for it."""

    id: Label


class AgencyPublic(AgencyDoc):
    """An agency as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: str

    def said(self, lang: str) -> str:
        """Its name in ``lang`` (Indonesian when it has no English one)."""
        return self.name_en if lang == "en" and self.name_en else self.name
