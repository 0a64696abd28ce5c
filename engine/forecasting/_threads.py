"""How many threads the base-model fits use.

The fits are numpy array operations over many series at once; numpy releases the GIL inside
them, so blocks of series fitted in threads run on separate cores. Every series' arithmetic is the
same whichever block it is in, so the results do not depend on the thread count.

`MFR_FORECAST_THREADS` sets the count (1: one thread); by default one per core the process may
use, at most `MAX_THREADS`.
"""

from __future__ import annotations

import os

__all__ = ["MAX_THREADS", "MIN_ROWS_PER_THREAD", "fit_workers"]

MAX_THREADS = 4
MIN_ROWS_PER_THREAD = 2_000  # fewer series per block: the per-step overhead of a block dominates


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def fit_workers(n_rows: int) -> int:
    """Threads for fitting `n_rows` series: the configured or available cores, at least
    `MIN_ROWS_PER_THREAD` series each."""
    setting = os.environ.get("MFR_FORECAST_THREADS", "").strip()
    wanted = int(setting) if setting.isdigit() and int(setting) > 0 else min(_cores(), MAX_THREADS)
    return max(1, min(wanted, n_rows // MIN_ROWS_PER_THREAD))
