"""Every page route declares its gate where it is declared: who may open it, and for a
form, the session's CSRF token (one dependency, never a check by hand)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute

from harness.routes import api_routes
from server.app import create_app
from server.config import ServerSettings
from server.web import browser

SAFE = {"GET", "HEAD"}
# The sign-in form has no session yet: it checks its own signed token (browser.login_token_ok).
# Forms that carry their own secret: the sign-in's, and a reminder's answer, whose signed
# link token is the credential (a forging site cannot know it; server/web/remind.py).
OWN_TOKEN = {"/app/login", "/r/{token}"}


def _calls(route: APIRoute) -> set[Callable[..., Any]]:
    found = set()
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if dep.call is not None:
            found.add(dep.call)
        stack.extend(dep.dependencies)
    return found


def _page_routes(tmp_path: Path) -> list[APIRoute]:
    app = create_app(ServerSettings(data_dir=tmp_path))
    found = [r for r in api_routes(app.routes) if not r.path.startswith(("/api/", "/docs"))]
    assert len(found) > 40, "the pages' routes were not found"
    return found


def test_every_page_form_checks_its_csrf_token_in_its_declaration(tmp_path: Path) -> None:
    unguarded = [
        f"{sorted(r.methods)} {r.path}"
        for r in _page_routes(tmp_path)
        if r.methods - SAFE
        and r.path not in OWN_TOKEN
        and not any(getattr(c, "checks_csrf", False) for c in _calls(r))
    ]
    assert unguarded == []


def test_no_page_checks_a_csrf_token_by_hand(tmp_path: Path) -> None:
    """The one gate is the dependency: a route that reads ``csrf`` itself bypasses it."""
    by_hand = [
        f"{r.path}: {r.endpoint.__name__}"
        for r in _page_routes(tmp_path)
        if "csrf" in inspect.signature(r.endpoint).parameters and r.path not in OWN_TOKEN
    ]
    assert by_hand == []
    assert not hasattr(browser, "check_form")


def test_a_page_of_a_person_says_who_it_is_for(tmp_path: Path) -> None:
    undeclared = [
        f"{sorted(r.methods)} {r.path}"
        for r in _page_routes(tmp_path)
        if not any(
            hasattr(c, "allowed_roles")
            or c.__name__ in ("_public", "maybe_signed_in", "visitor_form")
            for c in _calls(r)
        )
    ]
    assert undeclared == []
