"""Any aggregation structure, on hierarchicalforecast's conventions: level definitions or a summing
matrix with tags.

Three ways to say how nodes aggregate the bottom series:

- a `HierarchySpec` (or its mapping `{nested: [...], crossed: [[...]]}`): every combination of
  one prefix per dimension (`_hierarchy`);
- a list of *level definitions*, each the key columns of one level, `[]` for the total, e.g.
  `[[], ["oblast_code"], ["service_code"], ["oblast_code", "hromada_code", "service_code"]]` —
  total, each factor, and the bottom, without the 2-way crossings. The level holding every column
  is the bottom; the others must use only its columns. Node ids join a node's key values with "/"
  in the level's column order (hierarchicalforecast's `aggregate`), the total is "total";
- a summing matrix `S_df` (a frame: `unique_id`, then one column per bottom series, as
  hierarchicalforecast's `aggregate` returns it) with `tags` (level name → node ids). The series
  frame is then `unique_id, ds, y`; only the bottom rows are read (aggregates are re-summed
  through S, so they are coherent by construction).

`aggregate(frame, spec)` returns `(Y_df, S_df, tags)` as hierarchicalforecast's `aggregate` does.
`S_df` is dense (one column per bottom series): for tens of thousands of series pass the level
definitions themselves, which are held as a sparse matrix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from engine.errors import ConfigError, InputFileError
from engine.forecasting._hierarchy import (
    TOTAL,
    Hierarchy,
    HierarchySpec,
    build_hierarchy,
    hierarchy_of_levels,
)
from engine.forecasting._panel import to_panel

__all__ = ["Structure", "SummingMatrix", "aggregate", "as_structure", "structure_hierarchy"]


@dataclass(frozen=True)
class SummingMatrix:
    """A summing matrix: `S` (nodes × bottom, dense), node ids in row order, bottom ids in column
    order and each node's level name (levels in `level_order`, the bottom last)."""

    S: np.ndarray
    ids: tuple[str, ...]
    bottom_ids: tuple[str, ...]
    node_levels: tuple[str, ...]
    level_order: tuple[str, ...]

    @classmethod
    def from_frame(cls, s_df: Any, tags: Mapping[str, Sequence[str]]) -> SummingMatrix:
        """From `S_df` (polars or pandas: `unique_id` and one column per bottom series, or a numpy
        array whose rows are the tags' ids in order and whose columns are the last tag's ids)."""
        names = [str(n) for n in tags]
        members = [np.asarray(v).astype(str) for v in tags.values()]
        tagged = pl.DataFrame(
            {
                "unique_id": np.concatenate(members) if members else np.array([], dtype=str),
                "level": np.repeat(names, [m.size for m in members]),
            },
            schema={"unique_id": pl.String, "level": pl.String},
        ).unique("unique_id", keep="first", maintain_order=True)
        if isinstance(s_df, np.ndarray):
            ids = tagged["unique_id"]
            bottom = members[-1].tolist() if members else []
            matrix = np.asarray(s_df, dtype=float)
        else:
            frame = s_df if isinstance(s_df, pl.DataFrame) else pl.from_pandas(s_df.reset_index())
            if "unique_id" not in frame.columns:
                raise ConfigError("S_df needs a 'unique_id' column (the node ids, in row order)")
            ids = frame["unique_id"].cast(pl.String)
            bottom = [c for c in frame.columns if c not in ("unique_id", "index")]
            matrix = frame.select(bottom).to_numpy().astype(float)
        if matrix.shape != (ids.len(), len(bottom)):
            raise ConfigError(f"S has shape {matrix.shape}, expected {(ids.len(), len(bottom))}")
        if ids.is_duplicated().any():
            raise ConfigError("S_df repeats a node id")
        levels = pl.DataFrame({"unique_id": ids}).join(
            tagged, on="unique_id", how="left", maintain_order="left"
        )
        untagged = levels.filter(pl.col("level").is_null())
        if untagged.height:
            raise ConfigError(f"node {untagged['unique_id'][0]!r} of S_df is in no level of tags")
        if not np.all((matrix == 0) | (matrix == 1)):
            raise ConfigError("a summing matrix holds only 0 and 1")
        return cls(
            matrix,
            tuple(ids.to_list()),
            tuple(bottom),
            tuple(levels["level"].to_list()),
            tuple(dict.fromkeys(names)),
        )


@dataclass(frozen=True)
class Structure:
    """One of: a hierarchy spec, named level definitions, or a summing matrix."""

    spec: HierarchySpec | None = None
    levels: tuple[tuple[str, tuple[str, ...]], ...] = ()
    summing: SummingMatrix | None = None

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The bottom series' key columns in the series frame."""
        if self.spec is not None:
            return self.spec.bottom_columns
        if self.summing is not None:
            return ("unique_id",)
        return self.levels[-1][1]


def _level_definitions(levels: Sequence[Sequence[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    defs = []
    for entry in levels:
        if isinstance(entry, str) or not all(isinstance(c, str) for c in entry):
            raise ConfigError(f"a level definition is a list of column names, got {entry!r}")
        if len(set(entry)) != len(entry):
            raise ConfigError(f"level {list(entry)} repeats a column")
        defs.append(tuple(entry))
    if not defs:
        raise ConfigError("a structure needs at least one level")
    columns = max(defs, key=len)
    bottoms = [d for d in defs if set(d) == set(columns)]
    outside = [d for d in defs if not set(d) <= set(columns)]
    if outside:
        raise ConfigError(
            f"level {list(outside[0])} uses a column the bottom level {list(columns)} lacks; "
            "the bottom level must hold every key column"
        )
    if len(bottoms) > 1:
        raise ConfigError(f"the bottom level {list(columns)} is given twice")
    seen: set[frozenset[str]] = set()
    for d in defs:
        if frozenset(d) in seen:
            raise ConfigError(f"level {list(d)} is given twice")
        seen.add(frozenset(d))
    ordered = [d for d in defs if d is not bottoms[0]] + [bottoms[0]]
    return tuple(("/".join(d) if d else TOTAL, d) for d in ordered)


def as_structure(
    structure: Any = None,
    *,
    S_df: Any = None,  # noqa: N803 (hierarchicalforecast's name)
    tags: Mapping[str, Sequence[str]] | None = None,
    id_col: str = "unique_id",
) -> Structure:
    """A `Structure` from a spec, a mapping, a list of level definitions or `S_df` + `tags`.

    >>> s = as_structure([[], ["region"], ["region", "town"]])
    >>> [name for name, _ in s.levels], s.key_columns
    (['total', 'region', 'region/town'], ('region', 'town'))
    """
    if S_df is not None or tags is not None:
        if S_df is None or tags is None or structure is not None:
            raise ConfigError("a summing matrix needs S_df and tags, and no other structure")
        return Structure(summing=SummingMatrix.from_frame(S_df, tags))
    if structure is None:
        return Structure(spec=HierarchySpec.flat(id_col))
    if isinstance(structure, Structure):
        return structure
    if isinstance(structure, HierarchySpec):
        return Structure(spec=structure)
    if isinstance(structure, Mapping):
        return Structure(spec=HierarchySpec.from_mapping(structure))
    if isinstance(structure, Sequence) and not isinstance(structure, str):
        return Structure(levels=_level_definitions(structure))
    raise ConfigError(f"unknown structure {structure!r}: a hierarchy, level definitions or S_df")


def structure_hierarchy(structure: Structure, bottom_keys: pl.DataFrame) -> Hierarchy:
    """The nodes and sparse summing matrix of a structure over the bottom series `bottom_keys`
    (one row per series, in the order of the series matrix)."""
    if structure.spec is not None:
        return build_hierarchy(bottom_keys, structure.spec)
    if structure.summing is None:
        columns = structure.levels[-1][1]
        spec = HierarchySpec(crossed=tuple((c,) for c in columns))
        return hierarchy_of_levels(bottom_keys, structure.levels, columns, spec)
    return _summing_hierarchy(structure.summing, bottom_keys)


def _summing_hierarchy(summing: SummingMatrix, bottom_keys: pl.DataFrame) -> Hierarchy:
    from scipy import sparse

    series = bottom_keys.select(pl.col("unique_id").cast(pl.String)).with_row_index("_b")
    columns = pl.DataFrame({"unique_id": summing.bottom_ids}).with_row_index("_col")
    rows = pl.DataFrame({"unique_id": summing.ids}).with_row_index("_row")
    match = series.join(columns, on="unique_id", how="left", maintain_order="left").join(
        rows, on="unique_id", how="left", maintain_order="left"
    )
    unknown = match.filter(pl.col("_col").is_null())
    if unknown.height:
        raise InputFileError(f"series {unknown['unique_id'][0]!r} is not a bottom series of S_df")
    absent = columns.join(series, on="unique_id", how="anti")
    if absent.height:
        raise InputFileError(
            f"bottom series {absent['unique_id'][0]!r} of S_df has no observations"
        )
    no_row = match.filter(pl.col("_row").is_null())
    if no_row.height:
        raise ConfigError(f"bottom series {no_row['unique_id'][0]!r} has no row in S_df")
    cols = match["_col"].to_numpy().astype(np.int64)
    bottom_rows = match["_row"].to_numpy().astype(np.int64)
    n_series = series.height
    is_bottom = np.zeros(len(summing.ids), dtype=bool)
    is_bottom[bottom_rows] = True
    order = np.concatenate([np.flatnonzero(~is_bottom), bottom_rows])
    matrix = summing.S[order][:, cols]
    n_aggregate = int((~is_bottom).sum())
    if not np.array_equal(matrix[n_aggregate:], np.eye(n_series)):
        raise ConfigError("the rows of S_df's bottom series must be the identity")
    ids = pl.Series("unique_id", summing.ids, dtype=pl.String).gather(order)
    node_levels = pl.Series("level", summing.node_levels, dtype=pl.String).gather(order)
    bottom_level = node_levels[-1]
    if node_levels.slice(n_aggregate).n_unique() > 1:
        raise ConfigError("tags put the bottom series in more than one level")
    present = set(node_levels.unique().to_list())
    levels = [n for n in summing.level_order if n != bottom_level and n in present]
    depth = {name: k for k, name in enumerate([*levels, bottom_level])}
    nodes = pl.DataFrame([ids, node_levels]).with_columns(
        pl.col("level").replace_strict(depth, return_dtype=pl.Int32).alias("depth")
    )
    return Hierarchy(
        spec=HierarchySpec.flat("unique_id"),
        nodes=nodes,
        bottom=series.select("unique_id"),
        S=sparse.csr_matrix(matrix),
        levels=(*levels, bottom_level),
    )


def aggregate(
    frame: pl.DataFrame | pl.LazyFrame,
    spec: Sequence[Sequence[str]] | HierarchySpec | Mapping[str, Any],
    *,
    date_col: str = "ds",
    value_col: str = "y",
    freq: str = "1mo",
    fill_value: float = 0.0,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, np.ndarray]]:
    """Every node's series, the summing matrix and the tags (hierarchicalforecast's `aggregate`).

    `Y_df`: `unique_id, ds, y`, every node from its first period, nodes in S's row order;
    `S_df`: `unique_id` and one 0/1 column per bottom series; `tags`: level name → node ids.

    >>> import datetime as dt
    >>> frame = pl.DataFrame({"region": ["N", "N", "S"], "town": ["a", "b", "c"],
    ...                       "ds": [dt.date(2025, 1, 1)] * 3, "y": [1.0, 2.0, 4.0]})
    >>> Y_df, S_df, tags = aggregate(frame, [[], ["region"], ["region", "town"]])
    >>> Y_df["unique_id"].to_list(), Y_df["y"].to_list()
    (['total', 'N', 'S', 'N/a', 'N/b', 'S/c'], [7.0, 3.0, 4.0, 1.0, 2.0, 4.0])
    >>> S_df.row(1), list(tags)
    (('N', 1.0, 1.0, 0.0), ['total', 'region', 'region/town'])
    """
    structure = as_structure(spec)
    panel = to_panel(
        frame,
        key_cols=structure.key_columns,
        date_col=date_col,
        value_col=value_col,
        freq=freq,
        fill_value=fill_value,
    )
    hierarchy = structure_hierarchy(structure, panel.keys)
    values = np.asarray(hierarchy.S @ np.nan_to_num(panel.y))
    start = np.minimum.reduceat(panel.start[hierarchy.S.indices], hierarchy.S.indptr[:-1])
    n_nodes, n_t = values.shape
    keep = (np.arange(n_t)[None, :] >= start[:, None]).ravel()
    ids = hierarchy.nodes["unique_id"]
    y_df = pl.DataFrame(
        {
            "unique_id": ids.gather(np.repeat(np.arange(n_nodes), n_t)),
            "ds": np.tile(panel.dates.to_numpy(), n_nodes),
            "y": values.ravel(),
        }
    ).filter(pl.Series(keep))
    bottom_ids = ids.tail(hierarchy.n_bottom).to_list()
    dense = hierarchy.S.toarray()
    s_df = pl.DataFrame(dense, schema=bottom_ids, orient="row").insert_column(0, ids)
    level = hierarchy.nodes["level"].to_numpy()
    tags = {name: ids.to_numpy()[level == name] for name in hierarchy.levels}
    return y_df, s_df, tags
