"""The fast paths of the CSV reader find exactly what the byte-level pass finds.

A file without a quote character is split into records by polars (`_csv._unquoted`); a file with
quotes goes through the byte-level pass (`_csv._quoted`), which handles every file. On unquoted
text both must give the same records, lines and problems: blank lines, separator-only and
white-space lines, bare CRs, ragged rows, CRLF and LF ends, a last line without a line end.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.registry import _csv

_CELLS = st.sampled_from(["a", "12", "", " ", "\t", "Київ", "x y", "\r", "1,5"])
_LINES = st.lists(st.lists(_CELLS, min_size=0, max_size=5), min_size=1, max_size=12)


def _text(header: int, rows: list[list[str]], ends: list[str], final: str) -> bytes:
    lines = [";".join(f"h{i}" for i in range(header)), *(";".join(r) for r in rows)]
    body = "".join(line + end for line, end in zip(lines[:-1], ends, strict=False))
    return (body + lines[-1] + final).encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(
    header=st.integers(1, 4),
    rows=_LINES,
    ends=st.lists(st.sampled_from(["\n", "\r\n"]), min_size=13, max_size=13),
    final=st.sampled_from(["", "\n", "\r\n", "\n\n", "\r\n\r\n"]),
)
def test_unquoted_records_match_the_byte_level_pass(
    header: int, rows: list[list[str]], ends: list[str], final: str
) -> None:
    data = _text(header, rows, ends, final)
    fast, slow = _csv._unquoted(data, ";"), _csv._quoted(data, ";", "f.csv")
    assert fast.data == slow.data and fast.quoted == slow.quoted
    assert np.array_equal(fast.lines, slow.lines), (data, fast.lines, slow.lines)
    if slow.problems is None:
        assert fast.problems is None, (data, fast.problems)
    else:
        assert fast.problems is not None, data
        assert fast.problems.to_list() == slow.problems.to_list(), data


def test_a_file_with_a_quote_takes_the_byte_level_pass() -> None:
    data = b'a;b\n"x;y";2\n1;2;3\n'
    found = _csv.structure(data, ";", "f.csv")
    assert found.quoted and found.lines.tolist() == [2, 3]
    assert found.problems is not None and found.problems.to_list()[1].startswith("row has 3")


def test_a_parquet_row_is_blank_only_when_every_cell_is_empty() -> None:
    """Typed cells (numbers, dates) are judged on null without being cast to text."""
    import datetime as dt

    import polars as pl

    from engine.registry import _read

    frame = pl.DataFrame(
        {
            "n": [1, None, None, None],
            "text": ["x", " ", None, None],
            "day": [None, None, None, dt.date(2025, 1, 1)],
        },
        schema={"n": pl.Int64, "text": pl.String, "day": pl.Date},
    )
    marked = _read._with_source_line(frame)
    assert marked["source_problem"].to_list() == [None, "blank line", "blank line", None]
    assert marked["source_line"].to_list() == [2, 3, 4, 5]
