"""A funding model's YAML files as DuckDB interval tables, for the benchmark's SQL (no engine code).

Each parameter file becomes `p_<name>(<dimensions...>, valid_from, valid_to, value)`: a value runs
from its date to the day before the next one (`valid_to` null = open); a `null` value ends the one
before it and makes no row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["PARAMETERS", "ROUND", "changes", "in_force", "load_model_tables", "model_rows"]

ROUND = repr(100.0 * (1.0 + 1e-11))  # kopiyky per UAH with the allowance of DESIGN §5's rounding

# the parameters of DESIGN §5 the SQL implements; a model's other files (e.g. the rules for a
# benefits extract's dated circumstances, which a registry extract alone never uses) are not read
PARAMETERS = (
    "tariff", "norm_units", "max_units", "modifier", "territory_coef", "territory_coef_cap",
    "copay_bands", "unknown_income_band", "monthly_cap",
)  # fmt: skip
_DIMENSION_TYPES = {"need_level": "BIGINT", "income_ratio_from": "DOUBLE"}  # others VARCHAR
_CAST = {"BIGINT": int, "DOUBLE": float, "VARCHAR": str}


def _dated(spans: dict) -> Iterator[tuple[dt.date, dt.date | None, float]]:
    ordered = sorted(spans.items())
    for i, (start, value) in enumerate(ordered):
        if value is None:
            continue
        end = ordered[i + 1][0] - dt.timedelta(days=1) if i + 1 < len(ordered) else None
        yield start, end, float(value)


def _rows(values: dict, depth: int) -> Iterator[tuple]:
    if depth == 0:
        yield from _dated(values)
        return
    for key, inner in values.items():
        for rest in _rows(inner, depth - 1):
            yield (key, *rest)


def model_rows(model: Path) -> dict[str, tuple[list[str], object, list[tuple]]]:
    """{parameter: (dimensions, default, rows)} from the model folder's files of `PARAMETERS`."""
    import yaml

    out = {}
    for path in sorted(model.glob("*.yaml")):
        if path.stem not in PARAMETERS:
            continue
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        dims = list(spec.get("dimensions") or [])
        out[path.stem] = (dims, spec.get("default"), list(_rows(spec["values"], len(dims))))
    return out


def load_model_tables(con: Any, model: Path) -> dict[str, Any]:
    """Create one DuckDB table per parameter; returns each parameter's default."""
    defaults = {}
    for name, (dims, default, rows) in model_rows(model).items():
        types = [_DIMENSION_TYPES.get(c, "VARCHAR") for c in dims]
        columns = [f"{c} {t}" for c, t in zip(dims, types, strict=True)]
        con.execute(
            f"CREATE TEMP TABLE p_{name} ({', '.join(columns)}{', ' if columns else ''}"
            "valid_from DATE, valid_to DATE, value DOUBLE)"
        )
        if rows:
            cast = [_CAST[t] for t in types]
            typed = [
                (*(f(v) for f, v in zip(cast, r, strict=False)), *r[len(dims) :]) for r in rows
            ]
            marks = ", ".join("?" * (len(dims) + 3))
            con.executemany(f"INSERT INTO p_{name} VALUES ({marks})", typed)
        defaults[name] = default
    return defaults


def changes(table: str, dims: str) -> str:
    """Every date a value of `table` starts or stops, with its dimension columns."""
    head = f"{dims}, " if dims else ""
    return (
        f"SELECT {head}valid_from AS d FROM {table} "
        f"UNION SELECT {head}valid_to + 1 FROM {table} WHERE valid_to IS NOT NULL"
    )


def in_force(alias: str, day: str) -> str:
    return (
        f"{alias}.valid_from <= {day} AND ({alias}.valid_to IS NULL OR {day} <= {alias}.valid_to)"
    )
