"""Children listed by their parent's key are matched to their parents by runs, not lookups; anything
else (an orphan, a parent without children, another order) falls back to the lookup."""

from __future__ import annotations

import polars as pl

from engine.registry._rules import _runs


def test_children_in_their_parents_order_are_their_runs() -> None:
    keys = pl.Series(["a", "b", "c"])
    assert _runs(pl.Series(["a", "a", "b", "c", "c"]), keys).to_list() == [0, 0, 1, 2, 2]


def test_anything_else_is_left_to_the_lookup() -> None:
    keys = pl.Series(["a", "b", "c"])
    assert _runs(pl.Series(["a", "b", "b"]), keys) is None  # a parent without a child
    assert _runs(pl.Series(["a", "b", "x"]), keys) is None  # an orphan
    assert _runs(pl.Series(["b", "a", "c"]), keys) is None  # not in the keys' order
    assert _runs(pl.Series(["a", None, "c"]), keys) is None  # an empty key
    assert _runs(pl.Series([], dtype=pl.String), pl.Series([], dtype=pl.String)) is None
