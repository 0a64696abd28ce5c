"""The bundled sample extract: exactly its planted bad rows are quarantined, and no identifier leaks."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml

from engine.cli import main
from engine.errors import ExitCode
from engine.registry import read_registry

KEY = ["table", "source_line", "rule", "column"]


@pytest.fixture(scope="module")
def sample_registry(sample_extract: Path):
    return read_registry(sample_extract)


def test_exactly_the_planted_rows_are_quarantined(sample_registry, repo_root: Path):
    planted = yaml.safe_load((repo_root / "tests" / "golden" / "sample_planted.yaml").read_text())
    expected = sorted(tuple(row[k] for k in KEY) for row in planted)
    got = sorted(sample_registry.quarantine.select(KEY).rows())
    assert got == expected


def test_every_quarantine_row_says_why(sample_registry):
    quarantine = sample_registry.quarantine
    assert quarantine["reason"].null_count() == 0
    assert quarantine.filter(pl.col("rule") != "missing_value")["value"].null_count() == 0
    assert quarantine["source_file"].str.ends_with(".csv").all()


def test_sample_identifiers_never_reach_an_output(sample_extract: Path, tmp_path: Path, capsys):
    raw = pl.read_csv(
        sample_extract / "recipients.csv", separator=";", encoding="cp1251", infer_schema=False
    )
    personal = ["rnokpp", "full_name", "phone", "passport"]
    assert set(personal) <= set(raw.columns)  # the sample does carry them
    secrets = {v for c in personal for v in raw[c].drop_nulls().to_list()}
    out = tmp_path / "out"
    assert main(["validate", str(sample_extract), "--out", str(out)]) == ExitCode.OK
    printed = capsys.readouterr().out
    assert "personal-data columns dropped: recipients.rnokpp" in printed
    cells = pl.concat(
        [
            pl.read_parquet(f).select(pl.all().cast(pl.String)).unpivot(value_name="_cell")["_cell"]
            for f in sorted(out.glob("*.parquet"))
        ]
    ).drop_nulls()
    assert (cells == "R00000001").any()  # the search does see the outputs' values
    leaks = cells.str.contains_any(sorted(secrets)).sum()
    assert leaks == 0
    assert not pl.Series([printed]).str.contains_any(sorted(secrets)).item()
