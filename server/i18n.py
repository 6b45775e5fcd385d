"""Languages: Bahasa Indonesia first, English second, from gettext message catalogues.

Every string a person reads (pages, and the API's refusals) is written in English in the
code and translated by ``server/locale/<language>/LC_MESSAGES/messages.po``. The
catalogues are compiled in memory when first used (Babel), so there is no build step.

A message the API raises carries its template and values (:class:`Text`), so the error
handler says it in the caller's language; as a plain ``str`` it is the English text, so
logs and tests that read ``str(exc)`` see what they always saw.

To add a string: wrap it in ``T("...")`` (or ``_("...")`` in a template), run
``make messages`` to extract it into the catalogues, translate it in ``id/.../messages.po``.

The pages speak Indonesian unless asked otherwise; the API, whose callers are mostly
programs, speaks English unless the person chose Indonesian or sends
``Accept-Language: id``.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import Any, Final

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES: Final = ("id", "en")
"""The languages the product speaks; the first is the default."""
DEFAULT: Final = LANGUAGES[0]
NAMES: Final = {"id": "Bahasa Indonesia", "en": "English"}
LOCALE_DIR: Final = Path(__file__).parent / "locale"


@cache
def translations(language: str) -> Translations:
    """The compiled catalogue of ``language`` (English is the code's own text)."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language not in LANGUAGES or not po.exists():
        return Translations()  # says every message as written
    with po.open("rb") as f:
        catalog = read_po(f, locale=language)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf)


def gettext(language: str, message: str) -> str:
    """``message`` in ``language``."""
    return translations(language).gettext(message)


def negotiate(
    accept_language: str | None, choice: str | None = None, default: str = DEFAULT
) -> str:
    """The language to speak: the person's choice, else the browser's, else ``default``."""
    if choice in LANGUAGES:
        return choice
    if accept_language:
        wanted = []
        for part in accept_language.split(",")[:20]:
            tag, _, q = part.strip().partition(";q=")
            try:
                weight = float(q) if q else 1.0
            except ValueError:
                continue
            wanted.append((weight, tag.strip()))
        ordered = [tag for _, tag in sorted(wanted, key=lambda w: -w[0]) if tag]
        try:
            found = Locale.negotiate(ordered, list(LANGUAGES), sep="-")
        except (UnknownLocaleError, ValueError):
            found = None
        if found is not None:
            return found.language
    return default


class Text(str):
    """A message with its English template and values, said in any language.

    ``str(T("desk {desk} is booked", desk="d-1"))`` is the English text;
    ``.said(lang)`` translates the template, then fills in the values.
    """

    template: str
    values: dict[str, Any]

    def __new__(cls, template: str, **values: Any) -> Text:  # noqa: D102
        text = super().__new__(cls, template.format(**values) if values else template)
        text.template = template
        text.values = values
        return text

    def said(self, language: str) -> str:
        """The message in ``language`` (values that are messages too are said in it)."""
        template = gettext(language, self.template)
        if not self.values:
            return template
        return template.format(**{k: say(v, language) for k, v in self.values.items()})


T = Text
"""The marker the message extractor looks for: ``T("a message with {value}", value=...)``."""


def N_(message: str) -> str:  # noqa: N802  (gettext's own name for it)
    """Marks a message to translate later (the extractor finds it); returns it unchanged."""
    return message


def say(message: object, language: str) -> str:
    """A message in ``language``: a :class:`Text`, or a string marked with ``N_``.

    Anything else is said as it is (a message the catalogue does not know stays English).
    """
    if isinstance(message, Text):
        return message.said(language)
    return gettext(language, str(message))


WEEKDAYS: Final = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
"""The days of the week, to say in a message: ``T(WEEKDAYS[day.weekday()])``."""
