"""Recognising a replayed event by its content, before its order is read.

When a merchant requests the data again from a date, the channel queues every event
since then once more, under new queue ids. The domain rules recognise each one as a
duplicate or stale, but only after the sync has read its order back and applied the
rules: for a replay of a busy week that is most of the work, spent on nothing.

So every received event keeps a digest of its content (the wire entry without its
queue id: type, `createdAt` and payload), led by its `createdAt` in UTC. An event
whose digest belongs to an event already settled (applied, duplicate or stale) is the
same event again: it is recorded as a duplicate at once, naming the event it repeats,
and never reaches the rules.
Anything else takes the full path, so a digest that does not match costs nothing but
the lookup: a channel that reorders keys, or changes one byte, is simply decided by
the rules as before. Order snapshots of polling channels have no digest (several
events are derived from one snapshot; their ids are deterministic already).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from datetime import timezone
from typing import Any

from sqlalchemy import Connection

from channelport.connectors.base import Received
from channelport.domain.events import OrderSeen
from channelport.store import received as received_repo


def content_digest(item: Received, raw_text: str | None = None) -> str | None:
    """The digest of a queue event's content; None where the rules must decide anyway.

    `raw_text` is the entry as the log stores it (compact JSON). When it starts with the
    queue id, the content is the rest of it and is not serialised a second time.
    """
    raw = item.raw
    if item.event is None or isinstance(item.event, OrderSeen) or not isinstance(raw, dict) or item.created_at is None:
        return None
    body = _without_leading_id(raw, raw_text) if raw_text is not None else None
    if body is None:
        body = compact_json({key: value for key, value in raw.items() if key != "id"})
    digest = hashlib.blake2b(body.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    # Led by the instant (part of the content anyway): a page's events are close in time,
    # so their index entries are neighbours, written and looked up together.
    at = item.created_at.astimezone(timezone.utc)
    fields = (at.year, at.month, at.day, at.hour, at.minute, at.second, at.microsecond, digest)
    return "%04d%02d%02d%02d%02d%02d%06d%s" % fields


def compact_json(value: Any) -> str:
    """JSON as the received-events log keeps an entry (`raw`), and as its digest reads it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _without_leading_id(raw: dict, raw_text: str) -> str | None:
    event_id = raw.get("id")
    if type(event_id) is not str:
        return None
    prefix = '{"id":' + json.dumps(event_id, ensure_ascii=False) + ","
    return "{" + raw_text[len(prefix):] if raw_text.startswith(prefix) else None


def find_replays(
    conn: Connection,
    account_id: int,
    items: Sequence[Received],
    digests: dict[str, str],
    recorded: Collection[str],
    reconsider: Collection[str],
) -> dict[str, str]:
    """Event ids of `items` that repeat a settled event, each with the id it repeats.

    Ids recorded already (`recorded`) or being decided again (`reconsider`) are left to
    the rules, which know what to do with their existing rows.
    """
    candidates = {
        item.event_id: digests[item.event_id]
        for item in items
        if item.event_id in digests and item.event_id not in recorded and item.event_id not in reconsider
    }
    if not candidates:
        return {}
    known = received_repo.known_digests(conn, account_id, candidates.values())
    return {event_id: known[digest] for event_id, digest in candidates.items() if digest in known}
