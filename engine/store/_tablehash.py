"""The content hash of a published table: the same rows give the same hash, in any order.

The table is hashed as the store keeps it (`for_store`: money as exact decimals), written as text
in one canonical form: a header of its column names and types, then its rows, each one line of its
values separated by the unit separator (U+001F), the lines sorted. Coded columns are written as
their text, so a table read back out of the store (codes as text, `run_id` dropped) hashes as it
did when it was published. Decimals (money), integers, dates and text are written exactly, a null
as `\\N`. Floats are written to 10 significant digits: a float summed by several threads may come
out different in its last bit from one run to the next (a relative difference near 1e-16), and
such noise is not a different result; a change beyond one part in ten billion is.

>>> import polars as pl
>>> a = pl.DataFrame({"code": ["b", "a"], "uah": [2.5, 1.0]})
>>> table_hash(a) == table_hash(a.reverse())
True
>>> table_hash(a) == table_hash(a.with_columns(uah=pl.col("uah") + 0.01))
False
>>> table_hash(a) == table_hash(a.with_columns(uah=pl.col("uah") * (1 + 1e-15)))  # float noise
True
"""

from __future__ import annotations

import hashlib

import polars as pl

from engine.store._typed import for_store

__all__ = ["TABLE_HASH_METHOD", "table_hash"]

TABLE_HASH_METHOD = "sha256 of the rows as sorted lines of text, floats to 10 digits (v1)"
FLOAT_DIGITS = 10


def _type_name(dtype: pl.DataType) -> str:
    """The type as the hash sees it: coded columns are text, integers are integers of any width
    (the store may widen them), so a round trip through the store keeps the hash."""
    if isinstance(dtype, pl.Enum | pl.Categorical | pl.String | pl.Null):  # the store: VARCHAR
        return "text"
    if dtype.is_integer():
        return "integer"
    return str(dtype)


def _text(name: str, dtype: pl.DataType) -> pl.Expr:
    column = pl.col(name)
    if dtype.is_nested():  # lists and structs: each value as JSON text
        column = pl.struct(column).struct.json_encode()
    elif dtype.is_float():  # -0.0 is 0.0
        rounded = column.round_sig_figs(FLOAT_DIGITS)
        column = pl.when(rounded == 0).then(pl.lit(0.0, dtype)).otherwise(rounded)
    return column.cast(pl.String).fill_null("\\N")


def table_hash(frame: pl.DataFrame) -> str:
    """SHA-256 of the table's canonical text (see the module docstring): independent of the order
    of its rows, dependent on its column names, their order and types, and every value."""
    money = [n for n, t in frame.schema.items() if n.endswith("_uah") and t.is_float()]
    if money:  # as the store keeps them: exact decimals (its dimension Enums are text here anyway)
        frame = frame.with_columns(for_store(frame.select(money)))
    header = "\t".join(f"{n}:{_type_name(t)}" for n, t in frame.schema.items())
    digest = hashlib.sha256(header.encode() + b"\n")
    if frame.width and frame.height:
        lines = frame.select(
            pl.concat_str([_text(n, t) for n, t in frame.schema.items()], separator="\x1f")
        ).to_series()
        digest.update(lines.sort().str.join("\n").item().encode())
    digest.update(f"\n{frame.height} rows".encode())
    return digest.hexdigest()
