"""Python's cycle garbage collector during work that builds many short-lived objects.

An Amazon sync page or a page of a 10,000-line order builds tens of thousands of model instances that are freed as
soon as the work is done. With the default threshold (700 allocations) the collector runs hundreds of times during
such work, each time walking objects about to be freed anyway, and now and then a full collection of everything the
process holds: a third of an Amazon import, a tenth to a fifth of a large order's page.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

GC_FIRST_GENERATION = 50_000  # allocations between two collections of the youngest objects during such work

_lock = threading.Lock()
_depth = 0
_previous: tuple[int, ...] = ()


@contextmanager
def rarer_garbage_collections(first_generation: int = GC_FIRST_GENERATION, *, collect: bool = False
                              ) -> Iterator[None]:
    """Let the collector run less often inside the block; the previous thresholds come back when the last block
    open in the process ends (the thresholds are the process's: requests served by several threads overlap).

    ``collect``: after a block that built many objects (the youngest generation was collected meanwhile, so at
    least ``first_generation`` more objects were alive at some point), collect once, so that what it left in
    reference cycles (a request's model instances and their caches) is freed at once rather than by some later full
    collection: one collection instead of the several the default thresholds would have run, without the process's
    memory growing from request to request. The test is the work done, not the time taken: a usual page that is slow
    because the machine is busy is not held up further by a full collection."""
    global _depth, _previous
    collections_before = gc.get_stats()[0]["collections"]
    with _lock:
        if _depth == 0:
            _previous = gc.get_threshold()
            gc.set_threshold(max(first_generation, _previous[0]), *_previous[1:])
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_previous)
        if collect and gc.get_stats()[0]["collections"] > collections_before:
            gc.collect()
