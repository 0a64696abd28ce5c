"""Invariants of entitlements on random small registries (hypothesis)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.bench.entitlements import compare_case_months, pandas_case_months
from engine.columns import assert_exact_money
from engine.entitlements import compute_entitlements
from engine.params import load_funding_model
from engine.reference import load_services
from engine.scenarios import scenario_diff
from engine.schemas import Registry

HROMADAS = ("A", "B", "C")  # see conftest.py
SERVICES = ["015.1", "002.0", "006.0", "017.1", "016.0", "019.0"]
DAY = dt.timedelta(days=1)
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _month_end(month: dt.date) -> dt.date:
    return (month + dt.timedelta(days=32)).replace(day=1) - DAY


@st.composite
def case_specs(draw: st.DrawFn) -> dict[str, Any]:
    start = dt.date(2023, 10, 1) + draw(st.integers(0, 640)) * DAY
    end = None if draw(st.booleans()) else start + draw(st.integers(0, 400)) * DAY
    last = end or start + 700 * DAY
    n_pieces = draw(st.integers(1, 3))
    cuts = sorted(
        draw(
            st.lists(st.integers(1, 699), min_size=n_pieces - 1, max_size=n_pieces - 1, unique=True)
        )
    )
    bounds = [start, *(start + c * DAY for c in cuts if start + c * DAY <= last)]
    locations = []
    for i, piece_start in enumerate(bounds):
        piece_end = bounds[i + 1] - DAY if i + 1 < len(bounds) else end
        if draw(st.integers(0, 5)) == 0 and piece_end is not None and piece_end > piece_start:
            piece_end -= draw(st.integers(0, (piece_end - piece_start).days)) * DAY  # a gap
        locations.append(
            {
                "hromada": draw(st.sampled_from(list(HROMADAS))),
                "provider": draw(st.sampled_from([None, "P1", "P2", "P3"])),
                "from": piece_start,
                "to": piece_end,
            }
        )
    income = draw(
        st.one_of(st.none(), st.sampled_from([0.0, 1.99, 2.0, 3.99, 4.0]), st.floats(0, 9))
    )
    return {
        "recipient": {
            "birth": dt.date(1930, 1, 1) + draw(st.integers(0, 30000)) * DAY,
            "disability": draw(st.sampled_from(["none", "I", "II", "III", "child"])),
            "income": income,
        },
        "case": {
            "service": draw(st.sampled_from(SERVICES)),
            "need_level": draw(st.integers(1, 3)),
            "assessed": draw(st.one_of(st.none(), st.integers(0, 150))),
            "start": start,
            "end": end,
        },
        "locations": locations,
    }


@st.composite
def registries(draw: st.DrawFn) -> tuple[list[dict[str, Any]], tuple[str, str]]:
    specs = draw(st.lists(case_specs(), min_size=1, max_size=6))
    statuses = []
    for hromada in HROMADAS:
        for _ in range(draw(st.integers(0, 2))):
            begin = dt.date(2023, 6, 1) + draw(st.integers(0, 900)) * DAY
            stop = None if draw(st.booleans()) else begin + draw(st.integers(0, 300)) * DAY
            status = draw(st.sampled_from(["frontline", "mountain", "rural", "occupied"]))
            statuses.append({"hromada": hromada, "status": status, "from": begin, "to": stop})
    if specs:
        specs[0] = {**specs[0], "statuses": statuses}
    first = dt.date(2024, 1, 1) + draw(st.integers(0, 17)) * 31 * DAY
    last = first + draw(st.integers(0, 7)) * 31 * DAY
    return specs, (f"{first:%Y-%m}", f"{last:%Y-%m}")


def _covered_days(spec: dict[str, Any], months: tuple[str, str]) -> dict[tuple[str, dt.date], int]:
    """Brute force: days of each month covered by a location within the case's dates."""
    first = dt.datetime.strptime(months[0], "%Y-%m").date()
    last = _month_end(dt.datetime.strptime(months[1], "%Y-%m").date())
    case = spec["case"]
    counts: dict[tuple[str, dt.date], int] = {}
    for loc in spec["locations"]:
        day = max(loc["from"], case["start"], first)
        stop = min(d for d in (loc["to"], case["end"], last) if d is not None)
        while day <= stop:
            key = (spec["id"], day.replace(day=1))
            counts[key] = counts.get(key, 0) + 1
            day += DAY
    return counts


@pytest.fixture(scope="module")
def model():
    return load_funding_model(
        Path(__file__).resolve().parents[2] / "models" / "funding" / "baseline",
        services=load_services(),
    )


def _price(specs: list[dict[str, Any]], months: tuple[str, str], model, territories, build):
    for i, spec in enumerate(specs):
        spec["id"] = f"C{i:04d}"
    registry = build(specs)
    return registry, compute_entitlements(registry, model, territories, months=months)


@SETTINGS
@given(registries())
def test_invariants(model, territories, build_registry, drawn) -> None:
    specs, months = drawn
    registry, ent = _price(specs, months, model, territories, build_registry)
    seg, cm = ent.segments, ent.case_months

    # amounts never negative
    for frame in (seg, cm):
        assert frame.select(
            pl.min_horizontal(pl.col("gross_uah", "copay_uah", "state_uah")).min()
        ).item() is None or (
            frame.select(
                pl.min_horizontal(pl.col("gross_uah", "copay_uah", "state_uah")).min()
            ).item()
            >= 0
        )

    # segments lie inside their month, never overlap within a case, and count their days
    assert (seg["segment_from"] <= seg["segment_to"]).all()
    assert (seg["segment_from"].dt.truncate("1mo") == seg["month"]).all()
    assert (seg["segment_to"].dt.truncate("1mo") == seg["month"]).all()
    assert ((seg["segment_to"] - seg["segment_from"]).dt.total_days() + 1 == seg["days"]).all()
    ordered = seg.sort("case_id", "segment_from")
    same_case = ordered["case_id"].shift(-1) == ordered["case_id"]
    assert (
        ~same_case.fill_null(False) | (ordered["segment_to"] < ordered["segment_from"].shift(-1))
    ).all()

    # their days sum to the days served, which a day-by-day count confirms
    keys = ["case_id", "month", "funded"]
    sums = seg.group_by(keys).agg(
        pl.col("days").sum().alias("seg_days"),
        pl.col("gross_uah", "copay_uah", "state_uah").sum().name.prefix("seg_"),
    )
    joined = cm.join(sums, on=keys, how="full", coalesce=True)
    assert joined.height == cm.height == sums.height
    assert (joined["days"] == joined["seg_days"]).all()
    served = {}
    for spec in specs:
        served |= _covered_days(spec, months)
    by_case_month = cm.group_by("case_id", "month").agg(pl.col("days").sum())
    assert (
        dict(
            zip(
                zip(by_case_month["case_id"], by_case_month["month"], strict=True),
                by_case_month["days"],
                strict=True,
            )
        )
        == served
    )

    # segment sums (exact parts to 1/10,000 UAH) equal the rounded case-month totals within a
    # kopiyka; money is exact everywhere: gross = copay + state on every row of every output
    sums = sums.join(seg.group_by(keys).len("n"), on=keys)
    joined = joined.join(sums.select(*keys, "n"), on=keys)
    for money in ("gross_uah", "copay_uah"):
        gap = (joined[money] - joined[f"seg_{money}"]).abs().cast(pl.Float64)
        assert (gap <= 0.005 + 0.00005 * joined["n"] + 1e-12).all(), money
    gap = (joined["state_uah"] - joined["seg_state_uah"]).abs().cast(pl.Float64)
    assert (gap <= 0.01 + 0.0001 * joined["n"] + 1e-12).all()
    for frame in (seg, cm, ent.rollups, ent.flows):
        assert_exact_money(frame)

    # rollups add up across levels, and to the case-month totals, exactly
    grain = ["month", "service_code", "ownership", "funded"]
    per_level = ent.rollups.group_by("level", *grain).agg(
        pl.col("gross_uah", "state_uah", "case_months").sum()
    )
    national = per_level.filter(pl.col("level") == "national").drop("level")
    for level in ("hromada", "raion", "oblast"):
        mine = per_level.filter(pl.col("level") == level).drop("level")
        both = mine.join(national, on=grain, how="full", nulls_equal=True, coalesce=True)
        assert both.height == national.height
        for money in ("gross_uah", "state_uah"):
            assert (both[money] == both[f"{money}_right"]).all(), (level, money)
        assert ((both["case_months"] - both["case_months_right"]).abs() < 1e-6).all(), level
    territory = ent.rollups.schema["territory_code"]
    oblast_of = territories.select(
        pl.col("hromada_code", "oblast_code").cast(territory)  # codes are the outputs' Enum
    )
    from_hromadas = (
        ent.rollups.filter(pl.col("level") == "hromada")
        .join(oblast_of, left_on="territory_code", right_on="hromada_code")
        .group_by("oblast_code", *grain)
        .agg(pl.col("gross_uah").sum())
    )
    oblasts = ent.rollups.filter(pl.col("level") == "oblast").rename(
        {"territory_code": "oblast_code"}
    )
    both = oblasts.join(
        from_hromadas, on=["oblast_code", *grain], how="full", nulls_equal=True, coalesce=True
    )
    assert (both["gross_uah"] == both["gross_uah_right"]).all()
    totals = cm.group_by("month", "funded").agg(pl.col("gross_uah").sum())
    nat = national.group_by("month", "funded").agg(pl.col("gross_uah").sum())
    both = totals.join(nat, on=["month", "funded"], how="full", coalesce=True)
    assert (both["gross_uah"] == both["gross_uah_right"]).all()
    flows = ent.flows.group_by("level", "month", "funded").agg(pl.col("gross_uah").sum())
    for level in ("oblast", "hromada"):
        mine = flows.filter(pl.col("level") == level).drop("level")
        both = totals.join(mine, on=["month", "funded"], how="full", coalesce=True)
        assert (both["gross_uah"] == both["gross_uah_right"]).all()

    # the straightforward day-by-day implementation agrees to the kopiyka
    assert compare_case_months(cm, pandas_case_months(registry, model, months)) == ""


def _shuffled(registry: Registry, seed: int) -> Registry:
    tables = {
        name: registry.table(name).sample(fraction=1.0, shuffle=True, seed=seed + i)
        for i, name in enumerate(
            ("recipients", "cases", "case_locations", "providers", "services", "territory_status")
        )
    }
    return Registry(**tables, extract_date=registry.extract_date)


@SETTINGS
@given(registries(), st.integers(0, 1000))
def test_row_order_never_changes_a_result(
    model, territories, build_registry, drawn, seed: int
) -> None:
    specs, months = drawn
    registry, ent = _price(specs, months, model, territories, build_registry)
    again = compute_entitlements(_shuffled(registry, seed), model, territories, months=months)
    order = ["case_id", "segment_from"]
    assert ent.segments.sort(order).equals(again.segments.sort(order))
    assert ent.case_months.equals(again.case_months)
    assert ent.rollups.equals(again.rollups)
    assert ent.flows.equals(again.flows)


NOOP_SCENARIOS = {
    "multiply-by-one-in-frontline": """
name: noop-territorial
description: home care × 1 in frontline hromadas
changes:
  - {parameter: tariff, where: {service_code: "015.1"}, from: 2024-03-10, multiply: 1.0, territory: {status: frontline}}
  - {parameter: max_units, from: 2024-01-01, until: 2024-12-31, multiply: 1.0, territory: {oblasts: [UA63000000000041885]}}
""",
    "set-to-the-same-values": """
name: noop-tables
description: values set to what they already are
changes:
  - {parameter: tariff, where: {service_code: "015.1"}, from: 2024-05-01, until: 2025-03-09, set: 70.0}
  - {parameter: territory_coef, where: {status: frontline}, from: 2024-02-15, set: 1.20}
  - {parameter: copay_bands, where: {income_ratio_from: 2}, from: 2024-07-01, multiply: 1.0}
""",
}


@pytest.mark.parametrize("name", sorted(NOOP_SCENARIOS))
@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drawn=registries())
def test_scenario_that_changes_nothing_gives_zero_diff(
    name: str, *, model, territories, build_registry, tmp_path_factory, drawn
) -> None:
    path = tmp_path_factory.mktemp("scenario") / f"{name}.yaml"
    path.write_text(NOOP_SCENARIOS[name], encoding="utf-8")
    scenario = load_funding_model(
        Path(__file__).resolve().parents[2] / "models" / "funding" / "baseline",
        path,
        services=load_services(),
    )
    specs, months = drawn
    registry, baseline = _price(specs, months, model, territories, build_registry)
    alternative = compute_entitlements(registry, scenario, territories, months=months)
    diff = scenario_diff(baseline, alternative)
    for column in ("diff_gross_uah", "diff_copay_uah", "diff_state_uah"):
        assert (diff.case_months[column] == 0).all()
        assert (diff.territories[column] == 0).all()
    assert (diff.cases["outcome"] == "unchanged").all()
    assert diff.summary()["diff_state_uah"] == 0
