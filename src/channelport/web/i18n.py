"""German and English for the web interface: messages, dates and money.

Message ids are the English texts; `locale/de.po` holds the German ones and is read
with Babel when the app starts, so translators edit a standard catalog and no compiled
`.mo` file has to be built or shipped. German is the default because the merchants
this is for are German first; the choice is remembered in a cookie.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from babel.dates import format_datetime, format_skeleton
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

from channelport.domain.instants import zone

LANGUAGES = {"de": "Deutsch", "en": "English"}
DEFAULT_LANGUAGE = "de"
BABEL_LOCALES = {"de": "de_DE", "en": "en_GB"}  # en_GB: a 24-hour clock, as merchants here read it
CATALOGS = Path(__file__).with_name("locale")


@cache
def catalog(language: str) -> dict[str, str]:
    """msgid -> translation for `language`; English needs none."""
    path = CATALOGS / f"{language}.po"
    if language == "en" or not path.exists():
        return {}
    with path.open("rb") as handle:
        parsed = read_po(handle, locale=language)
    return {str(m.id): str(m.string) for m in parsed if m.id and m.string and not m.fuzzy}


def choose_language(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Translator:
    """What a page needs to speak the user's language: `_()` and the formatters."""

    language: str

    def gettext(self, message: str, **values: object) -> str:
        text = catalog(self.language).get(message, message)
        return text.format(**values) if values else text

    __call__ = gettext

    @property
    def locale(self) -> str:
        return BABEL_LOCALES[self.language]

    def datetime(self, value: datetime | None, tz_name: str, *, seconds: bool = True) -> str:
        """An instant in the account's local time, e.g. `27.11.2026, 13:00:00`."""
        if value is None:
            return "–"
        pattern = "medium" if seconds else "short"
        return format_datetime(value, pattern, tzinfo=zone(tz_name), locale=self.locale)

    def date(self, value: datetime) -> str:
        """A short day label for chart axes, e.g. `27. Nov.`; `value` is already local."""
        return format_skeleton("MMMd", value, locale=self.locale)

    def number(self, value: str | Decimal | int) -> str:
        try:
            return format_decimal(Decimal(str(value)), locale=self.locale)
        except (InvalidOperation, ValueError):
            return str(value)

    def money(self, value: str | Decimal, currency: str) -> str:
        try:
            return format_currency(Decimal(str(value)), currency, locale=self.locale)
        except (InvalidOperation, ValueError):
            return f"{value} {currency}"
