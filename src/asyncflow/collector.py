"""Pausing the cyclic garbage collector while a model is built.

Building the model of a large fleet allocates hundreds of thousands of
containers that all stay alive for the run; every burst of allocations
starts a collection that walks them all again. At 1,000 servers that was
40% of the build (``bench/scale.py``). Nothing cyclic is thrown away while
a model is built, so nothing piles up while the collector waits.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block (restored as it was)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
