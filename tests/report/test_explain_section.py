"""The report's "why is this amount what it is" table on the sample nightly: one language per
page (units, cut causes, oblast names), and a figure tall enough for every row it holds."""

from __future__ import annotations

import re
from typing import Any

import pytest

from engine.report._section_explain import _CAUSES_UK, explain_sections
from engine.store import Store


@pytest.fixture(scope="module")
def explained(sample_nightly: Any) -> Any:
    from engine.reference import load_territories

    store = Store(sample_nightly.root / "out" / "mfr.duckdb")
    return store.table("explained_amounts", sample_nightly.run_id), load_territories()


def _cells(section: Any) -> list[list[str]]:
    return [list(column) for fig in section.figures for column in fig.data[0].cells.values]


def test_a_ukrainian_page_says_units_causes_and_oblasts_in_ukrainian(explained: Any) -> None:
    frame, territories = explained
    (uk,) = explain_sections(frame, "uk", territories)
    columns = _cells(uk)
    formulas = [c for col in columns[8::10] for c in col]
    causes = [c for col in columns[9::10] for c in col]
    oblasts = {c for col in columns[4::10] for c in col if c}
    assert formulas and causes and oblasts
    assert not any(re.search(r"[A-Za-z]{3,}", f) for f in formulas), formulas
    assert not any(code in c for c in causes for code in _CAUSES_UK), causes
    assert all(not o.startswith("UA") for o in oblasts), oblasts  # names, not codes
    (en,) = explain_sections(frame, "en", territories)
    assert any("UAH per" in f for col in _cells(en)[8::10] for f in col)


def test_the_figure_grows_with_its_wrapped_rows(explained: Any) -> None:
    frame, territories = explained
    kind = frame["kind"].cast(str)[0]
    one = frame.filter(frame["kind"].cast(str) == kind)
    (full,) = explain_sections(one, "uk", territories)
    (fewer,) = explain_sections(one.head(1), "uk", territories)
    assert full.figures[0].layout.height > fewer.figures[0].layout.height
    # each row wraps its formula over two lines or more at 900 px: more than the 30 px a
    # one-line row needs, which is what clipped the old table
    assert full.figures[0].layout.height >= 44 * one.height + 210
