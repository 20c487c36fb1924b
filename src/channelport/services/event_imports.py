"""The Import tab: which events to import, and from when to request them again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time

from channelport.connectors.base import EventImport
from channelport.domain.events import EVENT_TYPES, EventType
from channelport.domain.instants import UTC, NonexistentLocalTime, local_to_utc, utc_to_local
from channelport.errors import UsageError
from channelport.services.accounts import account_or_fail
from channelport.services.installation import require_order_package
from channelport.services.runtime import Runtime
from channelport.store import accounts as repo
from channelport.store.db import read_only, unit_of_work


@dataclass(frozen=True)
class ImportRow:
    event_type: EventType
    enabled: bool
    from_utc: datetime | None
    from_local: datetime | None
    pending: bool

    def as_json(self) -> dict[str, object]:
        return {
            "event": str(self.event_type),
            "enabled": self.enabled,
            "from": self.from_local.isoformat() if self.from_local else None,
            "fromUtc": self.from_utc.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if self.from_utc else None,
            "pending": self.pending,
        }


@dataclass(frozen=True)
class RequestResult:
    rows: list[ImportRow]
    instant: datetime
    ambiguous: bool
    timezone: str


def show_imports(rt: Runtime, name: str) -> list[ImportRow]:
    with read_only(rt.engine) as conn:
        account = account_or_fail(conn, name)
        return _rows(repo.load_imports(conn, account.id), account.timezone)


def request_imports(
    rt: Runtime,
    name: str,
    *,
    day: date,
    at: time = time(0, 0, 0),
    events: Sequence[EventType] | None = None,
) -> RequestResult:
    """Enable the chosen events and give each the same "from": one step instead of five."""
    chosen = set(events or EVENT_TYPES)
    with unit_of_work(rt.engine) as conn:
        require_order_package(repo.load_packages(conn) or frozenset())
        account = account_or_fail(conn, name)
        resolved = _resolve(rt, day, at, account.timezone)
        imports = [
            replace(row, enabled=True, import_from=resolved.utc, pending=True) if row.event_type in chosen else row
            for row in repo.load_imports(conn, account.id)
        ]
        repo.save_imports(conn, account.id, imports, now=rt.now())
        return RequestResult(_rows(imports, account.timezone), resolved.utc, resolved.ambiguous, account.timezone)


def set_import(
    rt: Runtime,
    name: str,
    event: EventType,
    *,
    enabled: bool,
    day: date | None = None,
    at: time | None = None,
) -> RequestResult | list[ImportRow]:
    """Change one row: enable or disable it, optionally with a new "from" request."""
    with unit_of_work(rt.engine) as conn:
        account = account_or_fail(conn, name)
        if enabled:
            require_order_package(repo.load_packages(conn) or frozenset())
        if day is None and at is not None:
            raise UsageError("--time needs --from DATE")
        if day is not None and not enabled:
            raise UsageError("--from goes with --enable: a disabled event is not requested")
        resolved = _resolve(rt, day, at or time(0, 0, 0), account.timezone) if day is not None else None
        imports = []
        for row in repo.load_imports(conn, account.id):
            if row.event_type == event:
                row = replace(row, enabled=enabled)
                if resolved is not None:
                    row = replace(row, import_from=resolved.utc, pending=True)
                elif not enabled:
                    row = replace(row, pending=False)
            imports.append(row)
        repo.save_imports(conn, account.id, imports, now=rt.now())
        rows = _rows(imports, account.timezone)
        if resolved is None:
            return rows
        return RequestResult(rows, resolved.utc, resolved.ambiguous, account.timezone)


def replace_imports(rt: Runtime, name: str, imports: Sequence[EventImport]) -> list[ImportRow]:
    """Declarative replace of all five rows (the REST API's PUT); a new "from" marks pending."""
    by_type = {item.event_type: item for item in imports}
    if set(by_type) != set(EVENT_TYPES) or len(imports) != len(EVENT_TYPES):
        raise UsageError("give each of the five event types exactly once")
    with unit_of_work(rt.engine) as conn:
        account = account_or_fail(conn, name)
        if any(item.enabled for item in imports):
            require_order_package(repo.load_packages(conn) or frozenset())
        now = rt.now()
        current = {row.event_type: row for row in repo.load_imports(conn, account.id)}
        rows = []
        for event_type in EVENT_TYPES:
            item = by_type[event_type]
            if item.import_from is not None and item.import_from > now:
                raise UsageError(f"the 'from' of {event_type} lies in the future; choose a past date and time")
            changed_from = item.import_from is not None and item.import_from != current[event_type].import_from
            pending = item.enabled and item.import_from is not None and (changed_from or current[event_type].pending)
            rows.append(EventImport(event_type, item.enabled, item.import_from, pending))
        repo.save_imports(conn, account.id, rows, now=now)
        return _rows(rows, account.timezone)


def parse_events(text: str) -> list[EventType]:
    """`all` or a comma list of event names; unknown names are refused with the list."""
    text = text.strip().lower()
    if text in ("", "all"):
        return list(EVENT_TYPES)
    names = [part.strip() for part in text.split(",") if part.strip()]
    known = {str(t): t for t in EVENT_TYPES}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown event(s) {', '.join(unknown)}; choose from all, {', '.join(known)}")
    return [known[n] for n in names]


def parse_event(text: str) -> EventType:
    events = parse_events(text)
    if len(events) != 1 or text.strip().lower() == "all":
        raise UsageError(f"name one event: {', '.join(str(t) for t in EVENT_TYPES)}")
    return events[0]


def _resolve(rt: Runtime, day: date, at: time, tz_name: str):  # type: ignore[no-untyped-def]
    try:
        resolved = local_to_utc(day, at, tz_name)
    except NonexistentLocalTime as exc:
        raise UsageError(str(exc)) from None
    if resolved.utc > rt.now():
        local = utc_to_local(resolved.utc, tz_name)
        raise UsageError(f"{local:%Y-%m-%d %H:%M:%S} ({tz_name}) lies in the future; choose a past date and time")
    return resolved


def _rows(imports: Sequence[EventImport], tz_name: str) -> list[ImportRow]:
    return [
        ImportRow(
            event_type=item.event_type,
            enabled=item.enabled,
            from_utc=item.import_from,
            from_local=utc_to_local(item.import_from, tz_name) if item.import_from else None,
            pending=item.pending,
        )
        for item in imports
    ]
