"""One LocalCluster of two worker processes (one thread each) for the distributed tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def client() -> Iterator[Any]:
    pytest.importorskip("distributed", reason="the distributed extra is not installed")
    from engine.distributed._cluster import open_client
    from engine.distributed._context import Scheduler

    with open_client(Scheduler("local", workers=2)) as opened:
        opened.wait_for_workers(2)
        yield opened
