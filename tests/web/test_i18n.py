"""Every text the interface shows has its German translation, and the catalogue is valid .po."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from channelport.domain.events import EVENT_TYPES
from channelport.web import i18n
from channelport.web.pages.rendering import EVENT_LABELS
from channelport.web.schemas import Outcome, SyncState

WEB = Path(i18n.__file__).parent
CALL = re.compile(r"""(?:\b_|\bpage\.t|\bself\.t|\bFormError)\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")
# texts chosen at run time: statuses, outcomes, triggers, event labels, chart buckets, form words
DYNAMIC = [*(s.value for s in SyncState), *(o.value for o in Outcome), "unparked", "manual", "worker", "web", "cli", "retry", "active", "inactive", "locked", "credentials rejected",
           "day", "hour", "stopping", "stopped", "date", "from date", "to date",
           "The form has expired. Reload the page and try again.", *EVENT_LABELS.values()]


def used_messages() -> set[str]:
    found = set(DYNAMIC)
    for path in [*WEB.rglob("*.html"), *WEB.rglob("*.py")]:
        for literal in CALL.findall(path.read_text(encoding="utf-8")):
            found.add(eval(literal))  # noqa: S307 - a string literal taken from our own source
    return found


def test_every_message_has_a_german_translation():
    german = i18n.catalog("de")
    missing = sorted(m for m in used_messages() if m not in german)
    assert missing == []
    assert set(EVENT_LABELS) == {str(t) for t in EVENT_TYPES}


def test_translations_keep_their_placeholders():
    with (WEB / "locale" / "de.po").open("rb") as handle:
        catalog = read_po(handle, locale="de")
    for message in catalog:
        if message.id:
            assert set(re.findall(r"{\w+(?:!r)?}", message.id)) == set(re.findall(r"{\w+(?:!r)?}", message.string)), \
                message.id


def test_dates_and_money_follow_the_language():
    from datetime import datetime, timezone

    instant = datetime(2026, 11, 20, 7, 15, tzinfo=timezone.utc)
    assert i18n.Translator("de").datetime(instant, "Europe/Berlin") == "20.11.2026, 08:15:00"
    assert i18n.Translator("en").datetime(instant, "Europe/Berlin") == "20 Nov 2026, 08:15:00"
    assert i18n.Translator("de").money("1234.5", "EUR") == "1.234,50\xa0€"
    assert i18n.choose_language("fr") == "de"
