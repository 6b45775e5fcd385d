"""A browser's requests without a browser: the pages' forms and scripts over HTTP.

For tests of what a page route decides (scope, CSRF, mail, status), where a real
Chromium adds nothing: sign in through the sign-in form, keep the session cookie, and
send each form with the page's CSRF token as a browser would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from harness.platform import PASSWORD

_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
_LOGIN_TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


class PageClient(httpx.Client):
    """A signed-in browser's cookie jar; ``csrf`` is the session's form token."""

    csrf: str = ""

    def form(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        """POST a page's form, with the session's CSRF token as the page puts it."""
        return self.post(path, data={"csrf": self.csrf, **(data or {})}, **kwargs)

    def script(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A page script's JSON call, with the CSRF token in its header."""
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return self.request(method, path, headers=headers, **kwargs)


@contextmanager
def sign_in(
    base: str, username: str, password: str = PASSWORD, *, address: str | None = None
) -> Iterator[PageClient]:
    """A client signed in through the sign-in form as ``username``, closed afterwards.

    ``address`` is the client address the server is told of (X-Forwarded-For), for a
    server that trusts the proxy in front of it.
    """
    with browser(base, address=address) as web:
        answer = login(web, username, password)
        assert answer.status_code == 303, f"sign-in as {username}: {answer.status_code}"
        web.csrf = page_token(web)
        yield web


def browser(base: str, *, address: str | None = None) -> PageClient:
    """A browser's cookie jar, not signed in yet."""
    headers = {"X-Forwarded-For": address} if address else {}
    return PageClient(base_url=base, follow_redirects=False, timeout=30, headers=headers)


def page_token(web: httpx.Client, path: str = "/app/profile") -> str:
    """The CSRF token a signed-in page carries."""
    page = web.get(path)
    found = _TOKEN.search(page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


def login(web: httpx.Client, username: str, password: str) -> httpx.Response:
    """The sign-in form filled in and sent (its own token echoed, as a browser does)."""
    form = web.get("/app/login")
    token = _LOGIN_TOKEN.search(form.text)
    assert token is not None, form.text[:500]
    return web.post(
        "/app/login",
        data={"username": username, "password": password, "csrf": token.group(1), "next": "/app"},
    )
