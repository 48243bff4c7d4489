"""The garbage collector, tuned for a server: what start-up built is frozen, and young collections run less often.

A full collection walks every tracked object; with the schema, the ORM's models and the wiring built at start-up that
is most of the heap, and the walk stalled the event loop for 100–150 ms (issue #12's measurement). Frozen
(`gc.freeze`) after start-up, those objects are never walked again. A request allocates many short-lived objects,
so generation 0 is collected every `GEN0` allocations instead of every 700: fewer, equally short pauses."""

from __future__ import annotations

import gc

GEN0 = 20_000
GEN1 = 20
GEN2 = 20


def tune_after_start_up() -> None:
    """Collect what start-up left behind, freeze the rest, and set the thresholds (once per process)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0, GEN1, GEN2)
