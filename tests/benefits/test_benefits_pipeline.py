"""A run with `benefits:` in its spec: the join, dated pricing and the IDP host burden in the store."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from benefit_cases import REPO

from engine.pipeline import load_spec, run_pipeline
from engine.registry._read import read_table_file

_SPEC = """\
name: {name}
root: {root}
extract: data_samples/registry
{benefits}reference: data_samples/reference
funding_model: models/funding/baseline
months: current-year
steps: [validate, entitle{extra}]
outputs:
  store: {out}/mfr.duckdb
  runs_dir: {out}/runs
  cache_dir: {out}/cache
  logs_dir: {out}/logs
"""


def _spec(tmp_path: Path, name: str, *, benefits: bool) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        _SPEC.format(
            name=name,
            root=REPO,
            out=tmp_path / "out",
            benefits="benefits: data_samples/benefits\n" if benefits else "",
            extra=", idp_burden" if benefits else "",
        ),
        encoding="utf-8",
    )
    return path


def _table(store: Path, table: str, run_id: str) -> pl.DataFrame:
    with duckdb.connect(str(store), read_only=True) as con:
        return con.sql(f"SELECT * FROM {table} WHERE run_id = ?", params=[run_id]).pl()


def test_a_run_with_a_benefits_extract_publishes_the_idp_host_burden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MFR_PSEUDONYM_KEY", "the operator's key")
    plain = run_pipeline(load_spec(_spec(tmp_path, "plain", benefits=False)), progress=False)
    dated = run_pipeline(load_spec(_spec(tmp_path, "dated", benefits=True)), progress=False)
    store = tmp_path / "out" / "mfr.duckdb"
    burden = _table(store, "idp_burden", dated.run_id)
    assert set(burden["level"].cast(pl.String)) == {"hromada", "oblast", "national"}
    national = burden.filter(pl.col("level") == "national")
    served_idp = _table(store, "case_months", dated.run_id)
    assert national["case_months"].sum() <= served_idp["case_months"].sum()
    report = _table(store, "benefits_quarantine", dated.run_id)
    assert report.filter(pl.col("kind") == "quarantine").height == 10  # the planted rows
    # the same days are priced; the money moves with the dated circumstances
    one = _table(store, "case_months", plain.run_id).sort("case_id", "month", "funded")
    other = _table(store, "case_months", dated.run_id).sort("case_id", "month", "funded")
    assert one["days"].to_list() == other["days"].to_list()
    assert one["copay_uah"].sum() != other["copay_uah"].sum()
    # no РНОКПП of either extract in any published table of the run
    tax = set(
        read_table_file("recipients", REPO / "data_samples/registry/recipients.csv")
        .frame["rnokpp"]
        .drop_nulls()
        .to_list()
    )
    with duckdb.connect(str(store), read_only=True) as con:
        tables = con.sql(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'run_id' "
            "AND table_schema = 'main' AND table_name NOT IN ('runs', 'run_steps')"
        ).fetchall()
    assert len(tables) > 5
    for (table,) in tables:
        text = _table(store, table, dated.run_id).select(pl.all().cast(pl.String))
        cells = {v for c in text.columns for v in text[c].drop_nulls().to_list()}
        assert not cells & tax, table


def test_without_the_key_the_run_stops_with_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.errors import ConfigError

    monkeypatch.delenv("MFR_PSEUDONYM_KEY", raising=False)
    with pytest.raises(ConfigError, match="MFR_PSEUDONYM_KEY"):
        run_pipeline(load_spec(_spec(tmp_path, "nokey", benefits=True)), progress=False)
