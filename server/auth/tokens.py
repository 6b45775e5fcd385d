"""Access tokens: the server's own short-lived JWTs, and the identity provider's.

Tokens from the agency's identity provider (OpenID Connect) are checked against its
published keys (JWKS) and its groups are mapped to roles.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import jwt

from server.auth.schemas import username_from
from server.clock import now_ms
from server.exceptions import AuthError
from server.i18n import T
from server.roles import ROLES, Role, highest

ISSUER = "ikn-smartoffice"
AUDIENCE = "ikn-smartoffice"
ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class Claims:
    """Who a verified token speaks for."""

    username: str
    role: Role | None
    source: str
    display_name: str | None = None
    email: str | None = None
    issuer: str | None = None
    """For a provider's token: who vouches for the person (``iss``) ..."""
    subject: str | None = None
    """... and the provider's own, never reassigned id of the person (``sub``)."""
    agency: str | None = None
    """The agency the provider says the person works for (its code here), when it says."""
    agency_given: bool = False
    """Whether the provider is asked for the agency at all (SMARTOFFICE_OIDC_AGENCY_CLAIM)."""
    unit: str | None = None
    """The unit (unit kerja) the provider says the person works in, when asked for one."""


class LocalTokens:
    """Issues and verifies the server's own HS256 JWTs."""

    def __init__(self, secret: str, lifetime_s: int) -> None:
        self._secret = secret
        self.lifetime_s = lifetime_s

    def issue(self, *, username: str, role: str) -> str:
        """A signed token for ``username``, valid for ``lifetime_s``."""
        now = now_ms() // 1000
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": username,
            "role": role,
            "iat": now,
            "exp": now + self.lifetime_s,
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Claims:
        """The claims of a valid token, or AuthError saying why it is not."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError(T("token expired: log in again")) from exc
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from exc
        return Claims(username=claims["sub"], role=None, source="local")


class OidcVerifier:
    """Validates the identity provider's tokens by its JWKS and maps its groups to roles."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str,
        role_map: dict[str, Role],
        default_role: Role | None,
        username_claim: str = "preferred_username",
        groups_claim: str = "groups",
        agency_claim: str | None = None,
        agency_map: dict[str, str] | None = None,
        agency: str | None = None,
        unit_claim: str | None = None,
        algorithms: tuple[str, ...] = ("RS256", "ES256", "PS256"),
    ) -> None:
        """A verifier of one provider's tokens.

        ``agency`` is the one agency of a provider that only one agency uses (its people are
        that agency's, whatever the token says); else ``agency_claim`` names it.
        """
        self.issuer = issuer
        self._audience = audience
        # PyJWKClient caches the key set and fetches it again for a key id it has not seen,
        # so the provider's key rotation needs no restart.
        self._keys = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=3600, timeout=10)
        self._role_map = role_map
        self._default_role = default_role
        self._username_claim = username_claim
        self._groups_claim = groups_claim
        self._agency_claim = agency_claim
        self._agency_map = agency_map or {}
        self._agency = agency
        self._unit_claim = unit_claim
        self._algorithms = list(algorithms)

    def verify(self, token: str) -> Claims:
        """The claims of a valid provider token, with the role its groups map to."""
        return self._claims(self._decode(token, self._audience))

    def verify_id_token(self, token: str, *, audience: str, nonce: str) -> Claims:
        """The person of an ID token from the sign-in flow: for this client, this sign-in."""
        claims = self._decode(token, audience)
        if claims.get("nonce") != nonce:
            raise AuthError(T("the identity provider's answer is not for this sign-in (nonce)"))
        return self._claims(claims)

    def _decode(self, token: str, audience: str) -> dict[str, Any]:
        try:
            key = self._keys.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=self._algorithms,
                audience=audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token expired: sign in again at the identity provider") from exc
        except jwt.PyJWKClientConnectionError as exc:
            raise AuthError(f"identity provider keys unavailable: {exc}") from exc
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid identity provider token: {exc}") from exc
        return claims

    def _claims(self, claims: dict[str, Any]) -> Claims:
        username = claims.get(self._username_claim) or claims["sub"]
        groups = claims.get(self._groups_claim) or []
        if isinstance(groups, str):
            groups = [groups]
        role = highest([self._role_map[g] for g in groups if g in self._role_map])
        role = role or self._default_role
        if role is None:
            raise AuthError(
                T(
                    "no role for {user}: none of their groups is mapped to a role ({roles})",
                    user=repr(username),
                    roles=", ".join(ROLES),
                )
            )
        said = claims.get(self._agency_claim) if self._agency_claim else None
        agency = None
        if said is not None:
            # The provider's name for it (``KEMENKOPMK``, an org code) mapped to the code
            # here; a name with no mapping is taken as the code itself.
            agency = self._agency_map.get(str(said), str(said))[:32]
        unit = claims.get(self._unit_claim) if self._unit_claim else None
        return Claims(
            username=username_from(str(username), str(claims["sub"])),
            role=role,
            source="oidc",
            display_name=claims.get("name"),
            email=claims.get("email"),
            issuer=str(claims["iss"])[:200],
            subject=str(claims["sub"])[:255],
            agency=self._agency or agency,
            agency_given=self._agency is not None or self._agency_claim is not None,
            unit=" ".join(str(unit).split())[:100] or None if unit is not None else None,
        )


def unverified_issuer(token: str) -> str | None:
    """The ``iss`` claim before verification, to pick the verifier."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    iss = claims.get("iss")
    return iss if isinstance(iss, str) else None
