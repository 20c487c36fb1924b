"""Pulls and acknowledgements on one thread of their own, one page ahead of the store.

A sync spends a tenth of its time waiting for the channel's next page and the answers to
its acknowledgements, and most of the rest in Python and the database. With a queue
channel the next page can be asked for while the current one is stored: the protocol
allows several pages in flight, and an acknowledgement is still sent only after its
page's transaction committed (it is queued on the channel thread after the commit).

All calls to the connector run on that one thread, in the order they were asked for, so
a connector that is not thread-safe is still used by one thread at a time. Connectors
opt in with `prefetch = True` (polling connectors do not: their next page depends on
what the last one left in their state). Without it, every call runs inline as before.

A connector whose acknowledgements may run beside its pulls says `acks_apart = True`;
its acknowledgements then go to a second thread, one page's after another's, so that
the next pull need not wait behind them. On a channel that takes 50 ms to answer, a
page's ten acknowledgements (five at once) take two answers' time: queued behind the
pull, they held every pull back by as much (bench/README.md, session 10).

A connector that `screens` (the queue connector) is handed a `screen` with each pull: on
the channel thread, before the page is mapped, it asks the log which entries are
replays of settled events (`services/replays.py`), so those are never mapped.

A sync told to stop asks for no further page and stores the one already fetched
(`pending`) before it ends: left unstored, that page would stay invisible on the channel
for its visibility timeout (five minutes on most) before anyone could import it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import TypeVar

from channelport.connectors.base import Batch, Connector, Screen

T = TypeVar("T")


class PageFeed:
    """`next_page()` returns the page asked for before; `ack()` sends after the commit."""

    def __init__(self, connector: Connector, page_size: int, screen: Screen | None = None) -> None:
        self.connector = connector
        self.page_size = page_size
        self.screen = screen if getattr(connector, "screens", False) else None
        self.ahead = bool(getattr(connector, "prefetch", False))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="channel") if self.ahead else None
        apart = self.ahead and bool(getattr(connector, "acks_apart", False))
        self._ack_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="channel-acks") if apart else self._pool
        self._page: Future[Batch] | None = None
        self._acks: list[Future[None]] = []

    @property
    def pending(self) -> bool:
        """A page was asked for ahead and not yet taken."""
        return self._page is not None

    def next_page(self, *, more: bool = True) -> Batch:
        """The next page; with prefetch and `more`, the one after it is asked for at once."""
        self._raise_failed_acks()
        page = self._page.result() if self._page is not None else self._call(self._pull, self._pool).result()
        self._page = None
        if self.ahead and more and not page.empty:
            self._page = self._call(self._pull, self._pool)
        return page

    def ack(self, batch: Batch) -> None:
        """Acknowledge a committed page (inline, queued behind the prefetch, or on the acks' own thread)."""
        self._acks.append(self._call(lambda: self.connector.ack(batch), self._ack_pool))
        self._raise_failed_acks()

    def finish(self) -> None:
        """Wait for every acknowledgement; raise the first that failed."""
        for ack in self._acks:
            ack.result()
        self._acks.clear()

    def close(self) -> None:
        """Wait for the channel's threads (a prefetched page stays in flight on the channel)."""
        for pool in (self._pool, self._ack_pool):
            if pool is not None:
                pool.shutdown(wait=True)

    def __enter__(self) -> PageFeed:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _pull(self) -> Batch:
        if self.screen is not None:
            return self.connector.pull(self.page_size, screen=self.screen)  # type: ignore[call-arg]
        return self.connector.pull(self.page_size)

    @staticmethod
    def _call(work: Callable[[], T], pool: ThreadPoolExecutor | None) -> Future[T]:
        if pool is not None:
            return pool.submit(work)
        done: Future[T] = Future()
        try:
            done.set_result(work())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            done.set_exception(exc)
        return done

    def _raise_failed_acks(self) -> None:
        pending: list[Future[None]] = []
        for ack in self._acks:
            if not ack.done():
                pending.append(ack)
            elif ack.exception() is not None:
                raise ack.exception()  # type: ignore[misc]
        self._acks = pending
