"""One indexing, many pricings: `prepare` + `price_months` give what `compute_entitlements` gives,
and the parts of the segments frame a run asks for are exactly those rows and columns of it."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import engine
from engine.entitlements import compute_entitlements, prepare, price_months
from engine.segments import index_registry

MONTHS = [dt.date(2026, m, 1) for m in range(1, 7)]


@pytest.fixture(scope="module")
def inputs() -> tuple:
    territories = engine.load_territories()
    registry = engine.read_registry("data_samples/registry", territories=territories)
    model = engine.load_funding_model("models/funding/baseline")
    return registry, model, territories


def test_one_preparation_prices_any_months_as_compute_entitlements(inputs: tuple) -> None:
    registry, model, territories = inputs
    prepared = prepare(registry, territories)
    for months in (MONTHS, MONTHS[2:4]):
        mine = price_months(prepared, model, months).entitlements()
        theirs = compute_entitlements(registry, model, territories, (months[0], months[-1]))
        for name in ("segments", "case_months", "rollups", "flows"):
            assert_frame_equal(getattr(mine, name), getattr(theirs, name), check_exact=True)


def test_segments_of_some_columns_and_rows_are_those_of_the_full_frame(inputs: tuple) -> None:
    registry, model, territories = inputs
    priced = price_months(prepare(registry, territories), model, MONTHS)
    full = priced.segments()
    assert_frame_equal(full, priced.entitlements().segments, check_exact=True)
    rows = priced.rows_in_months(MONTHS[1], MONTHS[2])
    assert rows is not None and 0 < len(rows) < full.height
    columns = ["case_id", "month", "days", "hromada_code", "state_uah", "funded"]
    part = priced.segments(columns, rows)
    expected = full.filter(pl.col("month").is_between(MONTHS[1], MONTHS[2])).select(columns)
    assert_frame_equal(part, expected, check_exact=True)
    assert priced.rows_in_months(MONTHS[0], MONTHS[-1]) is None  # every segment: no selection
    some = full["case_id"].unique().sort().head(7).to_list()
    of_cases = priced.segments(rows=priced.rows_of_cases(some))
    assert_frame_equal(of_cases, full.filter(pl.col("case_id").is_in(some)), check_exact=True)


def test_locations_out_of_order_index_as_in_order(inputs: tuple) -> None:
    """The run-of-ids shortcut (locations listed by case) and the join agree."""
    registry, _, territories = inputs
    ordered = index_registry(registry, territories)
    shuffled = registry.case_locations.sample(fraction=1.0, shuffle=True, seed=3)
    other = index_registry(replace(registry, case_locations=shuffled), territories)
    order = np.lexsort((other.loc_from, other.loc_case))
    expected = np.lexsort((ordered.loc_from, ordered.loc_case))
    for name in ("loc_case", "loc_hromada", "loc_provider", "loc_from", "loc_to"):
        assert np.array_equal(getattr(other, name)[order], getattr(ordered, name)[expected])


def test_explanations_from_the_candidate_cases_are_the_explanations(inputs: tuple) -> None:
    from engine.explain._report import explained_amounts
    from engine.pipeline._pricing import _candidates

    registry, model, territories = inputs
    ent = compute_entitlements(registry, model, territories, ("2026-01", "2026-06"))
    wanted = _candidates(ent.case_months, 3)
    assert wanted is not None and len(wanted) < ent.case_months["case_id"].n_unique()
    keep = pl.col("case_id").is_in(pl.Series(wanted).implode())
    few = explained_amounts(
        ent.case_months.filter(keep), registry, model, territories,
        segments=ent.segments.filter(keep), top=3,
    )  # fmt: skip
    every = explained_amounts(
        ent.case_months, registry, model, territories, segments=ent.segments, top=3
    )
    assert few.height and few.equals(every)


def test_locations_listed_by_case_find_their_cases_without_a_join(inputs: tuple) -> None:
    from engine.segments import _located

    registry, _, _ = inputs
    locations = registry.case_locations.sort("case_id", "valid_from")
    case_ids = locations["case_id"].unique().sort()  # every case with a location: the runs
    joined = locations.join(
        case_ids.to_frame().with_row_index("_case"), on="case_id", how="left", maintain_order="left"
    )
    assert_frame_equal(_located(locations, case_ids), joined, check_exact=True)
    fewer = case_ids.gather_every(2)  # not one run per case: the join, orphans dropped
    kept = locations.filter(pl.col("case_id").is_in(fewer.implode()))
    assert _located(locations, fewer)["case_id"].to_list() == kept["case_id"].to_list()


def test_frames_one_at_a_time_are_the_entitlements_frames(inputs: tuple) -> None:
    """`frames()` builds each frame only when the previous one was taken (the case-month keys are
    still in the core after the rollups came out), and `release=True` (the segments frame taking
    the core's arrays, as `mfr entitle` asks) changes no value."""
    registry, model, territories = inputs
    expected = compute_entitlements(registry, model, territories, (MONTHS[0], MONTHS[-1]))
    for release in (False, True):
        priced = price_months(prepare(registry, territories), model, MONTHS)
        assert priced.core.wide is not None
        stream = priced.frames(release=release)
        name, first = next(stream)
        assert name == "rollups" and priced.core.wide.case_months  # not yet taken
        frames = {name: first, **dict(stream)}
        assert list(frames) == ["rollups", "flows", "case_months", "segments"]
        for name, frame in frames.items():
            assert_frame_equal(frame, getattr(expected, name), check_exact=True)
        assert priced.n_cases == expected.n_cases
        assert (not priced.core.wide.segments) == release  # released: the arrays went with it
