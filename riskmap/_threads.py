"""Run GIL-releasing work (GEOS queries, Parquet writes) on several cores.

Shapely's STRtree queries and predicates, and pyarrow's encoders, release
Python's GIL, so plain threads use every core with no copies of the data.
``RISKMAP_THREADS`` sets the number of threads (default: the CPU count, at
most 8); ``RISKMAP_THREADS=1`` runs everything in the calling thread.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_THREADS = 8


def n_threads() -> int:
    """Threads to use: ``RISKMAP_THREADS`` if set, else the CPU count (at most 8)."""
    env = os.environ.get("RISKMAP_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(os.cpu_count() or 1, MAX_THREADS))


def thread_map(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[fn(x) for x in items]``, run in threads when there is more than one item."""
    workers = min(n_threads(), len(items))
    if workers <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def chunks(n: int, min_size: int = 20_000) -> list[slice]:
    """Split ``range(n)`` into at most ``n_threads()`` contiguous slices of ``min_size`` or more."""
    parts = max(1, min(n_threads(), n // max(min_size, 1)))
    bounds = [round(i * n / parts) for i in range(parts + 1)]
    return [slice(a, b) for a, b in itertools.pairwise(bounds)]
