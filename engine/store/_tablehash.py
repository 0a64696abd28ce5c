"""The content hash of a published table: the same rows give the same hash, in any order.

The table is hashed as the store keeps it (`for_store`: money as exact decimals). Each value
becomes one exact 64-bit word: an integer, a date (days), a time or a duration as itself, a decimal
(money) as its integer of units (kopiyky), a boolean as 0 or 1, a float rounded to 10 significant
digits as the pair (its 10 digits with their sign, its power of ten), text by a fixed 64-bit hash
of its UTF-8 bytes (`_text_words`), and a coded column (Enum) by the hash of each category's text,
so a table read back out of the store (codes as text, integers widened, `run_id` dropped) or from
its Parquet export hashes as it did when it was published. A float summed by several threads may
come out different in its last bit from one run to the next (a relative difference near 1e-16):
such noise is not a different result; a change of more than a billionth (its 10th digit) is.

Each row's digest is the sum (mod 2^64) of its values' words, each mixed with a key of its column's
position (the MurmurHash3 finalizer, a bijection of 64-bit words; a null has a word of its own);
the table's is two lanes, each the sum over the rows (mod 2^64) of a differently mixed row digest,
so it does not depend on the order of the rows and a duplicate row counts twice. The SHA-256 of
the method, the header (column names and types), the row count and the two lanes is the hash.

Why two tables that differ get different hashes (treating the mixers as random functions; this
is a check that a result is the same, not a defence against a table built to collide): the words
are exact (text: two different texts share a word with chance 2^-64), so two different rows share
a digest with chance about 2^-64; a table that differs from another has a row the other lacks, so
their multisets of row digests are equal with chance below n * 2^-64 (n rows); and two different
multisets give equal sums in both lanes with chance about (n * 2^-64)^2. For 3 million rows that is
below 2e-13 in all. All of it is computed by numpy over whole columns, in a fixed arithmetic
(IEEE doubles, 64-bit words, no library's own hash function), so it is the same on every machine
and from one version of polars, DuckDB or numpy to the next.

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

import numpy as np
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from engine.store._typed import for_store

__all__ = ["TABLE_HASH_METHOD", "table_hash"]

TABLE_HASH_METHOD = (
    "sum of mixed 64-bit row digests in two lanes, floats to 10 digits, text by 64-bit word chain "
    "(v2)"
)
FLOAT_DIGITS = 10

_U64 = np.uint64
_M1, _M2 = _U64(0xFF51AFD7ED558CCD), _U64(0xC4CEB9FE1A85EC53)  # MurmurHash3 fmix64
_N1, _N2 = _U64(0x7FB5D329728EA185), _U64(0x81DADEF4BC2DD44D)  # Stafford's mix 13 variant
_BLOCK = 1 << 16  # rows
_NULL = _U64(0x9E3779B97F4A7C15)  # the word of a null, before its column's key
_LANE_KEYS = (_U64(0x243F6A8885A308D3), _U64(0x13198A2E03707344))
_TAIL_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [2**64 - 1], dtype=np.uint64)
# 10**k for k in -300..300 as Python parses them (correctly rounded, the same everywhere)
_POW10 = np.array([float(f"1e{k}") for k in range(-300, 301)])
_NAN, _POS_INF, _NEG_INF = 0, 1, 2  # float words: a finite value's low 16 bits are >= 2**15 - 400


def _type_name(dtype: pl.DataType) -> str:
    """The type as the hash sees it: coded columns are text, integers are integers of any width
    (the store may widen them), so a round trip through the store keeps the hash."""
    if isinstance(dtype, pl.Enum | pl.Categorical | pl.String | pl.Null):  # the store: VARCHAR
        return "text"
    if dtype.is_integer():
        return "integer"
    return str(dtype)


def _mix(x: np.ndarray, a: np.uint64 = _M1, b: np.uint64 = _M2) -> np.ndarray:
    """A 64-bit finalizer (xor-shift, multiply, twice, xor-shift), a bijection, in place."""
    t = np.empty_like(x)
    for multiplier in (a, b):
        np.right_shift(x, _U64(33), out=t)
        np.bitwise_xor(x, t, out=x)
        np.multiply(x, multiplier, out=x)
    np.right_shift(x, _U64(33), out=t)
    np.bitwise_xor(x, t, out=x)
    return x


def _key(position: int) -> np.uint64:
    digest = hashlib.sha256(f"mfr table hash column {position}".encode()).digest()
    return _U64(int.from_bytes(digest[:8], "little"))


def _take(values: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    return values if rows is None else values[rows]


def _text_words(values: pl.Series) -> np.ndarray:
    """A 64-bit word per text (nulls: any word, masked later): its byte length mixed, then each
    8 bytes of its UTF-8 (little-endian, the last zero-padded) xor-ed in and mixed, in turn."""
    array = values.cast(pl.String).to_arrow()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.type != pa.large_string():
        array = array.cast(pa.large_string())
    n = len(array)
    offsets = np.frombuffer(array.buffers()[1], np.int64, n + 1, array.offset * 8)
    base, end = int(offsets[0]), int(offsets[-1])
    data = np.zeros((end - base) // 8 + 3, np.uint64)  # room to read two words past the end
    if end > base:
        raw = np.frombuffer(array.buffers()[2], np.uint8, end - base, base)
        data.view(np.uint8)[: end - base] = raw
    start = (offsets[:-1] - base).astype(np.uint64)
    length = np.diff(offsets)
    count = (length + 7) // 8  # words of 8 bytes
    tail = _TAIL_MASKS[length - 8 * (count - 1)]  # the bytes of its last word that are its own
    low, shift = start >> _U64(3), (start & _U64(7)) << _U64(3)
    up = _U64(63) - shift  # the rest of a word from the next aligned one (in two shifts: 64 is UB)
    words = _mix(length.astype(np.uint64))
    rows: np.ndarray | None = None  # the texts with a j-th word (None: all of them)
    for j in range(int(count.max()) if n else 0):
        if rows is not None:
            rows = rows[count[rows] > j]
        elif not bool((count > j).all()):
            rows = np.flatnonzero(count > j)
        at = _take(low, rows) + _U64(j)
        word = data[at] >> _take(shift, rows)
        word |= (data[at + _U64(1)] << _U64(1)) << _take(up, rows)
        ends = _take(count, rows) == j + 1
        if ends.any():
            word &= np.where(ends, _take(tail, rows), _TAIL_MASKS[8])
        if rows is None:
            words ^= word
            _mix(words)
        else:
            words[rows] = _mix(words[rows] ^ word)
    return words


def _float_words(values: pl.Series) -> np.ndarray:
    """A float's word: its value to 10 significant digits as digits * 2^16 + power + 2^15, the
    digits signed, the power that of the leading digit; NaN and the infinities words of their own.
    The rounding is of one IEEE product by a power of ten, so the same on every machine."""
    x = values.cast(pl.Float64).fill_null(0.0).to_numpy()
    out = np.full(len(x), 2**15, np.int64)  # zero (and -0.0)
    out[np.isnan(x)] = _NAN
    out[x == np.inf] = _POS_INF
    out[x == -np.inf] = _NEG_INF
    at = np.flatnonzero(np.isfinite(x) & (x != 0))
    a = np.abs(x[at])
    power = np.floor(np.log10(a)).astype(np.int64)
    digits = _scaled(a, power)
    for step, wrong in ((-1, digits < 10 ** (FLOAT_DIGITS - 1)), (1, digits >= 10**FLOAT_DIGITS)):
        if wrong.any():  # log10 was one off, or the digits rounded up to 10000000000
            power[wrong] += step
            digits[wrong] = _scaled(a[wrong], power[wrong])
    signed = np.where(x[at] < 0, -digits, digits)
    out[at] = signed * 2**16 + power + 2**15
    return out.view(np.uint64)


def _scaled(a: np.ndarray, power: np.ndarray) -> np.ndarray:
    """`a` (> 0) * 10^(9 - power) rounded to an integer, half up (as `round_sig_figs`: an exact
    tie, 0.68031640625 to 10 digits, is a value a float sum yields, noise or not)."""
    k = FLOAT_DIGITS - 1 - power
    first = np.clip(k, -300, 300)
    scaled = a * _POW10[first + 300] * _POW10[k - first + 300]
    return np.floor(scaled + 0.5).astype(
        np.int64
    )  # exact: scaled < 2^34, 0.5 a multiple of its ulp


def _words(values: pl.Series) -> np.ndarray:
    """The column's values as exact 64-bit words (module docstring); nulls as any word."""
    dtype = values.dtype
    if isinstance(dtype, pl.String | pl.Categorical | pl.Null | pl.Enum):
        return _text_words(values)
    if dtype.is_nested():  # lists and structs: each value as JSON text
        return _text_words(pl.select(pl.struct(values).struct.json_encode()).to_series())
    if dtype.is_float():
        return _float_words(values)
    if dtype.is_integer() or dtype.is_temporal() or dtype in (pl.Boolean, pl.Decimal):
        try:
            return values.to_physical().cast(pl.Int64).fill_null(0).to_numpy().view(np.uint64)
        except pl.exceptions.InvalidOperationError:  # beyond 64 bits: its exact decimal text
            return _text_words(values.cast(pl.String).fill_null(""))
    return _text_words(values.cast(pl.String))


def _repeats(values: pl.Series) -> bool:
    """Whether a text column repeats its values enough that hashing each distinct text once and
    looking rows up by code is cheaper (ids of case-months, forecast series, dimension text),
    judged on its first block: a column of nearly unique texts is cheaper word by word."""
    head = values.head(_BLOCK)
    return head.n_unique() * 2 <= head.len()


def _dictionary(values: pl.Series) -> tuple[pl.Series, np.ndarray]:
    """A text column as its distinct texts and each row's code into them (a null: -1)."""
    array = values.cast(pl.String).rechunk().to_arrow()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    encoded = pc.dictionary_encode(array)
    codes = np.array(encoded.indices.cast(pa.int64()).fill_null(-1))
    return pl.Series(encoded.dictionary, dtype=pl.String), codes


def _coded(values: pl.Series, key: np.uint64, null: np.ndarray) -> np.ndarray | None:
    """For a column of few distinct values (an Enum, a boolean, repeating text), each row's mixed
    word looked up by its code from its values' (the last entry: a null's); None for any other
    column. The words are those of the values themselves, so the hash is the same either way."""
    if isinstance(values.dtype, pl.Enum):
        categories = pl.Series(values.dtype.categories, dtype=pl.String)
        codes = values.to_physical().cast(pl.Int64).fill_null(len(categories)).to_numpy()
    elif values.dtype == pl.Boolean:
        categories = pl.Series([False, True])
        codes = values.to_physical().cast(pl.Int64).fill_null(2).to_numpy()
    elif values.dtype == pl.String and _repeats(values):
        categories, codes = _dictionary(values)
        codes[codes < 0] = len(categories)
    else:
        return None
    table = np.concatenate([_mix(_words(categories) ^ key), null])
    return table[codes]


def _row_digests(frame: pl.DataFrame) -> np.ndarray:
    """Each row's digest: the sum of its values' words, mixed with their column's key; a block of
    rows at a time (numpy is fastest on arrays that fit the processor's cache)."""
    digests = np.zeros(frame.height, np.uint64)
    for position, values in enumerate(frame.iter_columns()):
        key = _key(position)
        null = _mix(np.array([_NULL ^ key], np.uint64))
        coded = _coded(values, key, null)
        if coded is not None:
            digests += coded
            continue
        for first in range(0, frame.height, _BLOCK):
            part = values.slice(first, _BLOCK)
            mixed = _mix(_words(part) ^ key)
            if part.null_count():
                mixed[part.is_null().to_numpy()] = null
            digests[first : first + _BLOCK] += mixed
    return digests


def table_hash(frame: pl.DataFrame) -> str:
    """SHA-256 of the table's two lane sums, header and row count (see the module docstring):
    independent of the order of its rows, dependent on its column names, their order and types,
    and every value."""
    money = [n for n, t in frame.schema.items() if n.endswith("_uah") and t.is_float()]
    if money:  # as the store keeps them: exact decimals (its dimension Enums are text here anyway)
        frame = frame.with_columns(for_store(frame.select(money)))
    header = "\t".join(f"{n}:{_type_name(t)}" for n, t in frame.schema.items())
    digest = hashlib.sha256(f"{TABLE_HASH_METHOD}\n{header}\n{frame.height} rows\n".encode())
    if frame.width and frame.height:
        rows = _row_digests(frame)
        for key, (a, b) in zip(_LANE_KEYS, ((_M1, _M2), (_N1, _N2)), strict=True):
            lane = np.sum(_mix(rows ^ key, a, b), dtype=np.uint64)
            digest.update(int(lane).to_bytes(8, "little"))
    return digest.hexdigest()
