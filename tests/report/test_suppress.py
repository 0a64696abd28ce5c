"""Small-cell suppression: people under `min_count` in a hromada are never published."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from report_kit import KHARKIV_H, KYIV_CITY, LVIV_BIG, LVIV_SMALL

from engine.report import hromada_summary, publishable_hromadas, suppress_small_cells


def test_hromada_with_three_recipients_is_suppressed(case_months: pl.DataFrame) -> None:
    # Оброшинська (LVIV_SMALL) serves 3 people: below 5, so nothing about them is published
    summary = hromada_summary(case_months)
    assert summary.filter(pl.col("hromada_code") == LVIV_SMALL)["recipients"].item() == 3
    safe = publishable_hromadas(summary, min_count=5).filter(pl.col("hromada_code") == LVIV_SMALL)
    assert safe["suppressed"].item() is True
    for column in ("recipients", "served_case_months", "entitled_uah", "need_uah", "coverage"):
        assert safe[column].item() is None, column


def test_secondary_suppression_protects_against_subtracting_from_the_oblast_total(
    case_months: pl.DataFrame,
) -> None:
    # Lviv oblast has two hromadas; its total is published, so blanking only the small one
    # would give it back as total − big. The big one (14 people) is blanked too.
    safe = publishable_hromadas(hromada_summary(case_months), min_count=5)
    big = safe.filter(pl.col("hromada_code") == LVIV_BIG)
    assert big["suppressed"].item() is True
    assert big["entitled_uah"].item() is None
    kyiv = safe.filter(pl.col("hromada_code") == KYIV_CITY)
    assert kyiv["suppressed"].item() is False
    assert kyiv["recipients"].item() == 7


def test_waiting_people_are_counted_on_their_own(case_months: pl.DataFrame) -> None:
    # Kharkiv hromada: 10 served (published), 4 waiting (their numbers blanked)
    row = publishable_hromadas(hromada_summary(case_months), min_count=5).filter(
        pl.col("hromada_code") == KHARKIV_H
    )
    assert row["recipients"].item() == 10
    assert row["entitled_uah"].item() == pytest.approx(10 * 3 * 2800.0)
    assert row["waiting_recipients"].item() is None
    assert row["unmet_uah"].item() is None


def test_min_count_is_configurable(case_months: pl.DataFrame) -> None:
    summary = hromada_summary(case_months)
    assert not publishable_hromadas(summary, min_count=3)["suppressed"].any()
    assert publishable_hromadas(summary, min_count=11)["suppressed"].all()


def test_zero_counts_describe_nobody_and_stay() -> None:
    frame = pl.DataFrame({"hromada_code": ["a", "b"], "recipients": [0, 9], "uah": [0.0, 5.0]})
    out = suppress_small_cells(frame)
    assert out["uah"].to_list() == [0.0, 5.0]


def test_missing_count_column_is_an_error() -> None:
    with pytest.raises(ValueError, match="people"):
        suppress_small_cells(pl.DataFrame({"x": [1]}), count="people")


_rows = st.lists(
    st.tuples(st.sampled_from("ABC"), st.integers(0, 12), st.floats(0, 1e6)),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(rows=_rows, min_count=st.integers(1, 8), seed=st.integers(0, 1000))
def test_invariants(rows: list[tuple[str, int, float]], min_count: int, seed: int) -> None:
    frame = pl.DataFrame(
        {
            "oblast_code": [r[0] for r in rows],
            "hromada_code": [f"h{i}" for i in range(len(rows))],
            "recipients": [r[1] for r in rows],
            "uah": [r[2] for r in rows],
        }
    )
    out = suppress_small_cells(frame, min_count=min_count, group_by=["oblast_code"])
    # no published cell is built from 1..min_count-1 people
    published = out.filter(~pl.col("suppressed"))
    assert not published["recipients"].is_between(1, min_count - 1).any()
    # blanked rows lose every value, published rows keep theirs
    assert out.filter(pl.col("suppressed"))["uah"].null_count() == int(out["suppressed"].sum())
    kept = frame.join(published.select("hromada_code", "uah"), on="hromada_code")
    assert kept["uah"].to_list() == kept["uah_right"].to_list()
    # no group has exactly one blanked row while it has another row describing somebody
    per_group = out.group_by("oblast_code").agg(
        blanked=pl.col("suppressed").sum(),
        others=(~pl.col("suppressed") & (pl.col("recipients") > 0)).sum(),
    )
    assert per_group.filter((pl.col("blanked") == 1) & (pl.col("others") > 0)).is_empty()
    # row order never matters
    shuffled = suppress_small_cells(
        frame.sample(fraction=1.0, shuffle=True, seed=seed),
        min_count=min_count,
        group_by=["oblast_code"],
    )
    assert shuffled.equals(out)
