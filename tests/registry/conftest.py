"""Fixtures of the registry tests; the extract builders live in `registry_kit`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from registry_kit import write_extract


@pytest.fixture
def extract(tmp_path: Path) -> Callable[..., Path]:
    """Write an extract into a fresh folder: `extract(tables, fmt=..., ...)`."""
    counter = iter(range(1000))

    def _write(tables: dict[str, pl.DataFrame] | None = None, **kwargs: Any) -> Path:
        return write_extract(tmp_path / f"extract{next(counter)}", tables, **kwargs)

    return _write
