"""Funding models as dated data: strict loading of a model folder into interval tables.

A model folder holds `model.yaml` (name, version, description) and one YAML file per parameter, e.g.

```yaml
# tariff.yaml
description: Tariff per unit of a social service
unit: UAH per unit
reference: Order of the Ministry of Social Policy No. 1186 of 07.12.2015
reference_uk: Наказ Міністерства соціальної політики № 1186 від 07.12.2015   # optional
dimensions: [service_code]
values:
  "015.1":
    2024-01-01: 70.00
    2025-03-10: 78.00     # takes effect mid-month
```

Every parameter becomes an interval table: its dimension columns, `valid_from`, `valid_to` (inclusive,
null = open) and `value`. A `null` value ends the previous one; days with no value in force are days
the parameter does not apply (see DESIGN.md §5 and `engine.entitlements` for what that means).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import polars as pl

from engine.errors import ConfigError
from engine.params._circumstances import RULES_FILE, CircumstanceRules, load_circumstance_rules
from engine.params._decided import DECIDED, decided_value, file_decided, known_as_of
from engine.schemas import DISABILITY_GROUPS, TERRITORY_STATUSES
from engine.yamlio import YMap, YNode, YScalar, YSeq, date_of, load_yaml, mapping_of

__all__ = [
    "ADJUSTMENT_SCHEMA",
    "DIMENSION_DTYPES",
    "PARAMETER_SPECS",
    "FundingModel",
    "Parameter",
    "ParameterSpec",
    "intervals_from_timeline",
    "read_funding_model",
]

NEED_LEVELS = (1, 2, 3)
_SERVICE_CODE = re.compile(r"^\d{3}(\.\d+)?$")

DIMENSION_DTYPES: dict[str, pl.DataType] = {
    "service_code": pl.String(),
    "need_level": pl.Int64(),
    "status": pl.String(),
    "disability_group": pl.String(),
    "service_group": pl.String(),
    "income_ratio_from": pl.Float64(),
}


@dataclass(frozen=True)
class ParameterSpec:
    """What a parameter file must look like.

    `coverage` names the dimension values that must all be present unless the file gives a
    `default`: "services" (every catalogue service), "priced_services" (every service whose unit is
    not "month", crossed with need levels), "all" (every value of every dimension), or "none".
    """

    dimensions: tuple[str, ...]
    required: bool = True
    coverage: str = "all"
    kind: str = "amount"  # "amount": ≥ 0; "share": in [0, 1]; "coef": > 0 (see `_number`)


PARAMETER_SPECS: dict[str, ParameterSpec] = {
    "tariff": ParameterSpec(("service_code",), coverage="services"),
    "norm_units": ParameterSpec(("service_code", "need_level"), coverage="priced_services"),
    "max_units": ParameterSpec(("service_code", "need_level"), coverage="priced_services"),
    "territory_coef": ParameterSpec(("status",), kind="coef"),
    "territory_coef_cap": ParameterSpec((), kind="coef"),
    "modifier": ParameterSpec(("disability_group", "service_group"), kind="coef"),
    "monthly_cap": ParameterSpec(("service_code",), required=False, coverage="none"),
    "copay_bands": ParameterSpec(("income_ratio_from",), coverage="none", kind="share"),
    "unknown_income_band": ParameterSpec((), kind="share"),
}

# Scenario overlays restricted to a territory cannot be folded into the interval tables (which are not
# keyed by territory); they travel with the model as rows applied segment by segment.
ADJUSTMENT_SCHEMA: dict[str, pl.DataType] = {
    "parameter": pl.String(),
    "service_code": pl.String(),
    "need_level": pl.Int64(),
    "disability_group": pl.String(),
    "service_group": pl.String(),
    "status": pl.String(),
    "oblast_codes": pl.List(pl.String()),
    "valid_from": pl.Date(),
    "valid_to": pl.Date(),
    "op": pl.String(),  # "multiply" or "set"
    "value": pl.Float64(),
}

# Plausibility bounds: a finite value beyond them is a typo (or `1e308`), and would overflow to
# infinity once multiplied by units, days and coefficients. No tariff, norm or cap reaches a
# billion (UAH or units per month); no coefficient multiplies a price a hundredfold.
MAX_AMOUNT = 1e9
MAX_COEF = 100.0
# Occupied territory is financed with a coefficient of 0 on purpose (DESIGN.md §5); anywhere else
# a zero coefficient or modifier silently wipes out every amount it touches.
_ZERO_COEF_ALLOWED = {("territory_coef", "occupied")}

_PARAM_KEYS = {
    "description", "unit", "reference", "reference_uk", "dimensions", "values", "default", DECIDED,
}  # fmt: skip
_MODEL_KEYS = {"name", "version", "description"}


@dataclass(frozen=True, eq=False)
class Parameter:
    """One dated parameter: its documentation and its values as an interval table."""

    name: str
    description: str
    unit: str
    reference: str | None
    dimensions: tuple[str, ...]
    default: float | None
    intervals: pl.DataFrame
    source: str
    reference_uk: str | None = None  # the legal reference in Ukrainian, where the file gives it

    def change_dates(self) -> list[dt.date]:
        """Every date on which some value of this parameter starts or stops."""
        starts = self.intervals["valid_from"].to_list()
        ends = [d + dt.timedelta(days=1) for d in self.intervals["valid_to"].drop_nulls().to_list()]
        return sorted(set(starts) | set(ends))


@dataclass(frozen=True, eq=False)
class FundingModel:
    """A loaded funding model (optionally with a scenario applied).

    >>> model = load_funding_model("models/funding/baseline")  # doctest: +SKIP
    >>> model.table("tariff").filter(pl.col("service_code") == "015.1")  # doctest: +SKIP
    """

    name: str
    version: str
    description: str
    content_hash: str
    parameters: Mapping[str, Parameter]
    adjustments: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=ADJUSTMENT_SCHEMA)
    )
    scenario: str | None = None
    # gap rules for dated circumstances from a benefits extract (`circumstance_rules.yaml`)
    circumstance_rules: CircumstanceRules = field(default_factory=CircumstanceRules.defaults)
    as_of: dt.date | None = None  # read as of this date of decision (see `_decided`)

    def table(self, name: str) -> pl.DataFrame:
        """The interval table of a parameter: dimensions, valid_from, valid_to (null = open), value."""
        return self.parameter(name).intervals

    def parameter(self, name: str) -> Parameter:
        if name not in PARAMETER_SPECS:
            raise KeyError(f"unknown parameter {name!r}")
        param = self.parameters.get(name)
        if param is None:  # an optional parameter left out of the folder: no values at all
            spec = PARAMETER_SPECS[name]
            return Parameter(name, "", "", None, spec.dimensions, None, _empty(spec), "")
        return param

    def default(self, name: str) -> float | None:
        return self.parameter(name).default

    def describe(self) -> pl.DataFrame:
        """One row per parameter: what it is, its unit, its legal basis and how many values it has."""
        rows = [
            {
                "parameter": p.name,
                "description": p.description,
                "unit": p.unit,
                "reference": p.reference,
                "dimensions": ", ".join(p.dimensions),
                "values": p.intervals.height,
                "default": p.default,
            }
            for p in self.parameters.values()
        ]
        return pl.DataFrame(rows)


def _empty(spec: ParameterSpec) -> pl.DataFrame:
    schema = {d: DIMENSION_DTYPES[d] for d in spec.dimensions}
    schema |= {"valid_from": pl.Date(), "valid_to": pl.Date(), "value": pl.Float64()}
    return pl.DataFrame(schema=schema)


def intervals_from_timeline(
    timeline: list[tuple[dt.date, float | None]],
) -> list[tuple[dt.date, dt.date | None, float]]:
    """Turn dated values (date it takes effect, value or None = ends) into inclusive intervals."""
    ordered = sorted(timeline, key=lambda item: item[0])
    out: list[tuple[dt.date, dt.date | None, float]] = []
    for i, (start, value) in enumerate(ordered):
        if value is None:
            continue
        end = ordered[i + 1][0] - dt.timedelta(days=1) if i + 1 < len(ordered) else None
        out.append((start, end, float(value)))
    return out


def _fail(message: str, path: Path, node: YNode | None) -> ConfigError:
    return ConfigError(message, path=path, line=node.line if node is not None else None)


def _text(
    node: YNode | None, path: Path, key: str, *, optional: bool = False, parent: YNode | None = None
) -> str | None:
    """A text value; a missing one points at `parent` (the mapping that should hold it)."""
    if node is None or (isinstance(node, YScalar) and node.value is None):
        if optional:
            return None
        raise _fail(f"'{key}' is required", path, node or parent)
    if not isinstance(node, YScalar) or isinstance(node.value, bool):
        raise _fail(f"'{key}' must be text", path, node)
    return node.raw


def _number(
    node: YNode, path: Path, what: str, kind: str, *, zero_ok: bool = False
) -> float | None:
    """A parameter value: finite, non-negative, and within its kind's range (or null = ends)."""
    if isinstance(node, YScalar) and node.value is None:
        return None
    if not isinstance(node, YScalar) or isinstance(node.value, bool | str):
        shown = node.raw if isinstance(node, YScalar) else type(node).__name__
        raise _fail(f"wrong type for {what}: expected a number or null, got '{shown}'", path, node)
    value = float(node.value)
    if not math.isfinite(value):
        raise _fail(f"{what} must be a finite number, got {node.raw}", path, node)
    if value < 0:
        raise _fail(f"{what} must be a non-negative number, got {node.raw}", path, node)
    if kind == "share" and value > 1:
        raise _fail(f"{what} is a share and must be between 0 and 1, got {node.raw}", path, node)
    if kind == "coef" and value == 0 and not zero_ok:
        raise _fail(
            f"{what} is a coefficient and must be greater than 0, got {node.raw}", path, node
        )
    if kind == "coef" and value > MAX_COEF:
        raise _fail(f"{what} is a coefficient above {MAX_COEF:g}, got {node.raw}", path, node)
    if kind == "amount" and value > MAX_AMOUNT:
        raise _fail(
            f"{what} is implausibly large (over {MAX_AMOUNT:,.0f}), got {node.raw}", path, node
        )
    return value


def _dimension_value(key: YScalar, dim: str, path: Path) -> Any:
    raw = key.raw
    looks_like_date = bool(re.match(r"^\d{4}-\d{2}-\d{2}$", raw))
    hint = (
        f" (a date where a {dim} was expected: missing dimension value?)" if looks_like_date else ""
    )
    if dim == "need_level":
        if not re.fullmatch(r"\d+", raw):
            raise _fail(f"bad need_level '{raw}'{hint}", path, key)
        return int(raw)
    if dim == "income_ratio_from":
        try:
            value = float(raw)
        except ValueError:
            raise _fail(f"bad income_ratio_from '{raw}'{hint}", path, key) from None
        if not math.isfinite(value) or value > MAX_COEF:
            raise _fail(f"income_ratio_from must be a finite ratio, got {raw}", path, key)
        if value < 0:
            raise _fail(f"income_ratio_from must be ≥ 0, got {raw}", path, key)
        return value
    if dim == "service_code" and not _SERVICE_CODE.match(raw):
        raise _fail(f"bad service_code '{raw}'{hint}", path, key)
    if looks_like_date:
        raise _fail(f"bad {dim} '{raw}'{hint}", path, key)
    return raw


def _walk_values(
    node: YNode,
    dims: tuple[str, ...],
    path: Path,
    kind: str,
    *,
    name: str = "",
    prefix: tuple[Any, ...] = (),
    anchor: YNode | None = None,
    as_of: tuple[dt.date | None, dt.date | None] = (None, None),  # (as of, the file's decided)
) -> list[tuple[tuple[Any, ...], YNode, list[tuple[dt.date, float | None]]]]:
    """Collect (dimension values, node to point at, dated values) for every leaf of `values`."""
    depth = len(prefix)
    if depth < len(dims):
        if not isinstance(node, YMap):
            raise _fail(
                f"missing dimension value: expected values keyed by {dims[depth]}", path, node
            )
        leaves = []
        for key, child in node.items:
            value = _dimension_value(key, dims[depth], path)
            leaves += _walk_values(
                child, dims, path, kind, name=name, prefix=(*prefix, value), anchor=key, as_of=as_of
            )
        return leaves
    if not isinstance(node, YMap) or not node.items:
        what = "values" if not prefix else "/".join(map(str, prefix))
        raise _fail(f"{what}: expected values keyed by the date they take effect", path, node)
    timeline = []
    zero_ok = any((name, v) in _ZERO_COEF_ALLOWED for v in prefix)
    for key, written in node.items:
        date = date_of(key, path)
        child, decided = decided_value(written, path)
        number = _number(child, path, f"value on {date}", kind, zero_ok=zero_ok)
        if known_as_of(date, decided, as_of[1], as_of[0]):
            timeline.append((date, number))
    return [(prefix, anchor or node, timeline)] if timeline else []  # none decided by then


def _load_parameter(
    path: Path, name: str, spec: ParameterSpec, services: pl.DataFrame, as_of: dt.date | None = None
) -> Parameter:
    root = mapping_of(load_yaml(path), path, _PARAM_KEYS, "a parameter file")
    description = _text(root.get("description"), path, "description", parent=root)
    unit = _text(root.get("unit"), path, "unit", parent=root)
    reference = _text(root.get("reference"), path, "reference", optional=True, parent=root)
    reference_uk = _text(root.get("reference_uk"), path, "reference_uk", optional=True, parent=root)
    dims_node = root.get("dimensions")
    if not isinstance(dims_node, YSeq) or not all(isinstance(i, YScalar) for i in dims_node.items):
        raise _fail("'dimensions' must be a list (use [] for none)", path, dims_node or root)
    dims = tuple(item.raw for item in dims_node.items if isinstance(item, YScalar))
    if dims != spec.dimensions:
        raise _fail(
            f"dimensions of {name} must be {list(spec.dimensions)}, got {list(dims)}",
            path,
            dims_node,
        )
    default_node = root.get("default")
    default = _number(default_node, path, "default", spec.kind) if default_node else None
    values_node = root.get("values")
    if values_node is None:
        raise _fail("'values' is required", path, root)
    decided = (as_of, file_decided(root, path))
    leaves = _walk_values(values_node, dims, path, spec.kind, name=name, as_of=decided)
    values_key = next(key for key, _ in root.items if key.raw == "values")
    if name == "copay_bands" and not any(key == (0.0,) for key, _, _ in leaves):
        raise _fail("copay_bands needs a band starting at income_ratio_from 0", path, values_key)
    _check_coverage(
        leaves=leaves,
        dims=dims,
        default=default,
        spec=spec,
        services=services,
        path=path,
        values_node=values_key,
    )
    rows: dict[str, list[Any]] = {d: [] for d in dims} | {
        "valid_from": [],
        "valid_to": [],
        "value": [],
    }
    for key, _, timeline in leaves:
        for start, end, value in intervals_from_timeline(timeline):
            for dim, dim_value in zip(dims, key, strict=True):
                rows[dim].append(dim_value)
            rows["valid_from"].append(start)
            rows["valid_to"].append(end)
            rows["value"].append(value)
    schema = _empty(spec).schema
    return Parameter(
        name=name,
        description=description or "",
        unit=unit or "",
        reference=reference,
        dimensions=dims,
        default=default,
        intervals=pl.DataFrame(rows, schema=schema),
        source=str(path),
        reference_uk=reference_uk,
    )


def _domains(services: pl.DataFrame) -> dict[str, list[Any]]:
    return {
        "service_code": services["service_code"].to_list(),
        "need_level": list(NEED_LEVELS),
        "status": list(TERRITORY_STATUSES),
        "disability_group": list(DISABILITY_GROUPS),
        "service_group": sorted(set(services["group"].to_list())),
    }


def _check_coverage(
    *,
    leaves: list[tuple[tuple[Any, ...], YNode, list[tuple[dt.date, float | None]]]],
    dims: tuple[str, ...],
    default: float | None,
    spec: ParameterSpec,
    services: pl.DataFrame,
    path: Path,
    values_node: YNode,
) -> None:
    """Unknown dimension values are errors; so is a missing one where the spec needs them all."""
    domains = _domains(services)
    present: set[tuple[Any, ...]] = set()
    for key, line_node, _ in leaves:
        for dim, value in zip(dims, key, strict=True):
            if dim in domains and value not in domains[dim]:
                raise _fail(f"unknown {dim} '{value}' (not in the catalogue)", path, line_node)
        present.add(key)
    if spec.coverage == "none" or default is not None:
        return
    names = dict(zip(services["service_code"], services["name_en"], strict=True))
    units = dict(zip(services["service_code"], services["unit"], strict=True))
    needed: list[tuple[Any, ...]]
    if spec.coverage in ("services", "priced_services"):
        codes = [
            c for c in domains["service_code"] if spec.coverage == "services" or units[c] != "month"
        ]
        levels = NEED_LEVELS if "need_level" in dims else (None,)
        needed = [(c,) if lvl is None else (c, lvl) for c in codes for lvl in levels]
    else:
        needed = [()]
        for dim in dims:
            needed = [(*k, v) for k in needed for v in domains[dim]]
    for key in needed:
        if key not in present:
            service = f" ({names[key[0]]})" if key and key[0] in names else ""
            shown = ", ".join(f"{d}={v}" for d, v in zip(dims, key, strict=True))
            raise _fail(f"no value for {shown}{service}", path, values_node)


def _read_model_yaml(folder: Path) -> tuple[str, str, str]:
    path = folder / "model.yaml"
    if not path.is_file():
        raise ConfigError("model.yaml is missing (name, version, description)", path=folder)
    root = mapping_of(load_yaml(path), path, _MODEL_KEYS, "model.yaml")
    name = _text(root.get("name"), path, "name", parent=root)
    version = _text(root.get("version"), path, "version", parent=root)
    description = _text(root.get("description"), path, "description", parent=root)
    return name or "", version or "", description or ""


def read_funding_model(
    path: str | Path, catalogue: pl.DataFrame, *, as_of: dt.date | None = None
) -> FundingModel:
    """Load a funding model folder strictly (no scenario): every service-keyed parameter must cover
    `catalogue`; any problem raises `ConfigError` naming the file and line. `as_of` ignores values
    decided after that date (see `engine.params._decided`)."""
    folder = Path(path)
    if not folder.is_dir():
        raise ConfigError("funding model folder not found", path=folder)
    name, version, description = _read_model_yaml(folder)
    digest = hashlib.sha256()
    parameters: dict[str, Parameter] = {}
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
        if file.name in ("model.yaml", RULES_FILE):  # the rules file has its own loader
            continue
        if file.stem not in PARAMETER_SPECS:
            raise ConfigError(
                f"unknown parameter file (known: {', '.join(PARAMETER_SPECS)})", path=file, line=1
            )
        if file.stem in parameters:
            raise ConfigError(f"parameter '{file.stem}' is defined twice", path=file, line=1)
        spec = PARAMETER_SPECS[file.stem]
        parameters[file.stem] = _load_parameter(file, file.stem, spec, catalogue, as_of)
    for pname, spec in PARAMETER_SPECS.items():
        if spec.required and pname not in parameters:
            raise ConfigError(f"parameter file {pname}.yaml is missing", path=folder)
    if as_of is not None:  # the same files read as of another date are another model
        digest.update(f"as_of {as_of.isoformat()}".encode())
    model = FundingModel(
        name=name,
        version=version,
        description=description,
        content_hash=digest.hexdigest(),
        as_of=as_of,
        parameters=MappingProxyType(parameters),
        circumstance_rules=load_circumstance_rules(folder),
    )
    return model
