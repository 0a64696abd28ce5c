"""Need accounting: hand-computed golden cases, then invariants on random case-months."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from engine.need import NEED_COLUMNS, NEED_LEVELS, need_indicators

GOLDEN = yaml.safe_load((Path(__file__).parent / "need_golden.yaml").read_text())
MARCH = dt.date(2025, 3, 1)
TERRITORIES = pl.DataFrame(GOLDEN["territories"])
PLACES = TERRITORIES.select("hromada_code", "raion_code", "oblast_code")
ADDITIVE = (
    "served_cases",
    "waiting_cases",
    "served_case_months",
    "waiting_case_months",
    "state_uah",
)


def _case_months(rows: list[dict]) -> pl.DataFrame:
    frame = pl.DataFrame(
        rows,
        schema={
            "case_id": pl.String,
            "funded": pl.Boolean,
            "case_months": pl.Float64,
            "state_uah": pl.Float64,
            "hromada_code": pl.String,
            "ownership": pl.String,
            "is_idp": pl.Boolean,
            "month": pl.Date,
        },
    )
    if frame["month"].null_count():
        frame = frame.with_columns(month=pl.lit(MARCH))
    return frame.join(PLACES, on="hromada_code", how="left")


@pytest.mark.parametrize("expected", GOLDEN["expect"], ids=lambda e: e["territory_code"])
def test_golden(expected: dict) -> None:
    need = need_indicators(_case_months(GOLDEN["case_months"]), TERRITORIES)
    row = need.filter(
        (pl.col("level") == expected["level"])
        & (pl.col("territory_code") == expected["territory_code"])
    ).row(0, named=True)
    for column, value in expected.items():
        if value is None or isinstance(value, str):
            assert row[column] == value, column
        else:  # money is an exact decimal: compared as a float here
            assert float(row[column]) == pytest.approx(value, abs=1e-6), column


def test_shape_and_types() -> None:
    need = need_indicators(_case_months(GOLDEN["case_months"]), TERRITORIES)
    assert need.schema == pl.Schema(NEED_COLUMNS)
    # level is an Enum in hierarchy order
    assert need.group_by("level").len().sort("level")["len"].to_list() == [4, 3, 2, 1]
    assert need["level"].unique(maintain_order=True).to_list() == list(NEED_LEVELS)


_rows = st.lists(
    st.fixed_dictionaries(
        {
            "case_id": st.sampled_from([f"c{i}" for i in range(8)]),
            "month": st.sampled_from([dt.date(2025, 1, 1), dt.date(2025, 2, 1)]),
            "funded": st.booleans(),
            "case_months": st.floats(0, 1),
            "state_uah": st.integers(0, 5_000_000).map(lambda kop: kop / 100),  # kopiyky
            "hromada_code": st.sampled_from(["H1", "H2", "H3", "H4"]),
            "ownership": st.sampled_from(["state", "communal", "nonstate", "individual"]),
            "is_idp": st.booleans(),
        }
    ),
    max_size=30,
)


def _unique_grain(rows: list[dict]) -> pl.DataFrame:
    frame = _case_months(rows).unique(["case_id", "month", "funded"], keep="first")
    return frame.with_columns(
        ownership=pl.when(pl.col("funded")).then(pl.col("ownership"))  # waiting: no provider
    )


@settings(max_examples=40, deadline=None)
@given(rows=_rows, seed=st.integers(0, 1000))
def test_levels_add_up_ratios_are_shares_and_order_does_not_matter(
    rows: list[dict], seed: int
) -> None:
    case_months = _unique_grain(rows)
    months = [dt.date(2025, 1, 1), dt.date(2025, 2, 1)]
    need = need_indicators(case_months, TERRITORIES, months=months)
    assert need.height == 2 * (4 + 3 + 2 + 1)  # every territory, every month, cases or not
    totals = need.group_by("level", "month").agg(pl.col(c).sum().cast(pl.Float64) for c in ADDITIVE)
    for column in ADDITIVE:
        per_level = totals.pivot("level", index="month", values=column)
        for level in NEED_LEVELS[:-1]:
            assert per_level[level].to_list() == pytest.approx(per_level["national"].to_list())
    national = need.filter(pl.col("level") == "national")
    funded = case_months.filter(pl.col("funded"))
    assert national["served_cases"].sum() == funded.height
    assert float(national["state_uah"].sum()) == pytest.approx(funded["state_uah"].sum())
    for share in ("coverage", "nonstate_share", "idp_share"):
        values = need[share].drop_nulls()
        assert ((values >= 0) & (values <= 1 + 1e-12)).all(), share
    shuffled = need_indicators(
        case_months.sample(fraction=1.0, shuffle=True, seed=seed), TERRITORIES, months=months
    )
    assert_frame_equal(shuffled, need, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
