"""Scenario overlays: applied by the loader's code path, strict, and compared with the baseline."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest

from engine.entitlements import compute_entitlements
from engine.errors import ConfigError
from engine.params import load_funding_model
from engine.reference import load_services
from engine.scenarios import scenario_diff

REPO = Path(__file__).resolve().parents[2]
BASELINE = REPO / "models" / "funding" / "baseline"
SCENARIOS = REPO / "models" / "scenarios"
BAD = Path(__file__).resolve().parent / "fixtures" / "bad_scenarios"

REJECTIONS = {
    "unknown_key": (6, "unknown key 'form'"),
    "bad_date": (6, "bad from date '2026-06-31'"),
    "both_operations": (4, "exactly one of 'multiply' or 'set'"),
    "territorial_copay": (7, "territorial change is allowed only for"),
    "unknown_parameter": (4, "'parameter' must be one of"),
    "wrong_dimension": (5, "'need_level' is not a dimension"),
    "unknown_service": (5, "unknown service_code '099.9'"),
    "until_before_from": (6, "'until' is before 'from'"),
    "duplicate_key": (7, "duplicate key 'multiply'"),
}


@pytest.fixture(scope="module")
def services() -> pl.DataFrame:
    return load_services()


@pytest.mark.parametrize("kind", sorted(REJECTIONS))
def test_overlay_rejections_name_file_and_line(kind: str, services: pl.DataFrame) -> None:
    line, fragment = REJECTIONS[kind]
    with pytest.raises(ConfigError) as caught:
        load_funding_model(BASELINE, BAD / f"{kind}.yaml", services=services)
    message = str(caught.value)
    assert re.search(rf"{kind}\.yaml, line {line}\b", message), message
    assert fragment in message, message


def test_every_bad_scenario_is_checked() -> None:
    assert {p.stem for p in BAD.glob("*.yaml")} == set(REJECTIONS)


def test_shipped_scenarios_load(services: pl.DataFrame) -> None:
    for path in SCENARIOS.glob("*.yaml"):
        model = load_funding_model(BASELINE, path, services=services)
        assert model.scenario == path.stem
        assert model.version.endswith(f"+{path.stem}")


def test_table_change_splits_intervals(services: pl.DataFrame) -> None:
    model = load_funding_model(BASELINE, SCENARIOS / "copay-threshold-3.yaml", services=services)
    bands = model.table("copay_bands").sort("income_ratio_from", "valid_from")
    assert bands.select("income_ratio_from", "valid_from", "valid_to", "value").rows() == [
        (0.0, dt.date(2024, 1, 1), None, 0.0),
        (2.0, dt.date(2024, 1, 1), dt.date(2025, 12, 31), 0.3),
        (2.0, dt.date(2026, 1, 1), None, 0.0),
        (3.0, dt.date(2026, 1, 1), None, 0.3),
        (4.0, dt.date(2024, 1, 1), None, 1.0),
    ]
    assert model.adjustments.is_empty()


FRONTLINE_CASES = [
    {
        "id": "in-frontline",
        "case": {"service": "015.1", "need_level": 2, "start": dt.date(2026, 1, 1)},
        "locations": [{"hromada": "B", "provider": "P2", "from": dt.date(2026, 1, 1)}],
        "statuses": [{"hromada": "B", "status": "frontline", "from": dt.date(2022, 2, 24)}],
    },
    {
        "id": "elsewhere",
        "case": {"service": "015.1", "need_level": 2, "start": dt.date(2026, 1, 1)},
        "locations": [{"hromada": "A", "provider": "P1", "from": dt.date(2026, 1, 1)}],
    },
    {
        "id": "moves-to-frontline",
        "recipient": {"income": 2.5},
        "case": {"service": "015.1", "need_level": 1, "start": dt.date(2026, 1, 1)},
        "locations": [
            {
                "hromada": "A",
                "provider": "P1",
                "from": dt.date(2026, 1, 1),
                "to": dt.date(2026, 7, 16),
            },
            {"hromada": "B", "provider": "P2", "from": dt.date(2026, 7, 17)},
        ],
    },
]


def test_home_care_frontline_plus10_by_hand(
    build_registry, baseline_model, territories, services
) -> None:
    scenario = load_funding_model(
        BASELINE, SCENARIOS / "home-care-frontline-plus10.yaml", services=services
    )
    registry = build_registry(FRONTLINE_CASES)
    months = ("2026-06", "2026-07")
    base = compute_entitlements(registry, baseline_model, territories, months=months)
    alt = compute_entitlements(registry, scenario, territories, months=months)
    diff = scenario_diff(base, alt)
    got = {
        (row["case_id"], f"{row['month']:%Y-%m}"): (  # exact decimals, compared as written
            str(row["baseline_gross_uah"]),
            str(row["scenario_gross_uah"]),
        )
        for row in diff.case_months.iter_rows(named=True)
    }
    # frontline B: 78 × 40 × 1.2 = 3744.00; from July × 1.1 = 4118.40
    assert got[("in-frontline", "2026-06")] == ("3744.00", "3744.00")
    assert got[("in-frontline", "2026-07")] == ("3744.00", "4118.40")
    # A has no status: 78 × 40 = 3120.00 either way
    assert got[("elsewhere", "2026-07")] == ("3120.00", "3120.00")
    # moves on the 17th: 78 × 20 × 16/31 = 805.16 in A; 78 × 20 × 15/31 × 1.2 = 905.81 in B,
    # × 1.1 in the scenario = 996.39 → baseline 1710.97, scenario 1801.55
    assert got[("moves-to-frontline", "2026-07")] == ("1710.97", "1801.55")
    outcome = dict(diff.cases.select("case_id", "outcome").iter_rows())
    assert outcome == {
        "in-frontline": "winner",
        "elsewhere": "unchanged",
        "moves-to-frontline": "winner",
    }
    # copay 0.30 for income 2.5 follows the gross: state diff = 0.7 × gross diff
    mover = diff.cases.filter(pl.col("case_id") == "moves-to-frontline")
    assert float(mover["diff_state_uah"].item()) == pytest.approx(0.7 * 90.58, abs=0.011)
    # territories: only Kharkiv oblast (B) and above change
    changed = diff.territories.filter(pl.col("diff_gross_uah") != 0)
    assert set(changed["level"]) == {"hromada", "raion", "oblast", "national"}
    assert changed.filter(pl.col("level") == "oblast")["territory_code"].to_list() == [
        "UA63000000000041885"
    ]
    assert str(changed.filter(pl.col("level") == "national")["diff_gross_uah"].item()) == "464.98"
    # the scenario's segments say which tariff applied
    july = alt.segments.filter(
        (pl.col("case_id") == "in-frontline") & (pl.col("month") == dt.date(2026, 7, 1))
    )
    assert july["tariff"].to_list() == [pytest.approx(85.8)]
    assert july["model_version"].item() == "2025.1+home-care-frontline-plus10"


def test_oblast_restricted_change(
    build_registry, baseline_model, territories, services, tmp_path
) -> None:
    path = tmp_path / "kharkiv-norms.yaml"
    path.write_text(
        "name: kharkiv-norms\n"
        "description: home care norm +5 hours in Kharkiv oblast\n"
        "changes:\n"
        "  - parameter: norm_units\n"
        '    where: {service_code: "015.1", need_level: 2}\n'
        "    from: 2026-07-01\n"
        "    until: 2026-07-31\n"
        "    set: 45\n"
        "    territory: {oblasts: [UA63000000000041885]}\n",
        encoding="utf-8",
    )
    scenario = load_funding_model(BASELINE, path, services=services)
    registry = build_registry(FRONTLINE_CASES[:2])
    alt = compute_entitlements(registry, scenario, territories, months=("2026-07", "2026-08"))
    gross = {
        (r["case_id"], r["month"].month): float(r["gross_uah"])
        for r in alt.case_months.iter_rows(named=True)
    }
    assert gross[("in-frontline", 7)] == pytest.approx(78 * 45 * 1.2)  # July only, Kharkiv only
    assert gross[("in-frontline", 8)] == pytest.approx(78 * 40 * 1.2)
    assert gross[("elsewhere", 7)] == pytest.approx(78 * 40)


def test_a_service_the_model_never_prices_is_a_config_error(
    build_registry, territories, tmp_path
) -> None:
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(BASELINE, folder)
    small = load_services().filter(pl.col("service_code") != "015.3")
    text = (folder / "tariff.yaml").read_text(encoding="utf-8")
    start, end = text.index('  "015.3":'), text.index('  "016.0":')
    (folder / "tariff.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    for name in ("norm_units", "max_units"):
        text = (folder / f"{name}.yaml").read_text(encoding="utf-8")
        start, end = text.index('  "015.3":'), text.index('  "016.0":')
        (folder / f"{name}.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    model = load_funding_model(folder, services=small)  # loads: its catalogue has no 015.3
    registry = build_registry(
        [{"case": {"service": "015.3", "need_level": 1, "start": dt.date(2024, 1, 1)},
          "locations": [{"hromada": "A", "provider": "P1", "from": dt.date(2024, 1, 1)}]}]
    )  # fmt: skip
    with pytest.raises(ConfigError, match=r"no tariff for service\(s\) 015\.3"):
        compute_entitlements(registry, model, territories, months=("2024-01", "2024-01"))
