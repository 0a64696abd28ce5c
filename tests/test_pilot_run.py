"""Pilot monitoring in run specs: the `pilot:` block, the `pilot` step, its typed store tables and
the report's pilot section read back from the store (`mfr report RUN`).

Hand-checked table for `pilot_tables` (start 2026-05-01; before = March, after = July):

| hromada | group      | coverage before | after | change | UAH/case-month before | after |
|---------|------------|-----------------|-------|--------|-----------------------|-------|
| UA…01   | pilot      | 0.50            | 0.80  | +0.30  | 1000                  | 1300  |
| UA…02   | pilot      | 0.60            | 0.80  | +0.20  | 1000                  | 1100  |
| UA…03   | comparison | 0.50            | 0.60  | +0.10  | 1000                  | 1000  |
| UA…04   | comparison | 0.70            | 0.70  |  0.00  | 1000                  | 1000  |

coverage: DiD = 0.25 − 0.05 = 0.20; each group's changes have sample variance 0.005, so the
standard error is √(0.005/2 + 0.005/2) = 0.070711 and the 95 % interval 0.20 ± 0.138590.
UAH per case-month: DiD = 200 − 0 = 200, variance 20,000 and 0: 200 ± 1.959964 × 100.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from rich.console import Console

import engine
from engine.errors import ConfigError
from engine.pilot import Pilot, load_pilot, pilot_effects, pilot_panel
from engine.pipeline._nodes_pilot import pilot_tables
from engine.report import report_data_from_store, report_sections

ROOT = Path(__file__).resolve().parents[1]
START = dt.date(2026, 5, 1)
CODES = [f"UA120200100000000{i:02d}" for i in range(1, 5)]


def _spec(
    tmp_path: Path, pilot: str, steps: str = "[validate, entitle, need, pilot, report]"
) -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"name: pilot-test\nroot: {ROOT}\nmonths: 2026-01:2026-10\n{pilot}\nsteps: {steps}\n"
        f"outputs:\n  store: {tmp_path / 'mfr.duckdb'}\n",
        encoding="utf-8",
    )
    return spec


def _small_need() -> pl.DataFrame:
    rows = []
    for code, (c0, c1), (u0, u1) in zip(
        CODES,
        [(0.5, 0.8), (0.6, 0.8), (0.5, 0.6), (0.7, 0.7)],
        [(1000, 1300), (1000, 1100), (1000, 1000), (1000, 1000)],
        strict=True,
    ):
        for month, coverage, uah in ((dt.date(2026, 3, 1), c0, u0), (dt.date(2026, 7, 1), c1, u1)):
            rows.append(
                {
                    "level": "hromada",
                    "territory_code": code,
                    "oblast_code": "UA12000000000090473",
                    "month": month,
                    "served_cases": 10,
                    "waiting_cases": 1,
                    "coverage": coverage,
                    "served_case_months": 10.0,
                    "state_uah": uah * 10.0,
                    "nonstate_share": 0.0,
                    "idp_share": 0.1,
                }
            )
    return pl.DataFrame(rows)


def test_hand_checked_difference_in_differences_of_the_step() -> None:
    pilot = Pilot("small", START, tuple(CODES[:2]))
    tables = pilot_tables(_small_need(), None, pilot)
    effects = {r["indicator"]: r for r in tables["pilot_effects"].iter_rows(named=True)}
    coverage = effects["coverage"]
    assert coverage["did"] == pytest.approx(0.20)
    assert coverage["hi_95"] - coverage["did"] == pytest.approx(0.138590, abs=1e-6)
    money = effects["uah_per_case_month"]
    assert money["did"] == pytest.approx(200.0)
    assert money["did"] - money["lo_95"] == pytest.approx(195.9964, abs=1e-3)
    assert (coverage["pilot_hromadas"], coverage["comparison_hromadas"]) == (2, 2)
    assert set(tables["pilot_effects"]["pilot"]) == {"small"}
    assert tables["pilot_indicators"].schema["group"] == pl.Enum(["pilot", "comparison"])


@pytest.mark.parametrize(
    ("block", "message", "line"),
    [
        ("pilot:\n  name: x\n  start: May\n  hromadas: [UA12020010000033698]", "pilot.start", 6),
        (
            "pilot:\n  name: x\n  start: 2026-05-01\n  hromadas:\n    - UA99999999999999999",
            "no hromada",
            8,
        ),
        ("pilot:\n  name: x\n  start: 2026-05-01\n  hromadas: []", "pilot.hromadas", 7),
        ("pilot:\n  name: x\n  begin: 2026-05-01", "unknown key 'begin'", 6),
        ("pilot: models/pilots/none.yaml", "does not exist", 4),
        ("pilot: 3", "expected a pilot file or a mapping", 4),
    ],
)
def test_spec_pilot_mistakes_name_the_file_and_line(
    tmp_path: Path, block: str, message: str, line: int
) -> None:
    spec = _spec(tmp_path, block)
    with pytest.raises(ConfigError, match=message) as caught:
        engine.load_spec(spec)
    assert f"{spec.name}, line {line}:" in str(caught.value)


def test_the_pilot_step_needs_a_pilot(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="step 'pilot' needs 'pilot'"):
        engine.load_spec(_spec(tmp_path, "description: no pilot"))


def test_a_pilot_file_hromada_unknown_to_the_reference_names_the_pilot_file(tmp_path: Path) -> None:
    file = tmp_path / "p.yaml"
    file.write_text("name: p\nstart: 2026-05-01\nhromadas:\n  - UA12020010000033698\n  - UA1\n")
    with pytest.raises(ConfigError, match=r"p\.yaml, line 5"):
        engine.load_spec(_spec(tmp_path, f"pilot: {file}"))


def test_inline_and_file_pilots_read_alike(tmp_path: Path) -> None:
    by_file = engine.load_spec(_spec(tmp_path, "pilot: models/pilots/sample-40.yaml")).pilot
    listed = "\n".join(
        f"    - {c}" for c in load_pilot(ROOT / "models/pilots/sample-40.yaml").hromadas
    )
    inline = engine.load_spec(
        _spec(tmp_path, f"pilot:\n  name: sample-40\n  start: 2026-05-01\n  hromadas:\n{listed}")
    ).pilot
    assert by_file == inline and by_file is not None and len(by_file.hromadas) == 40
    assert engine.load_spec(ROOT / "pipelines/pilot-2026.yaml").parameters()["pilot"]["name"] == (
        "sample-40"
    )


@pytest.fixture(scope="module")
def pilot_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Any]:
    folder = tmp_path_factory.mktemp("pilot-run")
    spec = engine.load_spec(_spec(folder, "pilot: models/pilots/sample-40.yaml"))
    result = engine.run_pipeline(spec, progress=False, console=Console(file=io.StringIO()))
    return folder / "mfr.duckdb", result.run_id, result


def test_the_step_equals_engine_pilot_on_the_runs_frames(pilot_run: tuple[Path, str, Any]) -> None:
    _, _, result = pilot_run
    spec_pilot = load_pilot(ROOT / "models/pilots/sample-40.yaml")
    need = result.outputs["need"].frames["need"]
    case_months = result.outputs["entitle"].frames["case_months"]
    panel = pilot_panel(need, case_months, spec_pilot)
    effects = pilot_effects(panel, spec_pilot.start)
    stored = result.outputs["pilot"].frames
    indicators = stored["pilot_indicators"].drop("pilot", "pilot_start", "comparison")
    assert indicators.with_columns(pl.col("group").cast(pl.String)).equals(
        panel.select(indicators.columns)
    )
    got = stored["pilot_effects"].drop("pilot", "pilot_start", "comparison")
    # the same numbers; sums of floats in another order may differ in the last bit
    assert_frame_equal(
        got.with_columns(pl.col("indicator").cast(pl.String)), effects, rel_tol=1e-12
    )


def test_the_store_keeps_typed_pilot_tables(pilot_run: tuple[Path, str, Any]) -> None:
    store, run_id, _ = pilot_run
    con = duckdb.connect(str(store), read_only=True)
    try:
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' "
                "AND table_name = 'pilot_indicators'"
            ).fetchall()
        )
        effects = dict(
            con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' "
                "AND table_name = 'pilot_effects'"
            ).fetchall()
        )
        rows = con.execute(
            "SELECT count(*) FROM pilot_effects WHERE run_id = ?", [run_id]
        ).fetchone()
    finally:
        con.close()
    assert types["group"] == "ENUM('pilot', 'comparison')"
    assert types["month"] == "DATE" and types["coverage"] == "DOUBLE"
    assert types["hromada_code"].startswith("ENUM(") and types["pilot_start"] == "DATE"
    assert effects["indicator"].startswith("ENUM('coverage'") and effects["did"] == "DOUBLE"
    assert rows is not None and rows[0] >= 5


def test_the_report_shows_the_pilot_from_the_store(pilot_run: tuple[Path, str, Any]) -> None:
    store, run_id, _ = pilot_run
    data = report_data_from_store(store, run_id)
    assert data.pilot is None and data.pilot_effects is not None
    titles = [s.title for s in report_sections(data, lang="en")]
    assert "Pilot monitoring" in titles
    section = next(s for s in report_sections(data, lang="en") if s.title == "Pilot monitoring")
    assert "sample-40" in section.note and "40 pilot hromadas" in section.note
    assert len(section.figures) == 2  # the monthly chart and the estimates
