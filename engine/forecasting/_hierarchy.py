"""Hierarchies of series: nested levels crossed with factors, and their sparse summing matrix.

A hierarchy is described by *dimensions*, each a chain of key columns from coarse to fine: the
territory chain `oblast_code > raion_code > hromada_code` and, crossed with it, a service chain
`service_group > service_code`. Every combination of one prefix per dimension is a level
(`total`, `oblast_code`, `oblast_code/service_code`, ..., down to `hromada_code/service_code`, the
bottom level), so a grouped structure is a product of nested ones.

The summing matrix `S` (nodes × bottom series, scipy.sparse CSR) maps bottom-level values to every
node: `all_nodes = S @ bottom`. Its last `n_bottom` rows are the identity, in bottom order.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from engine.errors import ConfigError, InputFileError

if TYPE_CHECKING:
    from scipy import sparse

__all__ = ["TOTAL", "Hierarchy", "HierarchySpec", "build_hierarchy", "hierarchy_of_levels"]

TOTAL = "total"


@dataclass(frozen=True)
class HierarchySpec:
    """Nested levels crossed with factors.

    `nested` is a chain from coarse to fine (e.g. `("oblast_code", "raion_code", "hromada_code")`);
    each entry of `crossed` is another chain (e.g. `("service_group", "service_code")`) or a single
    column. `aggregate=False` keeps only the bottom level (independent series, no reconciliation).

    >>> spec = HierarchySpec(nested=("oblast", "hromada"), crossed=(("service",),))
    >>> spec.bottom_columns
    ('oblast', 'hromada', 'service')
    """

    nested: tuple[str, ...] = ()
    crossed: tuple[tuple[str, ...], ...] = ()
    aggregate: bool = True

    def __post_init__(self) -> None:
        crossed = tuple((c,) if isinstance(c, str) else tuple(c) for c in self.crossed)
        object.__setattr__(self, "nested", tuple(self.nested))
        object.__setattr__(self, "crossed", crossed)
        columns = self.bottom_columns
        if not columns:
            raise ConfigError("a hierarchy needs at least one key column")
        if len(set(columns)) != len(columns):
            raise ConfigError(f"hierarchy repeats a column: {list(columns)}")

    @property
    def dimensions(self) -> tuple[tuple[str, ...], ...]:
        return tuple(d for d in (self.nested, *self.crossed) if d)

    @property
    def bottom_columns(self) -> tuple[str, ...]:
        return tuple(c for d in self.dimensions for c in d)

    @classmethod
    def flat(cls, column: str) -> HierarchySpec:
        """Independent series keyed by one column (no aggregation)."""
        return cls(crossed=((column,),), aggregate=False)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "hierarchy") -> HierarchySpec:
        """Build from a config mapping `{nested: [...], crossed: [[...], ...], aggregate: bool}`."""
        unknown = set(data) - {"nested", "crossed", "aggregate"}
        if unknown:
            raise ConfigError(f"unknown key(s) {sorted(unknown)} in hierarchy", path=source)
        nested = data.get("nested") or ()
        crossed = data.get("crossed") or ()
        if isinstance(nested, str) or not all(isinstance(c, str) for c in nested):
            raise ConfigError("hierarchy.nested must be a list of column names", path=source)
        chains = []
        for entry in crossed:
            chain = (entry,) if isinstance(entry, str) else tuple(entry)
            if not all(isinstance(c, str) for c in chain):
                raise ConfigError("hierarchy.crossed must hold column names", path=source)
            chains.append(chain)
        return cls(tuple(nested), tuple(chains), bool(data.get("aggregate", True)))


@dataclass(frozen=True)
class Hierarchy:
    """The nodes of a hierarchy and its summing matrix.

    `nodes`: one row per node in `S` row order — `unique_id`, `level`, `depth` (0 = total) and the
    key columns (null where the node aggregates over them). `bottom`: the bottom-level keys in
    column order of `S`.
    """

    spec: HierarchySpec
    nodes: pl.DataFrame
    bottom: pl.DataFrame
    S: sparse.csr_matrix
    levels: tuple[str, ...]

    @property
    def key_columns(self) -> list[str]:
        """The hierarchy's key columns as they appear in `nodes` (a key named `unique_id` is the
        node id itself)."""
        return [c for c in self.spec.bottom_columns if c != "unique_id"]

    @property
    def n_nodes(self) -> int:
        return self.S.shape[0]

    @property
    def n_bottom(self) -> int:
        return self.S.shape[1]

    @property
    def n_aggregate(self) -> int:
        return self.n_nodes - self.n_bottom

    def aggregate(self, bottom: np.ndarray) -> np.ndarray:
        """Sum bottom-level rows (n_bottom × ...) to every node (n_nodes × ...)."""
        flat = bottom.reshape(bottom.shape[0], -1)
        return np.asarray(self.S @ flat).reshape((self.n_nodes, *bottom.shape[1:]))


def _level_name(columns: Sequence[str]) -> str:
    return "/".join(columns) if columns else TOTAL


def build_hierarchy(bottom_keys: pl.DataFrame, spec: HierarchySpec) -> Hierarchy:
    """Nodes and summing matrix for the bottom-level series `bottom_keys` (one row per series).

    Node ids join the node's key values (its full path in every dimension) with "/", so they are
    unique even where a code repeats down a chain (Kyiv is its own oblast, raion and hromada); the
    grand total is "total".
    """
    columns = list(spec.bottom_columns)
    dims = spec.dimensions
    if spec.aggregate:
        depth_choices = [range(len(d) + 1) for d in dims]
        combos = sorted(itertools.product(*depth_choices), key=lambda c: (sum(c), c))
    else:
        combos = [tuple(len(d) for d in dims)]
    levels = [
        (
            _level_name([d[k - 1] for d, k in zip(dims, combo, strict=True) if k > 0]),
            [c for d, k in zip(dims, combo, strict=True) for c in d[:k]],
        )
        for combo in combos
    ]
    return hierarchy_of_levels(bottom_keys, levels, columns, spec)


def hierarchy_of_levels(
    bottom_keys: pl.DataFrame,
    levels: Sequence[tuple[str, Sequence[str]]],
    columns: Sequence[str],
    spec: HierarchySpec,
) -> Hierarchy:
    """Nodes and summing matrix of explicit levels, each `(name, key columns)`; the level keyed by
    every one of `columns` is the bottom (identity, bottom order) and must come last."""
    from scipy import sparse

    columns = list(columns)
    missing = [c for c in columns if c not in bottom_keys.columns]
    if missing:
        raise InputFileError(f"series frame lacks hierarchy column(s) {missing}", column=missing[0])
    bottom = bottom_keys.select(columns)
    if bottom.select(pl.any_horizontal(pl.all().is_null()).any()).item():
        raise InputFileError("a hierarchy key column holds nulls", column=columns[0])
    if bottom.is_duplicated().any():
        raise InputFileError(f"bottom-level keys {columns} are not unique")
    n_bottom = bottom.height

    frames: list[pl.DataFrame] = []
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    offset = 0
    indexed = bottom.with_row_index("_b")
    for name, given in levels:
        level_cols = list(given)
        if len(level_cols) == len(columns):  # bottom level: identity, keep bottom order
            keys = indexed.select(level_cols).with_row_index("_n")
            member = indexed.select(pl.col("_b"), pl.col("_b").alias("_n"))
        elif level_cols:
            keys = indexed.select(level_cols).unique().sort(level_cols).with_row_index("_n")
            member = indexed.join(keys, on=level_cols, how="left").select("_b", "_n")
        else:
            keys = pl.DataFrame({"_n": [0]}, schema={"_n": pl.UInt32})
            member = indexed.select(pl.col("_b"), pl.lit(0, dtype=pl.UInt32).alias("_n"))
        uid = (
            pl.concat_str([pl.col(c).cast(pl.String) for c in level_cols], separator="/")
            if level_cols
            else pl.lit(TOTAL)
        )
        frames.append(
            keys.with_columns(
                _uid=uid, _level=pl.lit(name), _depth=pl.lit(len(level_cols), dtype=pl.Int32)
            ).select("_uid", "_level", "_depth", *level_cols)
        )
        rows.append(member["_n"].to_numpy().astype(np.int64) + offset)
        cols.append(member["_b"].to_numpy().astype(np.int64))
        offset += keys.height

    # a key column called unique_id (statsforecast's convention) is the node id itself
    keys_out = [c for c in columns if c != "unique_id"]
    nodes = (
        pl.concat(frames, how="diagonal_relaxed")
        .with_columns(pl.col(c).cast(bottom.schema[c]) for c in keys_out)
        .select(
            pl.col("_uid").alias("unique_id"),
            pl.col("_level").alias("level"),
            pl.col("_depth").alias("depth"),
            *keys_out,
        )
    )
    row = np.concatenate(rows)
    col = np.concatenate(cols)
    summing = sparse.csr_matrix((np.ones(row.size), (row, col)), shape=(offset, n_bottom))
    if nodes["unique_id"].is_duplicated().any():  # e.g. a key value containing "/"
        dup = nodes.filter(pl.col("unique_id").is_duplicated())["unique_id"][0]
        raise InputFileError(f"node id {dup!r} is ambiguous: key values collide across levels")
    names = tuple(name for name, _ in levels)
    return Hierarchy(spec=spec, nodes=nodes, bottom=bottom, S=summing, levels=names)
