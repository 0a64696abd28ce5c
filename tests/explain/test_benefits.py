"""With a benefits extract, pricing also cuts on the days a recipient's circumstances change; the
explanation names those cuts (`circumstance`) and still gives the engine's amounts."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from engine.benefits import read_benefits, with_benefits
from engine.entitlements import compute_entitlements
from engine.explain import explain_amount
from engine.params import load_funding_model
from engine.reference import load_services, load_territories
from engine.registry import read_registry

REPO = Path(__file__).resolve().parents[2]
MONTHS = ("2026-01", "2026-06")


def test_cuts_on_dated_circumstances_are_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MFR_PSEUDONYM_KEY", "the operator's key")
    services, territories = load_services(), load_territories()
    sample = REPO / "data_samples" / "registry"
    registry = read_registry(sample, territories=territories, services_catalogue=services)
    model = load_funding_model(REPO / "models" / "funding" / "baseline", services=services)
    benefits = read_benefits(
        REPO / "data_samples" / "benefits", registry, sample, territories=territories
    )
    dated = with_benefits(registry, benefits)
    priced = compute_entitlements(dated, model, territories, months=MONTHS)
    plain = compute_entitlements(registry, model, territories, months=MONTHS)
    keys = ["case_id", "month"]
    more = (
        priced.segments.group_by(keys).len()
        .join(plain.segments.group_by(keys).len(), on=keys, suffix="_plain")
        .filter(pl.col("len") > pl.col("len_plain"))
        .sort(keys)
        .head(8)
    )  # fmt: skip
    assert more.height == 8  # the sample's benefits extract does cut some case-months
    for case, month, *_ in more.rows():
        why = explain_amount(dated, model, case, month, territories=territories)
        assert why.consistent
        codes = {c for cs in why.segments["start_codes"].to_list() for c in cs}
        assert "circumstance" in codes and "unexplained" not in codes
        want = priced.case_months.filter((pl.col("case_id") == case) & (pl.col("month") == month))
        assert sorted(why.case_months["gross_uah"]) == sorted(want["gross_uah"])


def test_a_run_keeps_the_dated_circumstances_it_priced(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the validate step keeps of a benefits extract rebuilds the same pricing of a case."""
    from dataclasses import replace

    from engine.explain._explain import explain_registry, month_of
    from engine.explain._stored import stored_benefits, stored_inputs, stored_registry

    monkeypatch.setenv("MFR_PSEUDONYM_KEY", "the operator's key")
    services, territories = load_services(), load_territories()
    sample = REPO / "data_samples" / "registry"
    registry = read_registry(sample, territories=territories, services_catalogue=services)
    model = load_funding_model(REPO / "models" / "funding" / "baseline", services=services)
    benefits = read_benefits(
        REPO / "data_samples" / "benefits", registry, sample, territories=territories
    )
    dated = with_benefits(registry, benefits)
    kept = stored_inputs(dated)
    assert {"benefits_income_declarations", "benefits_idp_certificates"} <= set(kept)
    plain = compute_entitlements(registry, model, territories, months=MONTHS).segments
    priced = compute_entitlements(dated, model, territories, months=MONTHS).segments
    keys = ["case_id", "month"]
    case_id, month = (
        priced.group_by(keys).len()
        .join(plain.group_by(keys).len(), on=keys, suffix="_plain")
        .filter(pl.col("len") > pl.col("len_plain"))
        .sort(keys)
        .row(0)[:2]
    )  # fmt: skip
    case = registry.cases.filter(pl.col("case_id") == case_id).row(0, named=True)
    rows = kept["case_inputs"].filter(pl.col("case_id") == case["case_id"])
    one = stored_registry(rows, kept["territory_status"], services, registry.extract_date)
    one = replace(one, benefits=stored_benefits(kept, case["recipient_id"], registry.extract_date))
    again = explain_registry(one, model, month_of(month))
    direct = explain_amount(dated, model, case["case_id"], month)
    assert "circumstance" in {c for cs in again.segments["start_codes"].to_list() for c in cs}
    assert again.case_months.equals(direct.case_months)
    assert again.segments["start_codes"].to_list() == direct.segments["start_codes"].to_list()
