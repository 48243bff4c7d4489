"""The garbage collector, tuned for a server: what start-up built is frozen, and young collections run less often.

A full collection walks every tracked object; with the schema, the ORM's models and the wiring built at start-up that
is most of the heap, and the walk stalled the event loop for 100–150 ms (issue #12's measurement). Frozen
(`gc.freeze`) after start-up, those objects are never walked again. A request allocates many short-lived objects,
so generation 0 is collected every `GEN0` allocations instead of every 700, and the older generations less often.

`bench/gc_pauses.py` measured the thresholds under the checkout load (a busy 2-core machine, 600 checkouts): untuned,
the loop stalled up to 193 ms (two full collections of 186–188 ms); frozen with 2,000/20/20, up to 41 ms, no full
collection in the run and 0.4 ms of collecting per checkout instead of 0.9. A larger generation 0 (20,000) made each
young collection, and each generation-1 one, far longer (up to 25 ms of CPU); 1,000/10/20 let a full collection in
(69 ms)."""

from __future__ import annotations

import gc

GEN0 = 2_000
GEN1 = 20
GEN2 = 20


def tune_after_start_up() -> None:
    """Collect what start-up left behind, freeze the rest, and set the thresholds (once per process)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0, GEN1, GEN2)
