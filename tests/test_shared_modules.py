"""The one-of-each modules: dates and months, money formatting, the YAML reader, array buffers."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.buffers import blocks, empty
from engine.dates import (
    EPOCH,
    add_months,
    epoch_days,
    month_index,
    month_range,
    parse_date,
    parse_month,
    resolve_months,
)
from engine.errors import ConfigError
from engine.money import format_uah
from engine.yamlio import YMap, date_of, lines_of, load_yaml, plain

DATES = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31))


@given(DATES, st.integers(-1200, 1200))
def test_add_months_moves_by_whole_months_to_a_first_day(day: dt.date, n: int) -> None:
    moved = add_months(day, n)
    assert moved.day == 1
    assert month_index(moved) - month_index(day) == n
    assert add_months(moved, -n) == day.replace(day=1)


@given(DATES, st.integers(0, 60))
def test_month_range_is_consecutive_and_inclusive(first: dt.date, span: int) -> None:
    months = month_range(first, add_months(first, span))
    assert len(months) == span + 1
    assert months[0] == first.replace(day=1)
    assert all(add_months(a, 1) == b for a, b in itertools.pairwise(months))


def test_month_range_refuses_an_empty_or_misspelt_range() -> None:
    with pytest.raises(ValueError, match="empty month range"):
        month_range("2025-02", "2025-01")
    for bad in ("2025-13", "2025/01", "25-01", "2025-1-1"):
        with pytest.raises(ValueError, match="expected YYYY-MM"):
            parse_month(bad)


@given(DATES)
def test_parse_date_reads_back_every_iso_date(day: dt.date) -> None:
    assert parse_date(day.isoformat()) == day
    assert epoch_days(day) == (day - EPOCH).days == np.datetime64(day, "D").astype(np.int64)


@given(st.text(max_size=12))
def test_parse_date_takes_only_real_yyyy_mm_dd_days(text: str) -> None:
    try:
        real = dt.datetime.strptime(text, "%Y-%m-%d").date().isoformat() == text
    except ValueError:
        real = False
    if real:
        assert parse_date(text).isoformat() == text
    else:
        with pytest.raises(ValueError):
            parse_date(text)


@pytest.mark.parametrize(
    "text", ["2026-02-30", "2026-13-01", "20260101", "2026-1-01", " 2026-01-01"]
)
def test_parse_date_is_strict(text: str) -> None:
    with pytest.raises(ValueError):
        parse_date(text)


def test_resolve_months_reads_spec_words_ranges_pairs_and_defaults() -> None:
    day = dt.date(2025, 6, 14)
    assert resolve_months("next-year", day) == (dt.date(2026, 1, 1), dt.date(2026, 12, 1))
    assert resolve_months("year-to-date", day) == (dt.date(2025, 1, 1), dt.date(2025, 6, 1))
    assert resolve_months(("2024-02", dt.date(2024, 5, 9)), day) == (
        dt.date(2024, 2, 1),
        dt.date(2024, 5, 1),
    )
    assert resolve_months(None, day) == (dt.date(2025, 6, 1), dt.date(2025, 6, 1))
    with pytest.raises(ConfigError, match="cannot read"):
        resolve_months("last-year", day)


@pytest.mark.parametrize(
    ("amount", "compact", "exact"),
    [
        (0.0, "0 UAH", "0.00"),
        (999_999.4, "999,999 UAH", "999,999.40"),
        (1_000_000.0, "1.0 M UAH", "1,000,000.00"),
        (-26_540_000.0, "-26.5 M UAH", "-26,540,000.00"),
        (2_030_000_000.0, "2.03 bn UAH", "2,030,000,000.00"),
        (None, "–", "–"),
    ],
)
def test_format_uah(amount: float | None, compact: str, exact: str) -> None:
    assert format_uah(amount) == compact
    assert format_uah(amount, exact=True) == exact


def test_yaml_nodes_keep_lines_and_dates_stay_text_until_parsed(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    root = load_yaml(path, "a: 1\nb:\n  - 2024-01-31\n  - {c: true}\n")
    assert isinstance(root, YMap)
    value = plain(root, path)
    assert value == {"a": 1, "b": [dt.date(2024, 1, 31), {"c": True}]}
    assert (value.lines, value["b"].lines, value["b"][1].lines) == (
        {"a": 1, "b": 2},
        [3, 4],
        {"c": 4},
    )
    assert lines_of(root, path) == {
        (): 1,
        ("a",): 1,
        ("b",): 2,
        ("b", 0): 3,
        ("b", 1): 4,
        ("b", 1, "c"): 4,
    }
    seq = root.get("b")
    assert seq is not None and not isinstance(seq, YMap)
    assert date_of(seq.items[0], path) == dt.date(2024, 1, 31)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a' (first at line 1)"),
        ("a: [1, 2\n", 2, "invalid YAML"),
        ("", 1, "the policy file is empty"),
        ("base: &b {x: 1}\nc:\n  <<: *b\n", 3, "a mapping key must be a plain value"),
    ],
)
def test_yaml_mistakes_name_the_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_yaml(path, what="policy file")
    assert caught.value.line == line
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{path}, line {line}: ")


def test_yaml_impossible_dates_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    root = load_yaml(path, "name: x\nfrom: 2026-02-30\n")
    with pytest.raises(ConfigError, match=r"line 2: 2026-02-30 is not a date") as caught:
        plain(root, path)
    assert caught.value.line == 2
    with pytest.raises(
        ConfigError, match=r"line 2: bad from '2026-02-30': 2026-02-30 is not a date"
    ):
        date_of(root.get("from"), path, "from")  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match=r"line 1: bad name 'x': expected YYYY-MM-DD"):
        date_of(root.get("name"), path, "name")  # type: ignore[union-attr]


def test_yaml_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run spec not found"):
        load_yaml(tmp_path / "absent.yaml", what="run spec")


def test_buffers_cover_every_row_once_and_give_writable_arrays() -> None:
    assert sum(b.stop - b.start for b in blocks(1_000_003, size=4096)) == 1_000_003
    for n in (0, 5, 1 << 20):  # below and above the mapped size
        array = empty(n, np.float64)
        array[:] = 1.5
        assert array.shape == (n,) and array.dtype == np.float64 and float(array.sum()) == 1.5 * n


_ENGINE = Path(__file__).resolve().parents[1] / "engine"
# what one module alone may do, and the few other places allowed to (each with its reason)
_ONE_PLACE = {
    r"date\(1970, 1, 1\)": ("dates.py",),
    r"timedelta\(days=32\)|\.year \* 12 \+": ("dates.py",),
    r"^def (add_months|resolve_months|month_range|parse_date)\b": ("dates.py",),
    r"^def format_uah\b|^def _uah\(value": ("money.py",),
    r"mmap\.mmap\(": ("buffers.py",),
    r"^def value_at\b": ("intervals.py",),
    r"yaml\.(compose|load|safe_load)\(": (
        "yamlio.py",
        "registry/__init__.py",  # an extract's extract.yaml: a data file, its errors are input errors
        "bench/_sql_model.py",  # the benchmark's SQL baseline uses no engine code on purpose
    ),
}


@pytest.mark.parametrize("pattern", sorted(_ONE_PLACE))
def test_one_of_each_lives_in_one_place(pattern: str) -> None:
    found = sorted(
        path.relative_to(_ENGINE).as_posix()
        for path in _ENGINE.rglob("*.py")
        if re.search(pattern, path.read_text(encoding="utf-8"), re.M)
    )
    assert set(found) <= set(_ONE_PLACE[pattern]), found


@pytest.mark.parametrize("module", ["dates", "money", "yamlio", "buffers", "intervals"])
def test_the_examples_of_the_shared_modules_run(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(
        importlib.import_module(f"engine.{module}"), optionflags=doctest.ELLIPSIS
    )
    assert result.attempted > 0 and result.failed == 0


def test_value_at_takes_a_default_and_tables_without_dimensions() -> None:
    import polars as pl

    from engine.intervals import value_at

    cap = pl.DataFrame(
        {
            "valid_from": [dt.date(2024, 1, 1), dt.date(2025, 1, 1)],
            "valid_to": [dt.date(2024, 12, 31), None],
            "value": [100.0, 120.0],
        }
    )
    days = pl.DataFrame({"date": [dt.date(2023, 6, 1), dt.date(2024, 12, 31), dt.date(2030, 1, 1)]})
    assert value_at(days, cap, []).to_list() == [None, 100.0, 120.0]
    assert value_at(days, cap, [], default=0.0).to_list() == [0.0, 100.0, 120.0]
