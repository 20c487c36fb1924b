"""Thresholds of the cyclic garbage collector for a process that keeps many orders in memory.

CPython's defaults (700, 10, 10) look at the young objects after every 700 new container
objects and at the older ones after every 10 young passes. A backfill keeps tens of
thousands of orders between pages (services/known_orders.py), several container objects
each, and makes hundreds of thousands of short-lived ones per page: with the defaults
those passes walked the kept orders again and again, and a backfill of 100,000 orders
cost a fifth more per event than it does with these thresholds (bench/README.md).
Reference counting frees almost everything Channelport makes, so collecting cycles less
often costs little memory: peak memory stayed within a few MB in the same runs.

At exit, the interpreter runs full collections over every object still alive, which
for a command that imported SQLAlchemy, Pydantic and httpx took 0.11-0.25 s of each
run, `channelport --version` included (bench/README.md, session 10). Nothing of
Channelport's needs a collection to finish: the database, HTTP clients and log files
are closed before the command returns. So `skip_exit_collections` freezes the heap
when the command is done.
"""

from __future__ import annotations

import gc

THRESHOLDS = (20_000, 20, 100)


def tune() -> None:
    """Set the thresholds for this process: every command, so a sync run anywhere gets them."""
    gc.set_threshold(*THRESHOLDS)


def skip_exit_collections() -> None:
    """Keep the interpreter's shutdown from walking every object: call when the command is done.

    Frozen objects are still freed at exit; only the cycle search over them is skipped,
    and with it the finalizers of objects in cycles that nothing closed. Call it last:
    the collector ignores what is frozen for the rest of the process.
    """
    gc.freeze()
