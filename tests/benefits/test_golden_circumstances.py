"""Hand-computed cases of dated circumstances (tests/benefits/golden_circumstances.yaml)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from benefit_cases import (  # noqa: F401 (fixtures)
    HROMADAS,
    baseline_model_fixture,
    builders,
    registry_with_benefits,
    territories_fixture,
)

from engine.entitlements import compute_entitlements

CASES = yaml.safe_load((Path(__file__).parent / "golden_circumstances.yaml").read_text("utf-8"))
CENT = Decimal("0.01")


def _month(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%Y-%m").date()


@pytest.mark.parametrize("spec", CASES, ids=[c["name"] for c in CASES])
def test_golden_circumstances(spec: dict[str, Any], baseline_model, territories) -> None:
    registry = registry_with_benefits([spec])
    ent = compute_entitlements(registry, baseline_model, territories, months=tuple(spec["months"]))
    expect = spec["expect"]
    cm = ent.case_months.sort("month", "funded")
    assert cm.height == len(expect["case_months"]), cm
    for row, want in zip(cm.iter_rows(named=True), expect["case_months"], strict=True):
        assert row["month"] == _month(want["month"])
        assert row["funded"] is want["funded"]
        for column in ("gross", "copay", "state"):  # exact to the kopiyka
            assert row[f"{column}_uah"] == Decimal(str(want[column])).quantize(CENT), column
        assert row["days"] == want["days"]
        if "disability" in want:
            assert row["disability_group"] == want["disability"]
        if "idp" in want:
            assert row["is_idp"] is want["idp"]
    segments = ent.segments.sort("segment_from")
    assert segments.height == len(expect["segments"]), segments
    for row, want in zip(segments.iter_rows(named=True), expect["segments"], strict=True):
        assert row["segment_from"] == want["from"]
        assert row["segment_to"] == want["to"]
        for column in ("copay_share", "modifier"):
            if column in want:
                assert row[column] == pytest.approx(want[column], abs=1e-9), column
        if "disability" in want:
            assert row["disability_group"] == want["disability"]
        if "idp" in want:
            assert row["is_idp"] is want["idp"]
        assert float(row["gross_uah"]) == pytest.approx(want["gross"], abs=0.005)
    if "idp_burden" in expect:
        burden = ent.idp_burden
        assert burden is not None
        for want in expect["idp_burden"]:
            code = HROMADAS[want["territory"]]
            origin = territories.filter(pl.col("hromada_code") == HROMADAS[want["origin_oblast"]])
            row = burden.filter(
                (pl.col("level") == want["level"])
                & (pl.col("territory_code").cast(pl.String) == code)
            ).row(0, named=True)
            assert row["origin_oblast_code"] == origin["oblast_code"][0]
            assert row["idp_recipients"] == want["recipients"]
            assert row["case_months"] == pytest.approx(want["case_months"], abs=1e-6)
            assert row["state_uah"] == Decimal(str(want["state"])).quantize(CENT)


def test_without_a_benefits_extract_the_registry_values_stand(baseline_model, territories) -> None:
    """The same cases without benefits: the registry's single values price the whole month."""
    case = CASES[0]  # registry income 1.5: free all March
    registry = builders.registry_from_cases([case])
    assert registry.benefits is None
    plain = compute_entitlements(
        registry, baseline_model, territories, months=("2024-03", "2024-03")
    )
    assert plain.case_months["copay_uah"].to_list() == [Decimal("0.00")]
