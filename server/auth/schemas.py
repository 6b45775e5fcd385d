"""Users and tokens as the API shows and takes them."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Annotated, Final, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from contracts.payloads import Label
from server.roles import Role

USERNAME_PATTERN: Final = r"^[a-z0-9][a-z0-9._@-]{1,99}$"
Username = Annotated[str, StringConstraints(pattern=USERNAME_PATTERN)]
"""One syntax for every account, local or the identity provider's (``username_from``)."""


def username_from(name: str, subject: str) -> str:
    """A provider's name for someone, as a username of ours: never trusted as it comes.

    Lower case, accents dropped, anything but letters, digits and ``._@-`` made ``-``, no
    separator first; a name that leaves nothing usable becomes ``sso-`` and a digest of the
    provider's subject. ``../users/x`` is ``users-x``, a label like any other, never a path.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    cleaned = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9._@-]", "-", ascii_name))
    cleaned = re.sub(r"^[^a-z0-9]+", "", cleaned)[:100].rstrip("-.")
    if re.fullmatch(USERNAME_PATTERN, cleaned):
        return cleaned
    return "sso-" + hashlib.sha256(subject.encode()).hexdigest()[:12]


Agency = Annotated[
    Label | None,
    Field(
        validation_alias=AliasChoices("agency", "agency_id"),
        description="The agency (instansi) the person works for, by its code; null for the "
        "platform's and the buildings' own staff.",
    ),
]
Buildings = Annotated[
    list[Label] | None,
    Field(
        max_length=30,
        description="The buildings an installer may work in (devices); null is every building. "
        "Other roles are not limited by it.",
    ),
]


def split_buildings(text: str) -> list[str]:
    """Buildings as listed in the users table (comma-separated)."""
    return [b for b in text.split(",") if b]


class UserBase(BaseModel):
    """Fields shared by every user schema."""

    model_config = ConfigDict(extra="forbid")

    display_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=200)
    team: str | None = Field(
        default=None,
        max_length=100,
        description="The person's unit (unit kerja): one of their agency's units when it lists "
        "any, else free text.",
    )
    role: Role = "employee"
    agency: Agency = None
    buildings: Buildings = None


class UserCreate(UserBase):
    """A new local account (``password`` at least 10 characters)."""

    username: Username
    password: str = Field(min_length=10, max_length=200)


class UserUpdate(BaseModel):
    """Changes to an account; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=200)
    team: str | None = Field(default=None, max_length=100)
    role: Role | None = None
    agency: Agency = None
    buildings: Buildings = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=200)

    @model_validator(mode="after")
    def _no_null_for_what_every_account_has(self) -> UserUpdate:
        # email, team and buildings may be cleared with null; the others cannot be nothing.
        for name in ("display_name", "role", "active", "password"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; leave it out to keep it as it is")
        return self


class UserPublic(UserBase):
    """An account as the API shows it (never the hash)."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    username: str
    source: str
    active: bool
    last_login_ms: int | None

    @field_validator("buildings", mode="before")
    @classmethod
    def _listed(cls, value: object) -> object:
        return split_buildings(value) if isinstance(value, str) else value


class Token(BaseModel):
    """The answer to a login (OAuth2 password flow)."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: Role


class Preferences(BaseModel):
    """What a person may change about themselves."""

    model_config = ConfigDict(extra="forbid")

    share_location: bool | None = Field(
        default=None,
        description="Let colleagues of your team see where you sit (colleague finder).",
    )
    language: Literal["id", "en", "auto"] | None = Field(
        default=None,
        description="The language of pages, mail and messages; auto follows the browser.",
    )
