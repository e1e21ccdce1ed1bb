"""Garbage-collector settings for a long-running server process.

A request allocates thousands of short-lived container objects. With CPython's default gen-0
threshold (700) the collector runs several times per request, and every few requests a full
collection walks everything the process imported at startup (SQLAlchemy, Strawberry, the schema).
Measured on the benchmark (docs/performance.md): server CPU per `myInterviews` page 3.05 ms with
the defaults, 2.44 ms with the startup heap frozen, 2.10 ms with a gen-0 threshold of 50,000 as well.
"""

from __future__ import annotations

import gc


def tune_gc(gen0_threshold: int) -> None:
    """Move everything alive now out of the collector's sight (it lives as long as the process), and
    set the gen-0 threshold (0 leaves CPython's default)."""
    gc.collect()
    gc.freeze()
    if gen0_threshold > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0_threshold, gen1, gen2)
