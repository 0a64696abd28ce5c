"""`to_panel` places series by integer key codes: the same keys, order and values as grouping
and joining on the key text (the path kept for keys with nulls)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from engine.forecasting import _panel


def _frame(seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = 3_000
    months = pl.date_range(dt.date(2023, 1, 1), dt.date(2025, 12, 1), "1mo", eager=True)
    return pl.DataFrame(
        {
            "a": rng.choice(["UA05", "UA1", "UA10", "b", "Є"], n),
            "b": rng.choice(["x", "xx", "y", ""], n),
            "c": rng.integers(0, 7, n),
            "ds": months.gather(rng.integers(0, months.len(), n)),
            "y": rng.gamma(2.0, 3.0, n),
        }
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_coded_panel_equals_text_panel(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _frame(seed)
    kwargs = {"key_cols": ["a", "b", "c"], "date_col": "ds", "value_col": "y"}
    coded = _panel.to_panel(frame, **kwargs)
    monkeypatch.setattr(_panel, "_key_codes", lambda data, key_cols: None)
    text = _panel.to_panel(frame, **kwargs)
    assert coded.keys.equals(text.keys)
    assert coded.keys.schema == text.keys.schema
    assert np.array_equal(coded.y, text.y, equal_nan=True)
    assert np.array_equal(coded.start, text.start)
    assert coded.dates.equals(text.dates)


def test_null_key_takes_text_path() -> None:
    frame = _frame(4).with_columns(a=pl.when(pl.col("c") == 0).then(None).otherwise(pl.col("a")))
    assert _panel._key_codes(frame, ["a", "b", "c"]) is None
    assert _panel._key_codes(frame.drop_nulls(), ["a", "b", "c"]) is not None


def test_categorical_keys_give_the_text_order() -> None:
    frame = _frame(5)  # categories in order of appearance, not sorted
    cat = frame.with_columns(pl.col("a", "b").cast(pl.Categorical))
    kwargs = {"key_cols": ["a", "b", "c"], "date_col": "ds", "value_col": "y"}
    text = _panel.to_panel(frame, **kwargs)
    panel = _panel.to_panel(cat, **kwargs)
    assert panel.keys.with_columns(pl.col("a", "b").cast(pl.String)).equals(text.keys)
    assert np.array_equal(panel.y, text.y, equal_nan=True)
