"""`explain` on the hand-computed golden cases (tests/golden/entitlements.yaml): the factors give the
amount to the kopiyka, every cut names its cause (tests/explain/cuts.yaml), every factor its source."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from engine.explain import CutCause, explain_amount
from engine.explain._causes import DEFAULT_CAUSES, cause_rows
from engine.explain._explain import _case_months
from engine.params import load_funding_model
from engine.reference import load_services, load_territories

TESTS = Path(__file__).resolve().parents[1]
GOLDEN = yaml.safe_load((TESTS / "golden" / "entitlements.yaml").read_text(encoding="utf-8"))
CUTS = {c["name"]: c for c in yaml.safe_load((TESTS / "explain" / "cuts.yaml").read_text())}
CENT = Decimal("0.01")


def _builders() -> Any:
    """The golden cases' registry builder (tests/entitlements/conftest.py), loaded by its path."""
    spec = importlib.util.spec_from_file_location(
        "entitlement_builders", TESTS / "entitlements" / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILD = _builders().registry_from_cases


@pytest.fixture(scope="module")
def model():
    return load_funding_model(
        TESTS.parent / "models" / "funding" / "baseline", services=load_services()
    )


@pytest.fixture(scope="module")
def territories() -> pl.DataFrame:
    return load_territories()


def _months(spec: dict[str, Any]) -> list[str]:
    first, last = (dt.datetime.strptime(m, "%Y-%m").date() for m in spec["months"])
    out, month = [], first
    while month <= last:
        out.append(f"{month:%Y-%m}")
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return out


CASE_MONTHS = [(spec, month) for spec in GOLDEN for month in _months(spec)]


@pytest.mark.parametrize(
    ("spec", "month"), CASE_MONTHS, ids=[f"{s['name']} {m}" for s, m in CASE_MONTHS]
)
def test_factors_give_the_golden_amount_to_the_kopiyka(spec, month, model, territories) -> None:
    why = explain_amount(BUILD([spec]), model, "C0000", month, territories=territories)
    expected = [r for r in spec["expect"]["case_months"] if str(r["month"]) == month]
    rows = why.case_months.sort("funded")
    assert rows.height == len(expected)
    assert why.consistent
    for row, want in zip(
        rows.iter_rows(named=True), sorted(expected, key=lambda r: r["funded"]), strict=True
    ):
        for column in ("gross", "copay", "state"):
            assert row[f"{column}_uah"] == Decimal(str(want[column])).quantize(CENT)
        # the factors themselves, multiplied in float64 and summed, round to the golden amount
        assert Decimal(f"{row['gross_unrounded']:.10f}").quantize(CENT, "ROUND_HALF_UP") == (
            Decimal(str(want["gross"])).quantize(CENT)
        )
    products = (
        why.factors.filter(pl.col("role") == "multiplier")
        .group_by("segment")
        .agg(pl.col("value").product())
        .sort("segment")
    )
    for (segment, product), seg in zip(
        products.rows(), why.segments.iter_rows(named=True), strict=True
    ):
        assert seg["segment"] == segment
        assert math.isclose(product, float(seg["gross_uah"]), abs_tol=5e-5)
    golden_segments = [
        s for s in spec["expect"].get("segments", []) if s["from"].strftime("%Y-%m") == month
    ]
    for want in golden_segments:
        seg = why.segments.filter(pl.col("segment_from") == want["from"]).row(0, named=True)
        assert float(seg["gross_uah"]) == pytest.approx(want["gross"], abs=0.005)


@pytest.mark.parametrize("name", list(CUTS), ids=list(CUTS))
def test_each_cut_names_its_cause(name, model, territories) -> None:
    want = CUTS[name]
    spec = next(s for s in GOLDEN if s["name"] == name)
    why = explain_amount(BUILD([spec]), model, "C0000", want["month"], territories=territories)
    got = why.segments.select("segment_from", "start_codes", "end_codes").rows()
    assert [(s["from"], s["starts"], s["ends"]) for s in want["segments"]] == [
        (d, list(a), list(b)) for d, a, b in got
    ]
    for fact in want.get("factors", []):
        rows = why.factors.filter(
            (pl.col("segment") == fact["segment"]) & (pl.col("factor") == fact["factor"])
        )
        assert rows.height == 1, (fact, why.factors)
        row = rows.row(0, named=True)
        assert row["value"] == pytest.approx(fact["value"], abs=1e-6)
        if "key" in fact:
            assert row["key"] == fact["key"]
        if "file" in fact:
            assert Path(row["source"]).name == fact["file"]
        if "from" in fact:
            assert row["effective_from"] == fact["from"]
        if "reference" in fact:
            assert fact["reference"] in row["reference"]


def test_no_cut_is_left_unexplained(model, territories) -> None:
    for spec, month in CASE_MONTHS:
        why = explain_amount(BUILD([spec]), model, "C0000", month, territories=territories)
        for codes in (*why.segments["start_codes"], *why.segments["end_codes"]):
            assert "unexplained" not in codes.to_list(), (spec["name"], month)


def test_a_cut_without_its_source_is_reported_unexplained(model, territories) -> None:
    """The check can fail: without the location source, the move on the 17th has no cause."""
    spec = next(s for s in GOLDEN if s["name"] == "moves on the 17th to a frontline hromada")
    causes = [c for c in DEFAULT_CAUSES if c.name != "location"]
    why = explain_amount(
        BUILD([spec]), model, "C0000", "2024-03", territories=territories, causes=causes
    )
    assert why.segments["start_codes"].to_list()[1] == ["unexplained"]


def test_more_causes_can_be_added(model, territories) -> None:
    spec = next(s for s in GOLDEN if s["name"] == "tariff change on the 10th")
    declared = CutCause(
        "income_declaration",
        lambda ctx: cause_rows([(dt.date(2025, 3, 10), "income_declaration", "declared 2.5")]),
    )
    why = explain_amount(BUILD([spec]), model, "C0000", "2025-03", territories=territories,
                  causes=(*DEFAULT_CAUSES, declared))  # fmt: skip
    assert why.segments["start_codes"].to_list()[1] == ["parameter_change", "income_declaration"]


def test_a_wrong_factor_is_caught(model, territories) -> None:
    """The kopiyka check can fail: a tariff one kopiyka off gives another amount."""
    spec = next(s for s in GOLDEN if s["name"] == "tariff change on the 10th")
    why = explain_amount(BUILD([spec]), model, "C0000", "2025-03", territories=territories)
    wrong = why.factors.with_columns(
        pl.when(pl.col("factor") == "tariff").then(pl.col("value") + 0.01).otherwise("value")
        .alias("value")
    )  # fmt: skip
    base = why.case_months.select(
        "month", "funded", "days", "case_months", "gross_uah", "copay_uah", "state_uah",
        "hromada_code", "provider_id",
    )  # fmt: skip
    assert not _case_months(base, wrong, why.segments)["matches_engine"].any()


def test_json_and_text_carry_the_same_explanation(model, territories) -> None:
    spec = next(
        s for s in GOLDEN if s["name"] == "bed-day case hits the monthly cap in a 31-day month"
    )
    why = explain_amount(BUILD([spec]), model, "C0000", "2024-03", territories=territories)
    data = json.loads(why.to_json())
    assert data["case_months"][0]["gross_uah"] == "16185.16"
    assert data["monthly_cap_uah"] == 16185.16 and data["consistent"] is True
    assert data["model_version"] == model.version and data["model_hash"] == model.content_hash
    cap = next(f for f in data["segments"][0]["factors"] if f["factor"] == "cap_factor")
    assert cap["effective_from"] == "2024-01-01" and "16,185.16" in cap["note"]
    text = why.to_text()
    assert "16,185.16" in text and "✓ the factors give the engine's amount" in text
    assert "monthly_cap.yaml" in text and "half away from zero" in text
