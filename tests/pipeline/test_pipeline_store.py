"""The warehouse: what it holds, how it is read, and what happens when its file is damaged."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from _pipeline_fakes import make_steps

from engine.cli import main
from engine.errors import ConfigError, ExitCode
from engine.pipeline import load_spec, run_pipeline
from engine.store import Store, StoreError

REPO = Path(__file__).resolve().parents[2]


def _run(spec_path: Path, **kwargs):
    steps = make_steps()
    spec = load_spec(spec_path, steps=steps)
    return spec, run_pipeline(spec, steps=steps, progress=False, **kwargs)


def test_results_are_keyed_by_run_and_latest_views_follow(spec_path: Path) -> None:
    spec, first = _run(spec_path)
    (spec_path.parent / "policy.yaml").write_text("factor: 3\n")
    _, second = _run(spec_path)
    store = Store(spec.store)
    assert store.table("scaled").group_by("run_id").len().height == 2
    with store.connect(read_only=True) as con:
        latest = con.sql("SELECT DISTINCT run_id FROM latest_test.scaled").fetchall()
        steps = con.sql(
            "SELECT step, rows_written FROM run_steps WHERE run_id = ?", params=[second.run_id]
        ).fetchall()
    assert latest == [(second.run_id,)]
    assert sorted(steps) == [("produce", 3), ("scale", 3)]
    assert store.resolve_run_id("latest", spec="test") == second.run_id
    assert store.resolve_run_id(first.run_id[:-2]) == first.run_id  # unambiguous prefix
    with pytest.raises(ConfigError, match="no run 'nope'"):
        store.resolve_run_id("nope")


def test_a_new_column_in_a_later_run_is_added(spec_path: Path) -> None:
    spec, first = _run(spec_path)
    extract = spec_path.parent / "extract" / "numbers.csv"
    extract.write_text("n,label\n1,a\n2,b\n")
    _, second = _run(spec_path)
    numbers = Store(spec.store).table("numbers")
    assert numbers.filter(pl.col("run_id") == first.run_id)["label"].null_count() == 3
    assert numbers.filter(pl.col("run_id") == second.run_id)["label"].to_list() == ["a", "b"]


def test_a_corrupted_store_is_reported_and_left_untouched(spec_path: Path) -> None:
    spec, first = _run(spec_path)
    damaged = b"this is not a database" * 500
    spec.store.write_bytes(damaged)
    (spec_path.parent / "policy.yaml").write_text("factor: 4\n")
    with pytest.raises(StoreError, match="the store cannot be used") as caught:
        _run(spec_path)
    assert "left untouched" in str(caught.value) and str(spec.store) in str(caught.value)
    assert caught.value.exit_code == ExitCode.BAD_INPUT_FILE
    assert spec.store.read_bytes() == damaged  # nothing overwritten: it can still be examined
    assert (spec.runs_dir / first.run_id / "scaled.parquet").exists()  # earlier exports kept
    assert not list(spec.runs_dir.glob(".staging-*"))


def test_the_cli_reports_a_corrupted_store_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "mfr.duckdb"
    store.write_bytes(b"\0garbage" * 1000)
    code = main(["run", str(REPO / "pipelines" / "nightly.yaml"), "--store", str(store)])
    err = capsys.readouterr().err.strip()
    assert code == ExitCode.BAD_INPUT_FILE
    assert err.startswith(f"error: {store}: the store cannot be used")
    assert len(err.splitlines()) == 1
    assert code == main(["runs", "--store", str(store)])


def test_runs_and_show(spec_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec, result = _run(spec_path)
    assert main(["runs", "--store", str(spec.store)]) == 0
    listing = capsys.readouterr().out
    assert result.run_id in listing and "succeeded" in listing
    assert main(["show", result.run_id[:20], "--store", str(spec.store)]) == 0
    shown = capsys.readouterr().out
    for expected in ("Inputs", "extract", "policy", "Steps", "produce", "scale", "code "):
        assert expected in shown
    assert main(["show", "latest", "--spec", "test", "--store", str(spec.store), "--json"]) == 0
    assert f'"run_id": "{result.run_id}"' in capsys.readouterr().out
    assert main(["show", "19990101", "--store", str(spec.store)]) == ExitCode.BAD_CONFIG


def test_reading_a_store_that_does_not_exist(tmp_path: Path, capsys) -> None:
    assert main(["runs", "--store", str(tmp_path / "none.duckdb")]) == ExitCode.BAD_INPUT_FILE
    assert "no store here yet" in capsys.readouterr().err
    assert not (tmp_path / "none.duckdb").exists()
