"""An OpenID provider on a free loopback port, as an agency's (Keycloak's) looks from outside.

It serves the discovery document, its key set, and the authorization-code flow with PKCE:
``/authorize`` signs in ``person`` (what the provider's login page would have done) and
sends the browser back with a code; ``/token`` gives the ID token only for the code, the
redirect URI and the code verifier whose S256 challenge came with the code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from harness.services import free_port

ISSUER = "https://sso.example.go.id/realms/asn"


class Provider:
    """The provider, named ``ISSUER`` (tokens only, as the API's tests use it), or with
    ``discoverable`` an issuer at its own address, whose discovery document the server
    can read (the sign-in flow)."""

    def __init__(self, *, discoverable: bool = False) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        keys = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]})
        self.person: dict[str, Any] = {"sub": "u-1", "preferred_username": "asn"}
        """Who signs in at the provider's login page next."""
        self.codes: dict[str, dict[str, Any]] = {}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, status: int, body: object) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(body).encode())

            def do_GET(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                if url.path.endswith("/.well-known/openid-configuration"):
                    self._json(
                        200,
                        {
                            "issuer": provider.issuer,
                            "jwks_uri": f"{provider.base}/certs",
                            "authorization_endpoint": f"{provider.base}/authorize",
                            "token_endpoint": f"{provider.base}/token",
                        },
                    )
                elif url.path == "/authorize":
                    ask = {k: v[0] for k, v in parse_qs(url.query).items()}
                    location = provider.authorize(ask)
                    self.send_response(302)
                    self.send_header("Location", location)
                    self.end_headers()
                else:
                    self._json(200, json.loads(keys))

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                status, body = provider.exchange(form)
                self._json(status, body)

            def log_message(self, *_: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.base = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.url = f"{self.base}/certs"
        self.issuer = f"{self.base}/realms/asn" if discoverable else ISSUER
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def token(self, key: Any = None, **claims: Any) -> str:
        """A token the provider signed (with ``key``, another key)."""
        now = int(time.time())
        body = {
            "iss": self.issuer,
            "aud": "smartoffice",
            "sub": "u-1",
            "iat": now,
            "exp": now + 300,
        }
        return jwt.encode({**body, **claims}, key or self.key, "RS256", headers={"kid": "k1"})

    def authorize(self, ask: dict[str, str]) -> str:
        """The login page's answer: back to the client with a code for ``person``."""
        back = ask["redirect_uri"]
        if ask.get("response_type") != "code" or ask.get("code_challenge_method") != "S256":
            return (
                f"{back}?{urlencode({'error': 'invalid_request', 'state': ask.get('state', '')})}"
            )
        code = secrets.token_urlsafe(16)
        self.codes[code] = {**ask, "person": dict(self.person)}
        return f"{back}?{urlencode({'code': code, 'state': ask['state']})}"

    def exchange(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The token endpoint: an ID token for a code, once, with its PKCE verifier."""
        asked = self.codes.pop(form.get("code", ""), None)
        if asked is None or form.get("grant_type") != "authorization_code":
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if challenge.decode().rstrip("=") != asked["code_challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verifier"}
        if form.get("redirect_uri") != asked["redirect_uri"]:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri"}
        id_token = self.token(aud=asked["client_id"], nonce=asked.get("nonce"), **asked["person"])
        return 200, {
            "access_token": secrets.token_urlsafe(16),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }

    def stop(self) -> None:
        """Stop serving."""
        self.http.shutdown()
        self.http.server_close()
        self.thread.join()
