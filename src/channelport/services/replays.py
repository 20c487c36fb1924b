"""Recognising a replayed event by its content, before its order is read.

When a merchant requests the data again from a date, the channel queues every event
since then once more, under new queue ids. The domain rules recognise each one as a
duplicate or stale, but only after the sync has read its order back and applied the
rules: for a replay of a busy week that is most of the work, spent on nothing.

So every received event keeps a digest of its content (the wire entry without its
queue id: type, `createdAt` and payload), led by its `createdAt` in UTC. An event
whose digest belongs to an event already settled (applied, duplicate or stale) is the
same event again: it is recorded as a duplicate at once, naming the event it repeats,
and never reaches the rules. Most replays are found before their page is even mapped:
the queue connector makes each entry's text and digest where it decodes the page
(`connectors/content.py`) and asks `screen_for`'s lookup on the channel thread; an entry
found there comes with `settled` instead of an event, and its payload is not validated
a second time.
Anything else takes the full path, so a digest that does not match costs nothing but
the lookup: a channel that reorders keys, or changes one byte, is simply decided by
the rules as before. Order snapshots of polling channels have no digest (several
events are derived from one snapshot; their ids are deterministic already).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from channelport.connectors import content
from channelport.connectors.base import Received, Screen, Settled
from channelport.domain.events import OrderSeen
from channelport.store import received as received_repo
from channelport.store.db import read_only, spare_connection

log = logging.getLogger(__name__)


def content_digest(item: Received, raw_text: str | None = None) -> str | None:
    """The digest of a queue event's content; None where the rules must decide anyway.

    A queue connector hands it over (`item.digest`); otherwise it is made from the
    entry's log text `raw_text` (`content.entry_text`), as the connector would.
    """
    if item.digest is not None:
        return item.digest
    raw = item.raw
    if item.event is None or isinstance(item.event, OrderSeen) or not isinstance(raw, dict) or item.created_at is None:
        return None
    return content.content_digest(raw, raw_text if raw_text is not None else content.entry_text(raw), item.created_at)


SAMPLE_EVERY = 8  # after a page with no replay, the screen asks again only every this many pages


def screen_for(engine: Engine, account_id: int) -> Screen | None:
    """The lookup a queue connector runs on the channel thread before it maps a page.

    It reads on a connection of its own, so it sees only what is committed: a replay
    of an event stored in the transaction still open is not found here, and is found
    by `find_replays` on the storing thread instead. Settled outcomes never change, so
    what it does find stays true. None for a database only one connection can see.
    """
    if engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return None
    return _Screen(engine, account_id)


class _Screen:
    """Asks about every page while pages hold replays; otherwise about every eighth.

    A first backfill finds nothing, and on PostgreSQL each question is a round trip
    (2-3 % of the backfill); a request again finds a replay on every page. Where the
    two mix (new events after the replayed ones), a page not asked about is mapped and
    left to `find_replays`, as without a screen. A lookup that fails finds nothing: the
    storing thread meets the same database at once, and fails the sync if it is gone.

    It asks only while the engine's pool has a connection to spare: a worker syncing
    many accounts at once must never wait for a connection (or open more than its
    documented share) for work that only saves work.
    """

    def __init__(self, engine: Engine, account_id: int) -> None:
        self.engine = engine
        self.account_id = account_id
        self.quiet_pages = 0  # pages since the last one with a replay, or since the start

    def __call__(self, digests: Sequence[str]) -> Mapping[str, Settled]:
        if self.quiet_pages % SAMPLE_EVERY:
            self.quiet_pages += 1
            return {}
        if not spare_connection(self.engine):
            return {}
        try:
            with read_only(self.engine) as conn:
                found = received_repo.settled_digests(conn, self.account_id, digests)
        except SQLAlchemyError as exc:
            log.debug("replay screen skipped for a page: %s", exc)
            found = {}
        self.quiet_pages = 0 if found else self.quiet_pages + 1
        return found


def find_replays(
    conn: Connection,
    account_id: int,
    items: Sequence[Received],
    digests: dict[str, str],
    recorded: Collection[str],
    reconsider: Collection[str],
    also: Mapping[str, Settled] | None = None,
) -> dict[str, Settled]:
    """Event ids of `items` that repeat a settled event, each with the event it repeats.

    Ids recorded already (`recorded`) or being decided again (`reconsider`) are left to
    the rules, which know what to do with their existing rows. Entries the channel
    thread found already (`settled`) count without a second lookup. `also` holds the
    digests a page still being written settles, which `conn` may not see yet.
    """
    found: dict[str, Settled] = {}
    candidates: dict[str, str] = {}
    for item in items:
        event_id = item.event_id
        if event_id in recorded or event_id in reconsider:
            continue
        if item.settled is not None:
            found[event_id] = item.settled
        elif event_id in digests:
            candidates[event_id] = digests[event_id]
    if candidates:
        known = received_repo.settled_digests(conn, account_id, candidates.values())
        if also:
            known = {**also, **known}
        found.update({event_id: known[digest] for event_id, digest in candidates.items() if digest in known})
    return found
