"""Rendering pages: Jinja2 templates, said in the visitor's language, times in their zone.

Every page gets ``_`` (translate), ``lang``, the signed-in person (or None), the CSRF token
of their session, helpers to show times with the zone named, and ``tzname``: what people
call the zone the page's times are in (the platform's, unless the page gives a building's).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

from babel.dates import format_date, format_time
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from server.api.deps import services
from server.auth.service import Principal
from server.clock import zone_name
from server.i18n import LANGUAGES, NAMES, gettext, negotiate
from server.roles import LABELS
from server.web import notices

HERE: Final = Path(__file__).parent
LANG_COOKIE: Final = "smartoffice_lang"

ROLES: Final = LABELS

# A weekday, day, month and year, as Intl.DateTimeFormat writes them in each language.
WRITTEN: Final = {"id": "EEEE, d MMMM y", "en": "EEEE, MMMM d, y"}

_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def page_language(request: Request, user: Principal | None) -> str:
    """The person's choice, else the language picked on this browser, else Accept-Language."""
    choice = user.language if user is not None and user.language else None
    return negotiate(
        request.headers.get("accept-language"), choice or request.cookies.get(LANG_COOKIE)
    )


@dataclass(frozen=True, slots=True)
class Say:
    """Times and dates as a person reads them in ``lang`` (the zone is the value's own)."""

    lang: str

    def day(self, value: date | datetime, form: str = "full") -> str:
        """``Rabu, 2 Desember 2026``."""
        return format_date(value, format=form, locale=self.lang)

    def written(self, value: date) -> str:
        """``Rabu, 9 Desember 2026``: a chosen day written out as static/days.js does."""
        return format_date(value, format=WRITTEN.get(self.lang, "full"), locale=self.lang)

    def month(self, value: date) -> str:
        """``Desember 2026`` / ``December 2026``."""
        return format_date(value, format="LLLL y", locale=self.lang)

    def time(self, value: datetime) -> str:
        """``08.15`` / ``8:15 AM`` in the locale's form, without the zone."""
        return format_time(value, format="short", locale=self.lang)

    def num(self, value: float, digits: int = 1) -> str:
        """``1.234,5`` / ``1,234.5``: a number as the locale writes it, ``digits`` at most."""
        pattern = "#,##0" + ("." + "#" * digits if digits else "")
        return format_decimal(round(value, digits), format=pattern, locale=self.lang)

    def span(self, start: datetime, end: datetime) -> str:
        """``08.00–17.00 WITA``: a slot with its zone named (the values' own zone)."""
        return f"{self.time(start)}–{self.time(end)} {end.tzname()}"


def render(
    request: Request,
    template: str,
    *,
    user: Principal | None,
    csrf: str | None = None,
    status: int = 200,
    **values: Any,
) -> HTMLResponse:
    """A page in the visitor's language, with the notice a form's answer sent it on with."""
    lang = page_language(request, user)
    values.setdefault("tzname", zone_name(services(request).db.zone))
    values.setdefault("tz_key", services(request).db.zone.key)
    sent = notices.taken(request)
    if sent is not None and not values.get("notice"):
        values["notice"], values["notice_kind"] = sent

    def _(message: str, **fill: Any) -> str:
        text = gettext(lang, message)
        return text.format(**fill) if fill else text

    body = _env.get_template(template).render(
        request=request,
        _=_,
        lang=lang,
        languages=[(code, NAMES[code]) for code in LANGUAGES],
        user=user,
        csrf=csrf,
        say=Say(lang),
        path=request.url.path,
        **values,
    )
    response = HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)
    notices.forget(request, response)
    return response


def script_json(value: Any) -> str:
    """``value`` as JSON that is safe inside a <script type="application/json"> element."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


# Pages load only what the server serves; nothing inline runs but our own JSON data.
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
