"""The circumstance timeline is built once per run, not per priced block, and says the same on
every window as one built for that window alone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

import engine.benefits._timeline as timelines
from engine.benefits import read_benefits
from engine.params import load_funding_model
from engine.registry import read_registry

REPO = Path(__file__).resolve().parents[2]
REGISTRY = REPO / "data_samples" / "registry"

# as a nightly asks: the spec's year, then the history outside it a year at a time
WINDOWS = [
    (dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
    (dt.date(2023, 11, 1), dt.date(2023, 12, 31)),
    (dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
    (dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
]


def _seen(frame: pl.DataFrame, window: tuple[dt.date, dt.date]) -> pl.DataFrame:
    """The intervals as pricing sees them: the days inside the window."""
    ends = pl.col("valid_to")
    return (
        frame.filter(ends.is_null() | (ends >= window[0]))
        .with_columns(
            valid_from=pl.max_horizontal("valid_from", pl.lit(window[0])),
            valid_to=pl.min_horizontal(ends.fill_null(window[1]), pl.lit(window[1])),
        )
        .sort("recipient_id", "valid_from")
    )


def test_one_build_per_run_the_same_intervals_on_every_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MFR_PSEUDONYM_KEY", "the operator's key")
    registry = read_registry(REGISTRY)
    benefits = read_benefits(REPO / "data_samples" / "benefits", registry, REGISTRY)
    rules = load_funding_model(REPO / "models" / "funding" / "baseline").circumstance_rules
    build = timelines._timeline
    spans: list[object] = []

    def counted(*args: object) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
        if isinstance(args[0], timelines.BenefitTables):  # the run's (not a window alone)
            spans.append(args[-1])
        return build(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(timelines, "_timeline", counted)
    for window in WINDOWS:
        got = timelines.circumstance_timeline(benefits.tables, registry.recipients, rules, window)
        alone = timelines.circumstance_timeline(
            dict(benefits.tables), registry.recipients, rules, window
        )
        assert got.height > 100
        assert _seen(got, window).equals(_seen(alone, window)), window
    # the spec's year, then the days from the first history block to it hold the rest: no day
    # is built twice
    assert spans == [WINDOWS[0], (WINDOWS[1][0], WINDOWS[0][0] - dt.timedelta(days=1))]
    # a window across both is built over the span of all (and exact on it)
    across = (dt.date(2025, 6, 1), dt.date(2026, 6, 30))
    got = timelines.circumstance_timeline(benefits.tables, registry.recipients, rules, across)
    alone = timelines.circumstance_timeline(
        dict(benefits.tables), registry.recipients, rules, across
    )
    assert _seen(got, across).equals(_seen(alone, across))
    assert spans[-1] == (WINDOWS[1][0], WINDOWS[0][1])
    assert len(spans) == 3
    # a frame that is not the tables' remembered one is built anew (another registry)
    other = registry.recipients.clone()
    timelines.circumstance_timeline(benefits.tables, other, rules, WINDOWS[0])
    assert len(spans) == 4
