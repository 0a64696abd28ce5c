"""`price_case` equals what the engine gives the same case inside an extract (a property), and bad
input is one clear `ConfigError`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.entitlements import compute_entitlements
from engine.errors import ConfigError
from engine.explain import price_case
from engine.explain._price import case_tables
from engine.params import load_funding_model
from engine.reference import load_services, load_territories
from engine.registry import read_registry

REPO = Path(__file__).resolve().parents[2]
# hromadas of the sample with statuses that change in 2024-2026, and plain ones
HROMADAS = [
    "UA12100050000045992",  # frontline from 2024-07-19
    "UA12080090000039979",  # frontline until 2025-06-24
    "UA12140170000037152",  # frontline 2024-07-12 .. 2025-01-22
    "UA65100090000097337",  # several statuses
    "UA05020010000053508",  # no status
    "UA63040010000010092",
]
SERVICES = ["015.1", "017.1", "006.0", "002.0", "019.0"]  # hour, capped bed-day, month, visit, day


@pytest.fixture(scope="module")
def world():
    services, territories = load_services(), load_territories()
    registry = read_registry(
        REPO / "data_samples" / "registry", territories=territories, services_catalogue=services
    )
    model = load_funding_model(REPO / "models" / "funding" / "baseline", services=services)
    return registry, model, services, territories


@st.composite
def new_cases(draw: st.DrawFn) -> dict:
    start = dt.date(2024, 1, 1) + dt.timedelta(days=draw(st.integers(0, 900)))
    length = draw(st.one_of(st.none(), st.integers(0, 300)))
    until = None if length is None else start + dt.timedelta(days=length)
    moves = []
    day = start
    for _ in range(draw(st.integers(0, 2))):
        day = day + dt.timedelta(days=draw(st.integers(1, 120)))
        if until is not None and day > until:
            break
        moves.append((draw(st.sampled_from(HROMADAS)), day))
    return {
        "service": draw(st.sampled_from(SERVICES)),
        "need_level": draw(st.integers(1, 3)),
        "hromada": draw(st.sampled_from(HROMADAS)),
        "start": start,
        "until": until,
        "moves": moves,
        "income_ratio": draw(st.one_of(st.none(), st.floats(0, 6).map(lambda x: round(x, 2)))),
        "disability": draw(st.sampled_from(["none", "I", "II", "III", "child"])),
        "assessed_units": draw(st.one_of(st.none(), st.integers(1, 80).map(float))),
        "waiting": draw(st.booleans()),
    }


def _inside_the_extract(world, case: dict, months: tuple[dt.date, dt.date]) -> pl.DataFrame:
    """The same case appended to the sample extract and priced with every other case."""
    registry, model, _, territories = world
    places = [(case["hromada"], case["start"]), *case["moves"]]
    own = case_tables(
        service=case["service"], need_level=case["need_level"], places=places,
        until=case["until"], income_ratio=case["income_ratio"], disability=case["disability"],
        assessed_units=case["assessed_units"], waiting=case["waiting"], statuses=None,
    )  # fmt: skip
    tables = {
        name: pl.concat(
            [getattr(registry, name), own[name].select(getattr(registry, name).columns)]
        )
        for name in ("recipients", "cases", "case_locations", "providers")
    }
    from dataclasses import replace

    joint = replace(registry, **tables)
    priced = compute_entitlements(joint, model, territories, months=months, segments=False)
    return priced.case_months.filter(pl.col("case_id") == "NEW")


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=new_cases(), span=st.integers(1, 6))
def test_price_case_equals_the_engine_inside_an_extract(world, case, span) -> None:
    registry, model, services, territories = world
    first = case["start"].replace(day=1)
    last = first
    for _ in range(span - 1):
        last = (last + dt.timedelta(days=32)).replace(day=1)
    alone = price_case(
        **case, model=model, statuses=registry.territory_status, months=(first, last),
        territories=territories, services=services,
    )  # fmt: skip
    inside = _inside_the_extract(world, case, (first, last))
    columns = ["month", "funded", "days", "gross_uah", "copay_uah", "state_uah", "hromada_code"]
    assert (
        alone.baseline.select(columns)
        .with_columns(pl.col("hromada_code").cast(pl.String))
        .equals(inside.select(columns).with_columns(pl.col("hromada_code").cast(pl.String)))
    )
    for month in alone.baseline["month"].unique().to_list()[:2]:  # the explanation agrees too
        why = alone.explain(month)
        assert why.consistent
        got = why.case_months.select("funded", "gross_uah", "copay_uah", "state_uah").sort("funded")
        want = alone.baseline.filter(pl.col("month") == month).select(got.columns).sort("funded")
        assert got.equals(want)


def test_a_scenario_is_priced_beside_the_baseline(world) -> None:
    registry, model, services, territories = world
    case = price_case(
        service="015.1", need_level=2, hromada="UA12100050000045992", start="2026-06-01",
        until="2026-08-31", model=model, statuses=registry.territory_status,
        scenario=REPO / "models" / "scenarios" / "home-care-frontline-plus10.yaml",
        territories=territories, services=services,
    )  # fmt: skip
    amounts = case.amounts.sort("month")
    assert amounts["state_diff_uah"].cast(pl.Float64).to_list()[0] == 0.0  # June: before July
    july = amounts.row(1, named=True)
    assert july["scenario_state_uah"] > july["state_uah"]  # frontline home care +10% from July


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"service": "999.9"}, "unknown service '999.9'"),
        ({"hromada": "UA00000000000000000"}, "unknown hromada"),
        ({"start": "2025-02-30"}, "--from: 2025-02-30 is not a date"),
        ({"need_level": 4}, "--need-level must be 1, 2 or 3"),
        ({"until": "2024-12-31"}, "--until 2024-12-31 is before"),
        ({"moves": "UA63040010000010092"}, "is not HROMADA@YYYY-MM-DD"),
        ({"moves": "UA63040010000010092@2024-06-01"}, "is not after 2025-01-01"),
        ({"disability": "IV"}, "--disability must be one of"),
        ({"income_ratio": -1.0}, "--income-ratio must lie in"),
    ],
)
def test_bad_input_is_one_clear_line(world, kwargs, message) -> None:
    _, model, services, territories = world
    base = {"service": "015.1", "need_level": 2, "hromada": "UA05020010000053508",
            "start": "2025-01-01"}  # fmt: skip
    with pytest.raises(ConfigError, match=message) as caught:
        price_case(**(base | kwargs), model=model, territories=territories, services=services)
    assert "\n" not in str(caught.value)
