"""Turning HTML form fields into the values services take, and back for redisplay.

Parsing lives here so the routes stay "parse, call one service, render". Local dates
and times are resolved in the account's time zone with the same domain function the
CLI uses, so a spring-gap time is refused and an autumn one takes the earlier instant
in the browser exactly as on the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time

from starlette.datastructures import FormData

from channelport.connectors.base import EventImport
from channelport.domain.events import EVENT_TYPES, EventType
from channelport.domain.instants import NonexistentLocalTime, local_to_utc, start_of_local_day
from channelport.errors import UsageError
from channelport.services.event_imports import ImportRow

MIDNIGHT = "00:00:00"


class FormError(UsageError):
    """Bad input in a form; `message` is a msgid, so the page can say it in the user's language."""

    def __init__(self, message: str, **values: str) -> None:
        super().__init__(message.format(**values))
        self.message = message
        self.values = values


@dataclass(frozen=True)
class ImportField:
    """One row of the Import tab as the form shows it: local date and time as text."""

    event: str
    enabled: bool
    day: str
    at: str
    pending: bool = False


def text(form: FormData, name: str, *, limit: int = 500) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def import_fields(rows: list[ImportRow]) -> list[ImportField]:
    return [
        ImportField(
            event=str(r.event_type),
            enabled=r.enabled,
            day=r.from_local.date().isoformat() if r.from_local else "",
            at=r.from_local.strftime("%H:%M:%S") if r.from_local else MIDNIGHT,
            pending=r.pending,
        )
        for r in rows
    ]


def posted_import_fields(form: FormData) -> list[ImportField]:
    return [
        ImportField(
            event=str(t),
            enabled=form.get(f"enabled-{t}") is not None,
            day=text(form, f"date-{t}", limit=20),
            at=text(form, f"time-{t}", limit=20) or MIDNIGHT,
        )
        for t in EVENT_TYPES
    ]


def with_date_for_all(fields: list[ImportField], day: str, at: str) -> list[ImportField]:
    """"Use this date for all events": every row ticked, with the same date and time."""
    return [replace(f, enabled=True, day=day, at=at or MIDNIGHT) for f in fields]


def parse_day(value: str, what: str = "date") -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FormError("Invalid {what} {value!r}: write it as YYYY-MM-DD.", what=what, value=value) from None


def parse_time(value: str) -> time:
    try:
        parsed = time.fromisoformat(value or MIDNIGHT)
    except ValueError:
        raise FormError("Invalid time {value!r}: write it as HH:MM:SS.", value=value) from None
    if parsed.tzinfo is not None:
        raise FormError("Invalid time {value!r}: write it as HH:MM:SS.", value=value)
    return parsed


def imports_from_fields(fields: list[ImportField], tz_name: str) -> tuple[list[EventImport], bool]:
    """The five rows for `replace_imports`, and whether a time was ambiguous (autumn)."""
    imports, ambiguous = [], False
    for f in fields:
        instant = None
        if f.day:
            try:
                resolved = local_to_utc(parse_day(f.day), parse_time(f.at), tz_name)
            except NonexistentLocalTime:
                raise FormError(
                    "{day} {at} does not exist in {tz} (the clocks jump forward then); choose another time.",
                    day=f.day, at=f.at, tz=tz_name,
                ) from None
            instant, ambiguous = resolved.utc, ambiguous or resolved.ambiguous
        imports.append(EventImport(EventType(f.event), f.enabled, instant))
    return imports, ambiguous


def local_day_start(value: str, tz_name: str, what: str) -> datetime | None:
    """A filter's local date as the UTC instant its day starts; None when left empty."""
    return start_of_local_day(parse_day(value, what), tz_name).utc if value else None


def pairs(value: str) -> dict[str, str]:
    """`KEY=VALUE` per line (settings and secrets of a connector kind)."""
    result = {}
    for number, line in enumerate(value.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, val = line.partition("=")
        if not sep or not key.strip():  # the line itself is not repeated: it may hold a secret
            raise FormError("Write one KEY=VALUE per line; line {number} is not.", number=str(number))
        result[key.strip()] = val.strip()
    return result
