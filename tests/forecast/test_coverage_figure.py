"""The report's coverage chart: coverage against nominal per level, with the spread over origins."""

from __future__ import annotations

import polars as pl
import pytest

from engine.report._figures_forecast import coverage_figure


def _table() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "origin": [1, 1, 2, 2] * 2,
            "method": ["mint_shrink"] * 4 + ["naive"] * 4,
            "level": ["total", "oblast_code"] * 4,
            "coverage_80": [1.0, 0.8, 0.5, 0.7, 0.2, 0.3, 0.2, 0.3],
            "coverage_95": [1.0, 0.9, 1.0, 0.95, 0.4, 0.5, 0.4, 0.5],
        }
    )


def test_coverage_is_drawn_against_nominal_per_level_without_the_benchmarks():
    fig = coverage_figure(_table(), lang="en")
    names = [t.name for t in fig.data]
    assert names == ["mint_shrink 80 %", "mint_shrink 95 %"]
    at80 = fig.data[0]
    assert list(at80.y) == ["total", "oblast_code"]
    assert list(at80.x) == pytest.approx([0.75, 0.75])  # mean over the two origins
    assert list(at80.error_x.array) == pytest.approx([0.25, 0.05])  # up to the highest origin
    assert list(at80.error_x.arrayminus) == pytest.approx([0.25, 0.05])
    nominal = sorted(s.x0 for s in fig.layout.shapes if s.type == "line")
    assert nominal == pytest.approx([0.80, 0.95])


def test_coverage_needs_coverage_columns():
    with pytest.raises(ValueError, match="coverage"):
        coverage_figure(pl.DataFrame({"level": ["total"], "mase": [1.0]}))
