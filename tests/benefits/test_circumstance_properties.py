"""Invariants of dated circumstances on random small registries (hypothesis)."""

from __future__ import annotations

import datetime as dt
import importlib.util
from typing import Any

import polars as pl
from benefit_cases import REPO, baseline_model_fixture, benefits_of, builders, territories_fixture  # noqa: F401 (fixtures)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.benefits import with_benefits
from engine.entitlements import compute_entitlements

_SPEC = importlib.util.spec_from_file_location(
    "_entitlement_properties", REPO / "tests" / "entitlements" / "test_properties.py"
)
assert _SPEC is not None and _SPEC.loader is not None
_props = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_props)
registries = _props.registries

SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
DAY = dt.timedelta(days=1)
_LONG_AGO, _FAR_AHEAD = dt.date(1990, 1, 1), dt.date(2099, 12, 31)
_ORDER = ["case_id", "month", "funded"]


def _constant(spec: dict[str, Any], idp: bool) -> dict[str, Any]:
    """The spec with benefits records that hold the registry's values for all time."""
    recipient = spec.get("recipient", {})
    rows: dict[str, list[dict[str, Any]]] = {
        "disability_assessments": [
            {"group": recipient.get("disability", "none"), "from": _LONG_AGO}
        ],
    }
    if recipient.get("income") is not None:
        rows["income_declarations"] = [
            {"from": _LONG_AGO, "to": _FAR_AHEAD, "ratio": recipient["income"]}
        ]
    if idp:
        rows["idp_certificates"] = [{"issued": _LONG_AGO, "hromada": "A", "origin": "B"}]
    return {
        **spec,
        "recipient": {**recipient, "idp": idp, "registered": "B"},
        "benefits": rows,
    }


def _all(ent: Any) -> dict[str, pl.DataFrame]:
    return {
        "case_months": ent.case_months.sort(_ORDER),
        "segments": ent.segments.sort("case_id", "segment_from"),
        "rollups": ent.rollups,
        "flows": ent.flows,
    }


@SETTINGS
@given(registries(), st.data())
def test_constant_circumstances_equal_to_the_registrys_change_no_amount(
    baseline_model, territories, drawn, data
) -> None:
    specs, months = drawn
    idps = [data.draw(st.booleans()) for _ in specs]
    specs = [_constant(s, i) for s, i in zip(specs, idps, strict=True)]
    registry = builders.registry_from_cases(specs)
    plain = compute_entitlements(registry, baseline_model, territories, months=months)
    dated = compute_entitlements(
        with_benefits(registry, benefits_of(specs, registry.extract_date)),
        baseline_model,
        territories,
        months=months,
    )
    for name, frame in _all(plain).items():
        assert frame.equals(_all(dated)[name]), name
    assert dated.n_segments == plain.n_segments  # constant circumstances cut nothing


@st.composite
def dated_specs(draw: st.DrawFn) -> tuple[list[dict[str, Any]], tuple[str, str]]:
    """Random registries with random dated circumstances (declarations, reassessments and
    certificates starting and ending on any day)."""
    specs, months = draw(registries())
    out = []
    for spec in specs:
        day = dt.date(2023, 6, 1) + draw(st.integers(0, 400)) * DAY
        rows: dict[str, list[dict[str, Any]]] = {"income_declarations": [], "idp_certificates": []}
        for _ in range(draw(st.integers(0, 3))):
            length = draw(st.integers(20, 400)) * DAY
            ratio = draw(st.sampled_from([0.5, 1.99, 2.0, 3.5, 4.0, 7.0]))
            rows["income_declarations"].append({"from": day, "to": day + length, "ratio": ratio})
            day += length + draw(st.integers(1, 90)) * DAY
        change = dt.date(2024, 1, 1) + draw(st.integers(0, 500)) * DAY
        rows["disability_assessments"] = [
            {"group": draw(st.sampled_from(["none", "II"])), "from": _LONG_AGO, "to": change},
            {"group": draw(st.sampled_from(["I", "III", "child"])), "from": change + DAY},
        ]
        if draw(st.booleans()):
            issued = dt.date(2022, 3, 1) + draw(st.integers(0, 900)) * DAY
            cancelled = draw(
                st.one_of(st.none(), st.just(issued + draw(st.integers(1, 400)) * DAY))
            )
            rows["idp_certificates"].append(
                {"issued": issued, "cancelled": cancelled, "hromada": "C"}
            )
        out.append({**spec, "benefits": rows})
    return out, months


@SETTINGS
@given(dated_specs(), st.randoms(use_true_random=False))
def test_row_order_never_matters(baseline_model, territories, drawn, random) -> None:
    specs, months = drawn
    registry = builders.registry_from_cases(specs)
    benefits = benefits_of(specs, registry.extract_date)
    shuffled = {}
    for name, frame in benefits.tables.items():
        order = list(range(frame.height))
        random.shuffle(order)
        shuffled[name] = frame[order]
    one = compute_entitlements(
        with_benefits(registry, benefits), baseline_model, territories, months=months
    )
    other = compute_entitlements(
        with_benefits(
            registry, type(benefits)(tables=shuffled, extract_date=benefits.extract_date)
        ),
        baseline_model,
        territories,
        months=months,
    )
    for name, frame in _all(one).items():
        assert frame.equals(_all(other)[name]), name
    assert one.idp_burden is not None and other.idp_burden is not None
    assert one.idp_burden.equals(other.idp_burden)


@SETTINGS
@given(dated_specs())
def test_dated_circumstances_move_money_not_days(baseline_model, territories, drawn) -> None:
    """Circumstances change shares and modifiers, never which days are priced; money stays exact
    (gross = co-payment + state) and the IDP burden is within the funded IDP case-months."""
    specs, months = drawn
    registry = builders.registry_from_cases(specs)
    plain = compute_entitlements(registry, baseline_model, territories, months=months)
    dated = compute_entitlements(
        with_benefits(registry, benefits_of(specs, registry.extract_date)),
        baseline_model,
        territories,
        months=months,
    )
    keys = ["case_id", "month", "funded", "days", "case_months"]
    assert (
        plain.case_months.select(keys).sort(keys).equals(dated.case_months.select(keys).sort(keys))
    )
    cm = dated.case_months
    assert (cm["gross_uah"] == cm["copay_uah"] + cm["state_uah"]).all()
    assert dated.n_segments >= plain.n_segments
    burden = dated.idp_burden
    assert burden is not None
    national = burden.filter(pl.col("level") == "national")
    funded_case_months = float(cm.filter(pl.col("funded"))["case_months"].sum())
    assert float(national["case_months"].sum()) <= funded_case_months + 1e-9
