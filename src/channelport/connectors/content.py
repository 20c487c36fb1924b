"""A queue entry's text and content digest, made once, on the thread that decoded its page.

The received-events log keeps every entry as compact JSON (`raw`), and recognises a
replay (the same event queued again under a new id, `services/replays.py`) by a digest
of that text without its queue id. Both are made here, by the connector, so that a
page's entries can be screened for replays before they are mapped: mapping validates
every payload, and for a replayed week that validation is the largest single cost.

The text comes from pydantic-core's serialiser, five times faster than `json.dumps`
for these entries and the same text for everything the protocol sends (strings,
integers, booleans, null). Where the two differ, a float below 1e-4 (`1e-7` against
`1e-07`), both are exact; an entry it cannot serialise (a lone surrogate escape) gets
the standard library's text. Each entry always takes the same path, so its text and
digest never change between two deliveries.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from typing import Any

from pydantic_core import PydanticSerializationError, to_json


def without_lone_surrogates(value: Any) -> Any:
    """A decoded JSON value with every lone surrogate (U+D800-U+DFFF) replaced by U+FFFD.

    JSON may escape one (`"\\ud800"`), and the standard library decodes it into a str
    that no UTF-8 text can hold: no database column takes it, so one such entry would
    fail every sync of its account. Replaced at decoding, as undecodable bytes are, the
    entry is kept, shown and decided like any other. Valid pairs are one character by
    then and stay as they are.
    """
    if type(value) is str:
        return value if value.isascii() or not _LONE_SURROGATE.search(value) else _LONE_SURROGATE.sub("\ufffd", value)
    if type(value) is dict:
        return {without_lone_surrogates(key): without_lone_surrogates(item) for key, item in value.items()}
    if type(value) is list:
        return [without_lone_surrogates(item) for item in value]
    return value


def may_hold_lone_surrogate(body: bytes) -> bool:
    """Whether a JSON body has a surrogate escape at all (most never do: nothing to walk)."""
    return _SURROGATE_ESCAPE.search(body) is not None


def lenient_loads(body: bytes) -> Any:
    """The standard library's reading of a channel's JSON answer, made storable.

    It accepts what a sloppy server may still send (a lone surrogate escape, deep
    nesting); bytes that are not UTF-8 are replaced rather than losing a whole answer to
    one byte, and so are lone surrogates (`without_lone_surrogates`). ValueError for a
    body that is not JSON, or nested too deeply to read.
    """
    try:
        value = json.loads(body)
    except UnicodeDecodeError:
        value = json.loads(body.decode("utf-8", errors="replace"))
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    return without_lone_surrogates(value) if may_hold_lone_surrogate(body) else value


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def compact_json(value: Any) -> str:
    """JSON without spaces, non-ASCII kept; any other value as its `str`."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_text(value: Any) -> str:
    """An entry as the log keeps it (`raw`), and as its digest reads it."""
    try:
        return to_json(value, inf_nan_mode="constants").decode("utf-8")
    except (PydanticSerializationError, UnicodeDecodeError, ValueError):
        return compact_json(value)


def replay_text(original_text: str, event_id: str) -> str:
    """A replay's log text: the text of the event it repeats, under the replay's own queue id.

    A replay's row keeps no text of its own (its digest matched, so its content is the
    original's byte for byte); this is the text it would have kept. The id stays where
    the entry had it, so the text is exactly `entry_text` of the entry as it came.
    """
    try:
        entry = json.loads(original_text)
    except ValueError:
        return original_text
    if type(entry) is not dict or "id" not in entry:
        return original_text
    entry["id"] = event_id
    return entry_text(entry)


def content_digest(raw: dict[str, Any], text: str, created_at: datetime, instant: str | None = None) -> str:
    """The digest of an entry's content: type, `createdAt` and payload, not the queue id.

    `text` is `entry_text(raw)`. When it starts with the id (as every channel seen so far
    sends it), the content is the rest of that text and is not serialised again.
    `instant` is `instant_key(created_at)` where the caller has it already.
    """
    hasher = hashlib.blake2b(digest_size=16)
    prefix = _leading_id(raw, text)
    if prefix is None:
        without_id = entry_text({key: value for key, value in raw.items() if key != "id"})
        hasher.update(without_id.encode("utf-8", "surrogatepass"))
    else:  # "{" and the rest of the text: the same bytes as that text without its id, without a copy
        encoded = text.encode("utf-8", "surrogatepass")
        hasher.update(b"{")
        hasher.update(memoryview(encoded)[len(prefix.encode("utf-8", "surrogatepass")):])
    # Led by the instant (part of the content anyway): a page's events are close in time,
    # so their index entries are neighbours, written and looked up together.
    return (instant or instant_key(created_at)) + hasher.hexdigest()


def instant_key(created_at: datetime) -> str:
    """The instant in UTC as 20 digits (to the microsecond), sorting as the instants do."""
    at = created_at.astimezone(timezone.utc)
    return "%04d%02d%02d%02d%02d%02d%06d" % (at.year, at.month, at.day, at.hour, at.minute, at.second, at.microsecond)


def _leading_id(raw: dict[str, Any], text: str) -> str | None:
    """The text's `{"id":...,` prefix, when the entry's text starts with its id and more follows."""
    event_id = raw.get("id")
    if type(event_id) is not str:
        return None
    if event_id.isalnum() or _PLAIN_ID.fullmatch(event_id):  # nothing JSON would escape
        prefix = '{"id":"' + event_id + '",'
    else:
        prefix = '{"id":' + json.dumps(event_id, ensure_ascii=False) + ","
    return prefix if text.startswith(prefix) else None


_PLAIN_ID = re.compile(r"[A-Za-z0-9_.:-]+")
