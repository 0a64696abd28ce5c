"""Hand-computed golden cases (tests/golden/entitlements.yaml), each priced alone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from engine.entitlements import compute_entitlements

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "entitlements.yaml"
CASES = yaml.safe_load(GOLDEN.read_text(encoding="utf-8"))
CENT = Decimal("0.01")
HROMADAS = {
    "A": "UA05020010000053508",
    "B": "UA63040010000010092",
    "C": "UA21020050000065800",
}


def _month(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%Y-%m").date()


@pytest.mark.parametrize("spec", CASES, ids=[c["name"] for c in CASES])
def test_golden_case(spec: dict[str, Any], build_registry, baseline_model, territories) -> None:
    registry = build_registry([spec])
    ent = compute_entitlements(registry, baseline_model, territories, months=tuple(spec["months"]))
    cm = ent.case_months.sort("month", "funded")
    expected = spec["expect"]["case_months"]
    assert cm.height == len(expected), cm
    for row, want in zip(cm.iter_rows(named=True), expected, strict=True):
        assert row["month"] == _month(want["month"])
        assert row["funded"] is want["funded"]
        for column in ("gross", "copay", "state"):  # exact to the kopiyka
            assert row[f"{column}_uah"] == Decimal(str(want[column])).quantize(CENT), column
        assert row["days"] == want["days"]
        if "case_months" in want:
            assert row["case_months"] == pytest.approx(want["case_months"], abs=1e-6)
        if "hromada" in want:
            assert row["hromada_code"] == HROMADAS[want["hromada"]]
        if "provider" in want:
            assert row["provider_id"] == want["provider"]
    if "segments" not in spec["expect"]:
        return
    segments = ent.segments.sort("segment_from")
    assert segments.height == len(spec["expect"]["segments"]), segments
    for row, want in zip(segments.iter_rows(named=True), spec["expect"]["segments"], strict=True):
        assert row["segment_from"] == want["from"]
        assert row["segment_to"] == want["to"]
        if "days" in want:
            assert row["days"] == want["days"]
        if "hromada" in want:
            assert row["hromada_code"] == HROMADAS[want["hromada"]]
        for column in ("coef", "units", "tariff", "cap_factor"):
            if column in want:
                assert row[column] == pytest.approx(want[column], abs=1e-6), column
        assert float(row["gross_uah"]) == pytest.approx(want["gross"], abs=0.005)


def test_golden_cases_priced_together_match_alone(
    build_registry, baseline_model, territories
) -> None:
    """Cases never influence each other: one registry of the April golden cases gives the same rows
    (cases with territory statuses are left out: statuses belong to hromadas, shared by all)."""
    specs = [c for c in CASES if c["months"] == ["2024-04", "2024-04"] and not c.get("statuses")]
    together = compute_entitlements(
        build_registry(specs), baseline_model, territories, months=("2024-04", "2024-04")
    ).case_months
    for i, spec in enumerate(specs):
        alone = compute_entitlements(
            build_registry([spec]), baseline_model, territories, months=("2024-04", "2024-04")
        ).case_months
        mine = together.filter(pl.col("case_id") == f"C{i:04d}").drop("case_id", "recipient_id")
        assert mine.equals(alone.drop("case_id", "recipient_id")), spec["name"]


def test_an_empty_registry_gives_empty_frames_with_the_same_schema(
    build_registry, baseline_model, territories
) -> None:
    months = ("2024-04", "2024-04")
    empty = compute_entitlements(build_registry([]), baseline_model, territories, months=months)
    full = compute_entitlements(
        build_registry(CASES[:3]), baseline_model, territories, months=months
    )
    for name in ("segments", "case_months", "rollups", "flows"):
        assert getattr(empty, name).is_empty(), name
        assert getattr(empty, name).schema == getattr(full, name).schema, name
