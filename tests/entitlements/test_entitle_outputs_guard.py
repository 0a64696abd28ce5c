"""`mfr entitle` never publishes a non-finite amount: every money frame is checked before writing."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import engine.entitlements
import engine.scenarios
from engine.cli import main
from engine.errors import ExitCode

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data_samples" / "registry"
BASELINE = REPO / "models" / "funding" / "baseline"
SCENARIO = REPO / "models" / "scenarios" / "home-care-frontline-plus10.yaml"


def _poisoned(frame: pl.DataFrame, column: str = "state_uah") -> pl.DataFrame:
    """The frame with a NaN in its first row's `column` (a bug no loader would catch); a frame
    without it (the segments a scenario's pricing did not build) as it is."""
    if column not in frame.columns:
        return frame
    first = pl.int_range(pl.len()) == 0
    return frame.with_columns(
        pl.when(first).then(float("nan")).otherwise(pl.col(column)).alias(column)
    )


def _entitle(out: Path, *extra: str) -> list[str]:
    return [
        *("entitle", str(SAMPLE), "--model", str(BASELINE)),
        *("--months", "2026-05:2026-05", "--out", str(out), *extra),
    ]


@pytest.mark.parametrize("table", ["segments", "case_months", "rollups", "flows"])
def test_a_nan_in_a_priced_table_is_refused_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, table: str
) -> None:
    # without a scenario the frames are written one at a time as they are built: a NaN in the
    # last one (segments) is found after the others were staged, and nothing may remain
    real = engine.entitlements.PricedMonths.frames

    def frames(self: Any, **kwargs: Any) -> Iterator[tuple[str, pl.DataFrame]]:
        for name, frame in real(self, **kwargs):
            yield name, _poisoned(frame) if name == table else frame

    monkeypatch.setattr(engine.entitlements.PricedMonths, "frames", frames)
    out = tmp_path / "run"
    assert main(_entitle(out, "--segments")) == ExitCode.INTERNAL_ERROR
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"{table}, column 'state_uah'" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("table", ["segments", "case_months", "rollups", "flows"])
def test_a_nan_in_a_priced_table_of_a_scenario_run_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, table: str
) -> None:
    real = engine.entitlements.compute_entitlements

    def compute(*args: Any, **kwargs: Any) -> engine.entitlements.Entitlements:
        result = real(*args, **kwargs)
        return dataclasses.replace(result, **{table: _poisoned(getattr(result, table))})

    monkeypatch.setattr(engine.entitlements, "compute_entitlements", compute)
    out = tmp_path / "run"
    assert main(_entitle(out, "--segments", "--scenario", str(SCENARIO))) == ExitCode.INTERNAL_ERROR
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"{table}, column 'state_uah'" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_nan_in_the_scenario_comparison_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = engine.scenarios.scenario_diff

    def diff(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        return dataclasses.replace(
            result, territories=_poisoned(result.territories, "diff_state_uah")
        )

    monkeypatch.setattr(engine.scenarios, "scenario_diff", diff)
    out = tmp_path / "run"
    assert main(_entitle(out, "--scenario", str(SCENARIO))) == ExitCode.INTERNAL_ERROR
    assert "scenario_diff_territories, column 'diff_state_uah'" in capsys.readouterr().err
    assert not out.exists()
