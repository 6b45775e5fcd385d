"""Single sign-on for the pages: OpenID Connect's authorization-code flow with PKCE.

The browser is sent to the agency's identity provider with a fresh ``state``, ``nonce``
and PKCE code challenge (S256); the provider sends it back with a code, which the server
exchanges, with the code verifier, for an ID token; the token is checked like the API's
provider tokens (signature, issuer, expiry) and must name this client and this sign-in's
nonce. What must survive the round trip (state, verifier, nonce, where to go next) rides
in a short-lived cookie signed by the server, so no replica keeps anything.

The protocol's pieces are authlib's (PyPI ``authlib``): the authorization request and the
PKCE challenge; the token request is one form POST (httpx).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Final

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from server.auth.tokens import Claims, OidcVerifier
from server.clock import now_ms
from server.exceptions import AuthError
from server.i18n import T

COOKIE: Final = "smartoffice_sso"
COOKIE_PATH: Final = "/app/login/sso"
LIFETIME_S: Final = 600
"""How long a person may take at the provider's sign-in page."""


@dataclass(frozen=True, slots=True)
class Pending:
    """A sign-in on its way through the provider."""

    state: str
    verifier: str
    nonce: str
    next: str
    provider: int = 0
    """Which of the pages' providers it went to (``SsoClient.index``)."""


@dataclass
class SsoClient:
    """The pages' client at the identity provider."""

    verifier: OidcVerifier
    client_id: str
    client_secret: str | None
    redirect_uri: str
    key: str
    """Signs the pending sign-in's cookie."""
    authorization_url: str | None = None
    token_url: str | None = None
    index: int = 0
    """Its place among the pages' providers: 0 is the main one."""
    name: str | None = None
    """What the sign-in button calls it (an agency's own provider); None: the main one."""

    async def _endpoints(self) -> tuple[str, str]:
        if self.authorization_url is None or self.token_url is None:
            discovery = self.verifier.issuer.rstrip("/") + "/.well-known/openid-configuration"
            try:
                async with httpx.AsyncClient(timeout=10) as http:
                    doc = (await http.get(discovery)).raise_for_status().json()
                self.authorization_url = self.authorization_url or doc["authorization_endpoint"]
                self.token_url = self.token_url or doc["token_endpoint"]
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                raise AuthError(f"the identity provider cannot be reached: {exc}") from exc
        assert self.authorization_url is not None
        assert self.token_url is not None
        return self.authorization_url, self.token_url

    async def begin(self, next_path: str) -> tuple[str, str]:
        """Where to send the browser, and the cookie that remembers this sign-in."""
        authorize, _ = await self._endpoints()
        state, verifier, nonce = generate_token(30), generate_token(64), generate_token(30)
        challenge = create_s256_code_challenge(verifier)  # type: ignore[no-untyped-call]
        url = prepare_grant_uri(
            authorize,
            self.client_id,
            "code",
            redirect_uri=self.redirect_uri,
            scope="openid profile email",
            state=state,
            nonce=nonce,
            code_challenge=challenge,
            code_challenge_method="S256",
        )
        return url, self._seal(Pending(state, verifier, nonce, next_path, self.index))

    async def finish(self, *, code: str, state: str, cookie: str | None) -> tuple[Claims, str]:
        """The person the provider vouches for, and where they were going."""
        pending = self._open(cookie)
        if pending is None or not hmac.compare_digest(pending.state, state):
            raise AuthError(T("this sign-in expired or was not started here: start it again"))
        _, token_url = await self._endpoints()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "code_verifier": pending.verifier,
        }
        if self.client_secret:
            form["client_secret"] = self.client_secret
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                resp = await http.post(token_url, data=form, headers={"Accept": "application/json"})
            token: dict[str, Any] = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise AuthError(
                T("the identity provider refused the sign-in: {why}", why=str(exc))
            ) from exc
        if resp.status_code != 200 or "error" in token:
            why = str(token.get("error_description") or token.get("error") or resp.status_code)
            raise AuthError(T("the identity provider refused the sign-in: {why}", why=why))
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise AuthError(T("the identity provider sent no ID token"))
        claims = self.verifier.verify_id_token(
            id_token, audience=self.client_id, nonce=pending.nonce
        )
        return claims, pending.next

    def _seal(self, pending: Pending) -> str:
        body = json.dumps(
            {
                "s": pending.state,
                "v": pending.verifier,
                "n": pending.nonce,
                "x": pending.next,
                "p": pending.provider,
                "t": now_ms() // 1000,
            }
        ).encode()
        data = base64.urlsafe_b64encode(body).decode().rstrip("=")
        return f"{data}.{self._sign(data)}"

    def _open(self, cookie: str | None) -> Pending | None:
        if not cookie or "." not in cookie:
            return None
        data, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._sign(data)):
            return None
        body = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
        if now_ms() // 1000 - body["t"] > LIFETIME_S:
            return None
        if body.get("p", 0) != self.index:
            return None  # begun at another provider
        return Pending(body["s"], body["v"], body["n"], body["x"], self.index)

    def _sign(self, data: str) -> str:
        return hmac.new(self.key.encode(), b"sso:" + data.encode(), hashlib.sha256).hexdigest()


def provider_of(cookie: str | None) -> int:
    """Which provider a pending sign-in went to (0 when the cookie says nothing readable).

    Only a hint to pick the client: that client then checks the cookie's signature.
    """
    if not cookie or "." not in cookie:
        return 0
    data = cookie.rsplit(".", 1)[0]
    try:
        body = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    except ValueError:
        return 0
    found = body.get("p", 0) if isinstance(body, dict) else 0
    return found if isinstance(found, int) else 0
