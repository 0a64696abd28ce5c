"""Scenarios: small YAML overlays on a funding model, and baseline-vs-scenario differences.

An overlay names the parameters it changes; it is applied by the same loader that reads the baseline
(`load_funding_model(path, scenario=...)`), producing a modified `FundingModel`:

```yaml
# models/scenarios/home-care-frontline-plus10.yaml
name: home-care-frontline-plus10
description: Home care tariff +10% in frontline hromadas from 2026-07-01
changes:
  - parameter: tariff               # a parameter of the model
    where: {service_code: "015.1"}  # dimension values it applies to (omit = all)
    from: 2026-07-01                # first day of the change
    until: 2027-06-30               # optional last day (inclusive); omit = open
    multiply: 1.10                  # or `set: 85.0` (exactly one of the two)
    territory: {status: frontline}  # optional: {status: ...} and/or {oblasts: [UA..., ...]}
```

A change without `territory` rewrites the parameter's interval table (intervals are split at `from`
and `until`). A change with `territory` applies only to segments whose serving hromada has that status
(on the segment's first day) or lies in one of the oblasts; it is allowed for tariff, norm_units,
max_units and modifier, and is applied after all table changes, in file order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import polars as pl

from engine.columns import MONEY
from engine.errors import ConfigError
from engine.intervals import value_at
from engine.params._model import (
    ADJUSTMENT_SCHEMA,
    PARAMETER_SPECS,
    FundingModel,
    Parameter,
    intervals_from_timeline,
)
from engine.schemas import DISABILITY_GROUPS, TERRITORY_STATUSES
from engine.yamlio import YMap, YNode, YScalar, YSeq, date_of, load_yaml, mapping_of

__all__ = ["TERRITORIAL_PARAMETERS", "Change", "ScenarioDiff", "apply_scenario", "scenario_diff"]

TERRITORIAL_PARAMETERS = ("tariff", "norm_units", "max_units", "modifier")
_SCENARIO_KEYS = {"name", "description", "reference", "changes"}
_CHANGE_KEYS = {"parameter", "where", "from", "until", "multiply", "set", "territory"}
_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Change:
    """One change of an overlay."""

    parameter: str
    where: dict[str, Any]
    valid_from: dt.date
    valid_to: dt.date | None
    op: str  # "multiply" or "set"
    value: float
    status: str | None = None
    oblasts: tuple[str, ...] | None = None
    line: int = 0


def _where(
    node: Any, spec_dims: tuple[str, ...], path: Path, services: pl.DataFrame | None
) -> dict[str, Any]:
    if node is None:
        return {}
    if not isinstance(node, YMap):
        raise ConfigError(
            "'where' must be a mapping of dimension values", path=path, line=node.line
        )
    domains: dict[str, list[Any]] = {
        "need_level": [1, 2, 3],
        "status": list(TERRITORY_STATUSES),
        "disability_group": list(DISABILITY_GROUPS),
    }
    if services is not None:
        domains["service_code"] = services["service_code"].to_list()
        domains["service_group"] = services["group"].unique().to_list()
    out: dict[str, Any] = {}
    for key, value in node.items:
        if key.raw not in spec_dims:
            raise ConfigError(
                f"'{key.raw}' is not a dimension of this parameter ({list(spec_dims)})",
                path=path,
                line=key.line,
            )
        if not isinstance(value, YScalar) or value.value is None:
            raise ConfigError(f"'{key.raw}' needs one value", path=path, line=key.line)
        parsed: Any = value.raw
        if key.raw == "need_level":
            parsed = value.value if isinstance(value.value, int) else None
        elif key.raw == "income_ratio_from":
            parsed = float(value.value) if isinstance(value.value, int | float) else None
        if parsed is None or (key.raw in domains and parsed not in domains[key.raw]):
            raise ConfigError(f"unknown {key.raw} '{value.raw}'", path=path, line=value.line)
        out[key.raw] = parsed
    return out


def _operation(node: YMap, path: Path, kind: str) -> tuple[str, float]:
    ops = [op for op in ("multiply", "set") if node.get(op) is not None]
    if len(ops) != 1:
        raise ConfigError(
            "a change needs exactly one of 'multiply' or 'set'", path=path, line=node.line
        )
    value_node = node.get(ops[0])
    if (
        not isinstance(value_node, YScalar)
        or isinstance(value_node.value, bool | str)
        or value_node.value is None
    ):
        raise ConfigError(f"'{ops[0]}' must be a number", path=path, line=(value_node or node).line)
    value = float(value_node.value)
    if not math.isfinite(value) or value < 0 or (ops[0] == "set" and kind == "share" and value > 1):
        raise ConfigError(
            f"'{ops[0]}' value {value_node.raw} is out of range", path=path, line=value_node.line
        )
    return ops[0], value


def _territory(
    territory: YNode | None, parameter: str, path: Path
) -> tuple[str | None, tuple[str, ...] | None]:
    if territory is None:
        return None, None
    if parameter not in TERRITORIAL_PARAMETERS:
        raise ConfigError(
            f"a territorial change is allowed only for {', '.join(TERRITORIAL_PARAMETERS)}",
            path=path,
            line=territory.line,
        )
    if not isinstance(territory, YMap) or not territory.items:
        raise ConfigError(
            "'territory' must map status and/or oblasts", path=path, line=territory.line
        )
    status, oblasts = None, None
    for key, item in territory.items:
        if key.raw == "status" and isinstance(item, YScalar) and item.raw in TERRITORY_STATUSES:
            status = item.raw
        elif key.raw == "oblasts" and isinstance(item, YSeq) and item.items:
            oblasts = tuple(i.raw for i in item.items if isinstance(i, YScalar))
        else:
            raise ConfigError(
                f"bad territory restriction '{key.raw}' (status: one of "
                f"{list(TERRITORY_STATUSES)}; oblasts: a list of codes)",
                path=path,
                line=key.line,
            )
    return status, oblasts


def _parse_change(node: YNode, path: Path, services: pl.DataFrame | None) -> Change:
    node = mapping_of(node, path, _CHANGE_KEYS, "each change")
    name_node = node.get("parameter")
    if not isinstance(name_node, YScalar) or name_node.raw not in PARAMETER_SPECS:
        raise ConfigError(
            f"'parameter' must be one of {', '.join(PARAMETER_SPECS)}",
            path=path,
            line=(name_node or node).line,
        )
    spec = PARAMETER_SPECS[name_node.raw]
    where = _where(node.get("where"), spec.dimensions, path, services)
    start_node = node.get("from")
    if start_node is None:
        raise ConfigError("'from' (first day of the change) is required", path=path, line=node.line)
    start = date_of(start_node, path, "from date")
    until_node = node.get("until")
    end = None
    if until_node is not None and not (
        isinstance(until_node, YScalar) and until_node.value is None
    ):
        end = date_of(until_node, path, "until date")
        if end < start:
            raise ConfigError("'until' is before 'from'", path=path, line=until_node.line)
    op, value = _operation(node, path, spec.kind)
    status, oblasts = _territory(node.get("territory"), name_node.raw, path)
    return Change(name_node.raw, where, start, end, op, value, status, oblasts, node.line)


def load_scenario(
    path: str | Path, services: pl.DataFrame | None = None
) -> tuple[str, str, list[Change], bytes]:
    """Parse an overlay strictly: (name, description, changes, file bytes)."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError("scenario file not found", path=file)
    root = mapping_of(load_yaml(file), file, _SCENARIO_KEYS, "a scenario")
    name, description = root.get("name"), root.get("description")
    if not isinstance(name, YScalar) or not name.raw:
        raise ConfigError("'name' is required", path=file, line=root.line)
    if not isinstance(description, YScalar):
        raise ConfigError("'description' is required", path=file, line=root.line)
    changes = root.get("changes")
    if not isinstance(changes, YSeq):
        raise ConfigError("'changes' must be a list", path=file, line=(changes or root).line)
    parsed = [_parse_change(item, file, services) for item in changes.items]
    return name.raw, description.raw, parsed, file.read_bytes()


def _rewrite(table: pl.DataFrame, dims: tuple[str, ...], change: Change) -> pl.DataFrame:
    """Apply one non-territorial change to an interval table (a handful of rows)."""
    rows = table.to_dicts()

    def matches(row: dict[str, Any]) -> bool:
        return all(row[d] == v for d, v in change.where.items())

    keys = {tuple(r[d] for d in dims) for r in rows if matches(r)}
    if change.op == "set" and set(change.where) == set(dims):
        keys.add(tuple(change.where[d] for d in dims))
    kept = [r for r in rows if tuple(r[d] for d in dims) not in keys]
    window_end = change.valid_to + _DAY if change.valid_to else None
    for key in sorted(keys, key=str):
        own = [r for r in rows if tuple(r[d] for d in dims) == key]
        cuts = {change.valid_from} | ({window_end} if window_end else set())
        for r in own:
            cuts.add(r["valid_from"])
            if r["valid_to"] is not None:
                cuts.add(r["valid_to"] + _DAY)
        timeline: list[tuple[dt.date, float | None]] = []
        ordered = sorted(cuts)
        in_force = value_at(
            pl.DataFrame({"date": ordered}), pl.DataFrame(own, schema=table.schema), []
        )
        for cut, base in zip(ordered, in_force.to_list(), strict=True):
            inside = cut >= change.valid_from and (window_end is None or cut < window_end)
            value = base
            if inside:
                value = (
                    change.value
                    if change.op == "set"
                    else (None if base is None else base * change.value)
                )
            if not timeline or timeline[-1][1] != value:
                timeline.append((cut, value))
        for start, end, value in intervals_from_timeline(timeline):
            kept.append(
                {
                    **dict(zip(dims, key, strict=True)),
                    "valid_from": start,
                    "valid_to": end,
                    "value": value,
                }
            )
    return pl.DataFrame(kept, schema=table.schema).sort([*dims, "valid_from"])


def apply_scenario(
    model: FundingModel, path: str | Path, *, services: pl.DataFrame | None = None
) -> FundingModel:
    """The model with the overlay at `path` applied; version becomes `<version>+<scenario name>`."""
    name, _, changes, raw = load_scenario(path, services)
    parameters = dict(model.parameters)
    adjustments = [model.adjustments]
    for change in changes:
        param: Parameter = (
            model.parameter(change.parameter)
            if change.parameter not in parameters
            else parameters[change.parameter]
        )
        if change.status is None and change.oblasts is None:
            parameters[change.parameter] = replace(
                param, intervals=_rewrite(param.intervals, param.dimensions, change)
            )
            continue
        row = {c: None for c in ADJUSTMENT_SCHEMA} | change.where
        row |= {
            "parameter": change.parameter,
            "status": change.status,
            "oblast_codes": list(change.oblasts) if change.oblasts else None,
            "valid_from": change.valid_from,
            "valid_to": change.valid_to,
            "op": change.op,
            "value": change.value,
        }
        adjustments.append(pl.DataFrame([row], schema=ADJUSTMENT_SCHEMA))
    digest = hashlib.sha256(model.content_hash.encode() + b"\0" + raw).hexdigest()
    return replace(
        model,
        version=f"{model.version}+{name}",
        content_hash=digest,
        parameters=MappingProxyType(parameters),
        adjustments=pl.concat(adjustments),
        scenario=name,
    )


@dataclass(frozen=True, eq=False)
class ScenarioDiff:
    """Baseline vs scenario: per case-month, per case (winners and losers) and per territory."""

    case_months: pl.DataFrame
    cases: pl.DataFrame
    territories: pl.DataFrame

    def summary(self) -> dict[str, float]:
        cases = self.cases
        return {
            "diff_gross_uah": round(float(self.case_months["diff_gross_uah"].sum()), 2),
            "diff_state_uah": round(float(self.case_months["diff_state_uah"].sum()), 2),
            "winners": int((cases["outcome"] == "winner").sum()),
            "losers": int((cases["outcome"] == "loser").sum()),
            "unchanged": int((cases["outcome"] == "unchanged").sum()),
        }


_AMOUNTS = ("gross_uah", "copay_uah", "state_uah")
_DESCRIBED = (
    *("recipient_id", "service_code", "hromada_code", "oblast_code"),
    *("age", "is_idp", "disability_group", "ownership"),
)


def _compare(baseline: pl.DataFrame, scenario: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    left = baseline.select(*keys, *(pl.col(a).alias(f"baseline_{a}") for a in _AMOUNTS))
    right = scenario.select(*keys, *(pl.col(a).alias(f"scenario_{a}") for a in _AMOUNTS))
    joined = left.join(right, on=keys, how="full", coalesce=True, nulls_equal=True)
    # amounts are exact decimals (engine.columns): differences are exact, kept as Decimal(18, 2)
    return joined.with_columns(
        pl.col(f"{s}_{a}").fill_null(0).cast(MONEY)
        for s in ("baseline", "scenario")
        for a in _AMOUNTS
    ).with_columns(
        (pl.col(f"scenario_{a}") - pl.col(f"baseline_{a}")).cast(MONEY).alias(f"diff_{a}")
        for a in _AMOUNTS
    )


def scenario_diff(baseline: Any, scenario: Any) -> ScenarioDiff:
    """Differences between two `Entitlements` of the same registry and months (scenario − baseline).

    A case is a *winner* when its state-paid amount over the period rises by at least a kopiyka, a
    *loser* when it falls, else unchanged. `cases` keeps who the case is as of its last month
    (recipient, service, serving hromada and oblast, age, IDP status, disability group, provider
    ownership), for `engine.scenario_groups.winners_losers`.

    >>> import engine
    >>> registry = engine.read_registry("data_samples/registry")
    >>> baseline = engine.load_funding_model("models/funding/baseline")
    >>> reform = engine.load_funding_model(
    ...     "models/funding/baseline", "models/scenarios/home-care-frontline-plus10.yaml"
    ... )
    >>> months = ("2026-07", "2026-07")
    >>> diff = scenario_diff(
    ...     engine.compute_entitlements(registry, baseline, months=months),
    ...     engine.compute_entitlements(registry, reform, months=months),
    ... )
    >>> diff.summary()["winners"], diff.summary()["losers"]
    (25, 0)
    """
    keys = ["case_id", "month", "funded"]
    # who the case is: kept per case (its last month) for winners and losers by group
    present = set(baseline.case_months.columns) & set(scenario.case_months.columns)
    described = [c for c in _DESCRIBED if c in present]
    attributes = pl.concat(
        [e.case_months.select(*keys, *described) for e in (scenario, baseline)]
    ).unique(keys, keep="last")
    case_months = (
        _compare(baseline.case_months, scenario.case_months, keys)
        .join(attributes, on=keys, how="left")
        .sort(keys)
    )
    cases = (
        case_months.group_by("case_id")
        .agg(
            pl.col(described).sort_by("month").last(),
            *(
                pl.col(f"{s}_{a}").sum().cast(MONEY)
                for s in ("baseline", "scenario", "diff")
                for a in _AMOUNTS
            ),
        )
        .with_columns(
            outcome=pl.when(pl.col("diff_state_uah") >= 0.01)
            .then(pl.lit("winner"))
            .when(pl.col("diff_state_uah") <= -0.01)
            .then(pl.lit("loser"))
            .otherwise(pl.lit("unchanged"))
        )
        .sort("diff_state_uah", "case_id")
    )
    grain = ["level", "territory_code", "funded"]
    territories = _compare(
        baseline.rollups.group_by(grain).agg(pl.col(a).sum() for a in _AMOUNTS),
        scenario.rollups.group_by(grain).agg(pl.col(a).sum() for a in _AMOUNTS),
        grain,
    ).sort(grain, nulls_last=True)
    return ScenarioDiff(case_months=case_months, cases=cases, territories=territories)
