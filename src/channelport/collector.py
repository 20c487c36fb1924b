"""Thresholds of the cyclic garbage collector for a process that keeps many orders in memory.

CPython's defaults (700, 10, 10) look at the young objects after every 700 new container
objects and at the older ones after every 10 young passes. A backfill keeps tens of
thousands of orders between pages (services/known_orders.py), several container objects
each, and makes hundreds of thousands of short-lived ones per page: with the defaults
those passes walked the kept orders again and again, and a backfill of 100,000 orders
cost a fifth more per event than it does with these thresholds (bench/README.md).
Reference counting frees almost everything Channelport makes, so collecting cycles less
often costs little memory: peak memory stayed within a few MB in the same runs.
"""

from __future__ import annotations

import gc

THRESHOLDS = (20_000, 20, 100)


def tune() -> None:
    """Set the thresholds for this process: every command, so a sync run anywhere gets them."""
    gc.set_threshold(*THRESHOLDS)
