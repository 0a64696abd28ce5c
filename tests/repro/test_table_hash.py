"""`table_hash`: a multiset of rows (order never matters, a duplicate counts), any single value
change, column rename or reorder changes it, float noise does not; the text words are fixed bytes
arithmetic (pinned); old (v1, sorted text) and new agree on what is identical on the sample
nightly's published tables; a run recorded by another method is rehashed by `mfr reproduce`."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import math
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.store import table_hash
from engine.store._tablehash import TABLE_HASH_METHOD, _text_words

CODES = ["a", "b", "UA01", "UA02"]

_rows = st.fixed_dictionaries(
    {
        "n": st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
        "x": st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
        "uah": st.one_of(st.none(), st.integers(-(10**15), 10**15)),  # kopiyky
        "day": st.one_of(st.none(), st.dates()),
        "text": st.one_of(st.none(), st.text(max_size=30)),
        "code": st.one_of(st.none(), st.sampled_from(CODES)),
        "flag": st.one_of(st.none(), st.booleans()),
    }
)


def _frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "n": [r["n"] for r in rows],
            "x": [r["x"] for r in rows],
            "uah": [None if r["uah"] is None else decimal.Decimal(r["uah"]) / 100 for r in rows],
            "day": [r["day"] for r in rows],
            "text": [r["text"] for r in rows],
            "code": [r["code"] for r in rows],
            "flag": [r["flag"] for r in rows],
        },
        schema={
            "n": pl.Int64,
            "x": pl.Float64,
            "uah": pl.Decimal(18, 2),
            "day": pl.Date,
            "text": pl.String,
            "code": pl.Enum(CODES),
            "flag": pl.Boolean,
        },
    )


_tables = st.lists(_rows, min_size=1, max_size=20)


@settings(max_examples=60, deadline=None)
@given(rows=_tables, data=st.data())
def test_row_order_never_matters_and_a_duplicate_row_counts(rows, data) -> None:
    frame = _frame(rows)
    order = data.draw(st.permutations(range(len(rows))))
    assert table_hash(frame) == table_hash(frame[list(order)])
    doubled = pl.concat([frame, frame[:1]])
    assert table_hash(doubled) != table_hash(frame)
    assert table_hash(frame[[0, 0]]) != table_hash(frame[:1])


def _changed(value, column: str, draw):
    """A value of `column` other than `value` (a float: beyond 1e-9 relative, its 10th digit; money: a kopiyka;
    null for a value and a value for a null among the choices)."""
    if (
        column == "x"
        and value is not None
        and not math.isnan(value)
        and abs(value) not in (0, float("inf"))
    ):
        return value * (1 + draw(st.sampled_from([2e-9, -2e-9, 1e-6, 1.0])))
    if column == "uah" and value is not None:
        return value + draw(st.sampled_from([1, -1]))
    if column == "day" and value is not None:
        return value + dt.timedelta(days=1) if value < dt.date(9999, 1, 1) else None
    return draw(_rows.map(lambda r: r[column]).filter(lambda v: repr(v) != repr(value)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(rows=_tables, data=st.data())
def test_any_single_value_change_changes_the_hash(rows, data) -> None:
    row = data.draw(st.integers(0, len(rows) - 1))
    column = data.draw(st.sampled_from(list(rows[0])))
    changed = [dict(r) for r in rows]
    changed[row][column] = _changed(rows[row][column], column, data.draw)
    assert table_hash(_frame(changed)) != table_hash(_frame(rows)), (column, rows[row][column])


def test_a_null_differs_from_every_value_of_its_column_and_from_an_empty_text() -> None:
    values = {"n": 0, "x": 0.0, "uah": 0, "day": dt.date(1970, 1, 1), "text": "", "code": "a"}
    for column, value in {**values, "flag": False}.items():
        row = {c: None for c in values} | {"flag": None}
        assert table_hash(_frame([row | {column: value}])) != table_hash(_frame([row])), column


def test_a_column_renamed_or_reordered_changes_the_hash() -> None:
    frame = pl.DataFrame({"a": [1, 2], "b": [1, 2]})
    assert table_hash(frame) != table_hash(frame.rename({"a": "c"}))
    assert table_hash(frame) != table_hash(frame.select("b", "a"))
    swapped = pl.DataFrame({"a": [1, 2], "b": [2, 1]})  # values moved between rows of a column
    assert table_hash(frame) != table_hash(swapped)
    assert table_hash(frame) != table_hash(frame.with_columns(pl.col("b").cast(pl.Float64)))


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=20))
def test_float_noise_does_not_change_the_hash_and_money_is_exact(values) -> None:
    noise = [v * (1 + 1e-15) for v in values]
    # not a value on a rounding boundary of its 10th digit (any rounding may go either way there)
    assume(all(f"{v:.9e}" == f"{w:.9e}" for v, w in zip(values, noise, strict=True)))
    frame = pl.DataFrame({"x": values, "state_uah": [round(v % 1e6, 2) for v in values]})
    assert table_hash(frame.with_columns(x=pl.Series(noise))) == table_hash(frame)
    more = frame.with_columns(pl.col("state_uah") + 0.01)  # a kopiyka
    assert table_hash(more) != table_hash(frame)


def test_coded_text_hashes_as_its_text_and_integers_of_any_width_alike() -> None:
    text = pl.DataFrame({"code": ["b", None, "a"], "n": [1, 2, 3]})
    coded = text.with_columns(
        pl.col("code").cast(pl.Enum(["a", "b", "c"])), pl.col("n").cast(pl.Int8)
    )
    assert table_hash(coded) == table_hash(text)
    assert table_hash(text.with_columns(pl.col("code").cast(pl.Categorical))) == table_hash(text)


def test_the_text_words_are_fixed_byte_arithmetic() -> None:
    """Pinned: a change to these words is a change of method (`TABLE_HASH_METHOD`)."""
    words = _text_words(pl.Series(["", "a", "abcdefgh", "abcdefghi", "ü" * 20])).tolist()
    assert words == [
        0,
        17320181700703342355,
        14366671755645850230,
        5451611952232576453,
        17513162544107697210,
    ]
    assert table_hash(pl.DataFrame({"a": [1, None], "t": ["x", "y"]})) == (
        "f5e05159204e10a1620e021b71c404650d122832db33534ff9111be1cab8334d"
    )
    assert "(v2)" in TABLE_HASH_METHOD


def _v1_hash(frame: pl.DataFrame) -> str:
    """The first method (v1), as it was: the rows as sorted lines of text, sha256."""
    from engine.store._tablehash import _type_name
    from engine.store._typed import for_store

    money = [n for n, t in frame.schema.items() if n.endswith("_uah") and t.is_float()]
    if money:
        frame = frame.with_columns(for_store(frame.select(money)))
    header = "\t".join(f"{n}:{_type_name(t)}" for n, t in frame.schema.items())
    digest = hashlib.sha256(header.encode() + b"\n")

    def text(name: str, dtype: pl.DataType) -> pl.Expr:
        column = pl.col(name)
        if dtype.is_nested():
            column = pl.struct(column).struct.json_encode()
        elif dtype.is_float():
            rounded = column.round_sig_figs(10)
            column = pl.when(rounded == 0).then(pl.lit(0.0, dtype)).otherwise(rounded)
        return column.cast(pl.String).fill_null("\\N")

    if frame.width and frame.height:
        lines = frame.select(
            pl.concat_str([text(n, t) for n, t in frame.schema.items()], separator="\x1f")
        ).to_series()
        digest.update(lines.sort().str.join("\n").item().encode())
    digest.update(f"\n{frame.height} rows".encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def nightly(sample_nightly) -> tuple[Path, str]:
    """The sample nightly run once into a copy of the project (shared, read only: see
    tests/conftest.py); its store and run id."""
    return sample_nightly.store, sample_nightly.run_id


_VARIANT_ROWS = 2_000


def _variants(frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The table shuffled, with float noise, a row repeated, and one value changed per column."""
    found = {
        "shuffled": frame.sample(fraction=1.0, shuffle=True, seed=7),
        "noise": frame.with_columns(
            pl.col(c) * (1 + 1e-15) for c, t in frame.schema.items() if t.is_float()
        ),
        "repeated": pl.concat([frame, frame[:1]]),
    }
    for column, dtype in frame.schema.items():
        first = frame[column][0]
        if dtype.is_float() or dtype.is_integer() or isinstance(dtype, pl.Decimal):
            new = pl.lit(1 if first is None else first + 1).cast(dtype)
        elif dtype == pl.Date:
            new = pl.lit(dt.date(2000, 1, 1) if first is None else first + dt.timedelta(days=1))
        elif dtype == pl.Boolean:
            new = pl.lit(not first)
        else:
            new = pl.lit("x" if first is None else first + "x", pl.String)
        index = pl.int_range(pl.len()) == 0
        found[f"{column} changed"] = frame.with_columns(
            pl.when(index).then(new).otherwise(pl.col(column)).alias(column)
        )
    return found


def test_the_old_and_new_method_agree_on_what_is_identical_on_the_nightlys_tables(nightly) -> None:
    from engine.store import Store

    store_path, run_id = nightly
    store = Store(store_path)
    exports = Path(store.manifest(run_id).outputs["exports"])
    compared = 0
    for table in store.table_names():
        full = store.table(table, run_id=run_id).drop("run_id")
        if not full.height:
            continue
        # the changed copies are made of the table's first rows: every column, type and kind of
        # value is there, and hashing ~20 copies of the 77,000-row forecast would take 30 s
        frame = full.head(_VARIANT_ROWS)
        compare = [(frame, name, variant) for name, variant in _variants(frame).items()]
        export = exports / f"{table}.parquet"
        if export.exists():
            compare.append((full, "export", pl.read_parquet(export)))  # the whole table
        hashes = {id(base): (_v1_hash(base), table_hash(base)) for base in (frame, full)}
        for base, name, variant in compare:
            old_same = _v1_hash(variant) == hashes[id(base)][0]
            new_same = table_hash(variant) == hashes[id(base)][1]
            assert old_same == new_same, (table, name)
            if name != "noise":  # noise may cross a 10th-digit boundary, for either method
                assert new_same == (name in ("shuffled", "export")), (table, name)
            compared += 1
    assert compared > 100


def test_a_run_hashed_by_another_method_is_rehashed_and_said_so(nightly, tmp_path: Path) -> None:
    """A run recorded before the method was kept (v1 hashes, no `table_hash_method`) reproduces
    as identical: its stored tables are hashed by this method, and a note says so."""
    import json

    import duckdb

    from engine.pipeline._reproduce import reproduce_run
    from engine.store import Store

    store_path, run_id = nightly
    copy = tmp_path / "mfr.duckdb"
    shutil.copy(store_path, copy)
    store = Store(copy)
    recorded = store.manifest(run_id).outputs["table_hashes"]
    v1 = {t: _v1_hash(store.table(t, run_id=run_id).drop("run_id")) for t in recorded}
    del store
    with duckdb.connect(str(copy)) as con:
        (text,) = con.execute("SELECT manifest FROM runs WHERE run_id = ?", [run_id]).fetchone()
        manifest = json.loads(text)
        assert manifest["outputs"].pop("table_hash_method") == TABLE_HASH_METHOD
        manifest["outputs"]["table_hashes"] = v1
        con.execute("UPDATE runs SET manifest = ? WHERE run_id = ?", [json.dumps(manifest), run_id])
    result = reproduce_run(copy, run_id)
    assert result.identical, result.lines()
    (note,) = (line for line in result.lines() if "by another method" in line)
    assert "(v1)" in note and TABLE_HASH_METHOD in note
