"""Pilot monitoring: pilot hromadas against comparable ones with a difference in differences.

Hand-checked panel (coverage, before = January, after = June, start 2026-05-01):

| hromada | group      | before | after | change |
|---------|------------|--------|-------|--------|
| p1      | pilot      | 0.80   | 0.95  | +0.15  |
| p2      | pilot      | 0.70   | 0.90  | +0.20  |
| p3      | pilot      | 0.60   | 0.85  | +0.25  |
| c1      | comparison | 0.80   | 0.85  | +0.05  |
| c2      | comparison | 0.75   | 0.75  |  0.00  |
| c3      | comparison | 0.70   | 0.80  | +0.10  |

pilot mean change 0.20 (sample variance 0.0025), comparison 0.05 (variance 0.0025):
DiD = 0.15, standard error √(0.0025/3 + 0.0025/3) = 0.040825, 95 % interval 0.15 ± 0.080016.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from engine.errors import ConfigError
from engine.pilot import load_pilot, pilot_effects, pilot_panel, pilot_series

START = dt.date(2026, 5, 1)


def _panel() -> pl.DataFrame:
    before = [0.80, 0.70, 0.60, 0.80, 0.75, 0.70]
    after = [0.95, 0.90, 0.85, 0.85, 0.75, 0.80]
    codes = ["p1", "p2", "p3", "c1", "c2", "c3"]
    return pl.DataFrame(
        {
            "hromada_code": codes * 2,
            "group": (["pilot"] * 3 + ["comparison"] * 3) * 2,
            "month": [dt.date(2026, 1, 1)] * 6 + [dt.date(2026, 6, 1)] * 6,
            "coverage": before + after,
        }
    )


def test_hand_checked_difference_in_differences() -> None:
    (row,) = pilot_effects(_panel(), START, indicators=("coverage",)).to_dicts()
    assert row["did"] == pytest.approx(0.15)
    assert row["lo_95"] == pytest.approx(0.15 - 0.080016, abs=1e-5)
    assert row["hi_95"] == pytest.approx(0.15 + 0.080016, abs=1e-5)
    assert (row["pilot_before"], row["pilot_after"]) == pytest.approx((0.70, 0.90))
    assert (row["pilot_hromadas"], row["comparison_hromadas"]) == (3, 3)


def test_months_do_not_count_as_independent_hromadas() -> None:
    """Twelve identical months of each hromada give the same estimate and interval as one."""
    panel = _panel()
    more = pl.concat(
        [panel.with_columns(pl.col("month").dt.offset_by(f"{d}d")) for d in range(0, 24, 2)]
    )
    (many,) = pilot_effects(more, START, ("coverage",)).rows()
    (one,) = pilot_effects(panel, START, ("coverage",)).rows()
    assert many[1:] == pytest.approx(one[1:])


def test_pilot_file_is_read_strictly(tmp_path: Path) -> None:
    pilot = load_pilot("models/pilots/sample-40.yaml")
    assert len(pilot.hromadas) == 40 and pilot.start == START
    bad = tmp_path / "pilot.yaml"
    bad.write_text("name: x\nstart: 2026-05-01\nhromadas: [UA1]\ncomparison: neighbours\n")
    with pytest.raises(ConfigError, match="same-oblasts or all"):
        load_pilot(bad)
    bad.write_text("name: x\nstart: 2026-05-01\nhromadas: [UA1]\nextra: 1\n")
    with pytest.raises(ConfigError):
        load_pilot(bad)


def test_on_the_sample_the_pilot_is_compared_with_its_oblasts() -> None:
    import engine
    from engine.need import need_indicators

    registry = engine.read_registry("data_samples/registry")
    territories = engine.load_territories()
    model = engine.load_funding_model("models/funding/baseline")
    cm = engine.compute_entitlements(
        registry, model, territories, months=("2026-01", "2026-10")
    ).case_months
    pilot = load_pilot("models/pilots/sample-40.yaml")
    panel = pilot_panel(need_indicators(cm, territories), cm, pilot)
    groups = dict(panel.group_by("group").agg(pl.col("hromada_code").n_unique()).iter_rows())
    assert groups["pilot"] == 40 and groups["comparison"] > 0
    pilot_oblasts = set(panel.filter(pl.col("group") == "pilot")["oblast_code"].to_list())
    assert set(panel["oblast_code"].to_list()) == pilot_oblasts  # same oblasts only
    series = pilot_series(panel)
    assert series.height == 2 * 10  # two groups, ten observed months
    effects = pilot_effects(panel, pilot.start)
    assert "coverage" in effects["indicator"].to_list()
    assert (effects["lo_95"] <= effects["did"]).all() and (effects["did"] <= effects["hi_95"]).all()


def test_a_pilot_hromada_outside_the_territories_is_refused(tmp_path: Path) -> None:
    need = pl.DataFrame(
        {
            "level": ["hromada"],
            "territory_code": ["UA1"],
            "oblast_code": ["UA0"],
            "month": [START],
            "served_cases": [1],
            "waiting_cases": [0],
        }
    )
    path = tmp_path / "p.yaml"
    path.write_text("name: x\nstart: 2026-05-01\nhromadas: [UA2]\n")
    with pytest.raises(ConfigError, match="not in the run's territories"):
        pilot_panel(need, None, load_pilot(path))
