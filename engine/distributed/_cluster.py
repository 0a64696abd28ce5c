"""A Dask client for a `Scheduler`: a `LocalCluster` the engine starts and stops, or a client of
a running scheduler (a cluster started by its own deployment tool: dask-kubernetes, dask-jobqueue,
`dask scheduler` / `dask worker` by hand)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from engine.distributed._context import Scheduler, require_dask
from engine.errors import ConfigError

__all__ = ["open_client"]


@contextlib.contextmanager
def open_client(scheduler: Scheduler) -> Iterator[Any]:
    """A connected `distributed.Client`; a local cluster is closed with the block."""
    require_dask()
    from distributed import Client, LocalCluster

    if scheduler.is_local:
        cluster = LocalCluster(
            n_workers=scheduler.workers,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",  # loopback only: nothing outside this machine can reach it
            # no dashboard; the scheduler's small HTTP server (health) on any free port
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            # a worker's heartbeat that races the cluster's shutdown logs an ERROR with a
            # traceback; the engine reports every failed point itself (`mfr sweep`'s summary)
            silence_logs=logging.CRITICAL,
        )
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = Client(scheduler.address, timeout="30s")
    except (OSError, TimeoutError) as exc:
        raise ConfigError(
            f"--scheduler {scheduler.address}: no Dask scheduler answers there ({exc})"
        ) from None
    with client:
        yield client
