"""The mapping of budget programme codes to the engine's services: dated YAML, loaded strictly.

`models/programmes/<name>.yaml` names, for every programme code a budget-execution report carries,
the service it pays for, keyed by the date the meaning takes effect (`null` ends it), and the unit
the report's amounts are in unless the file states its own (`UAH` or `thousand UAH`). A mistake (an
unknown key, a bad date, a service not in the catalogue, an unknown unit) is a `ConfigError` naming
the file and line.

    >>> programmes = load_programmes("models/programmes/social-services.yaml")
    >>> programmes.unit, programmes.table.filter(pl.col("service_code") == "015.1")["code"].item()
    ('thousand UAH', '0813104.03')
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from engine.errors import ConfigError
from engine.yamlio import YMap, YScalar, date_of, load_yaml, mapping_of

__all__ = ["UNITS", "Programmes", "load_programmes", "unit_factor"]

# the words a report or the mapping may use for its amounts' unit -> UAH per unit of the amount
UNITS: dict[str, int] = {
    "uah": 1,
    "грн": 1,
    "грн.": 1,
    "гривень": 1,
    "thousand uah": 1000,
    "thousand_uah": 1000,
    "тис. грн": 1000,
    "тис.грн": 1000,
    "тис. грн.": 1000,
    "тис грн": 1000,
    "тисяч гривень": 1000,
}
_TOP = {"description", "unit", "reference", "codes"}
_CODE = {"name", "service_code"}
_SCHEMA = {
    "code": pl.String(),
    "name": pl.String(),
    "service_code": pl.String(),
    "valid_from": pl.Date(),
    "valid_to": pl.Date(),
    "line": pl.Int64(),
}


@dataclass(frozen=True)
class Programmes:
    """A loaded mapping: `table` is an interval table (`code`, `name`, `service_code`,
    `valid_from`, `valid_to` inclusive or null, `line`); `unit` the default unit of amounts."""

    path: Path
    unit: str
    table: pl.DataFrame

    @property
    def factor(self) -> int:
        """UAH per unit of the default unit (1 or 1000)."""
        return UNITS[self.unit.lower()]


def unit_factor(text: str) -> int | None:
    """UAH per unit of a unit's name as reports write it, None for an unknown one.

    >>> unit_factor("тис. грн"), unit_factor("UAH"), unit_factor("USD")
    (1000, 1, None)
    """
    return UNITS.get(" ".join(text.strip().lower().split()))


def load_programmes(path: str | Path, *, services: pl.DataFrame | None = None) -> Programmes:
    """Read the mapping at `path`; every service must be in `services` (default: the bundled
    catalogue)."""
    path = Path(path)
    root = mapping_of(load_yaml(path, what="programme mapping"), path, _TOP, "the mapping")
    entries = dict((k.raw, v) for k, v in root.items)
    for key in ("unit", "codes"):
        if key not in entries:
            raise ConfigError(f"missing key '{key}'", path=path, line=root.line)
    unit_node = entries["unit"]
    if not isinstance(unit_node, YScalar) or unit_factor(str(unit_node.value)) is None:
        shown = unit_node.raw if isinstance(unit_node, YScalar) else type(unit_node).__name__
        raise ConfigError(
            f"unit: unknown unit {shown!r}; expected UAH or thousand UAH (грн, тис. грн)",
            path=path,
            line=unit_node.line,
        )
    if services is None:
        from engine.reference import load_services

        services = load_services()
    known = set(services["service_code"].to_list())
    codes = mapping_of(entries["codes"], path, _any_key(entries["codes"]), "codes")
    rows: list[dict[str, object]] = []
    for code_node, body in codes.items:
        rows.extend(_code_rows(code_node, body, path, known))
    if not rows:
        raise ConfigError("codes: the mapping names no programme code", path=path, line=codes.line)
    return Programmes(path, str(unit_node.value), pl.DataFrame(rows, schema=_SCHEMA))


def _any_key(node: object) -> set[str]:
    return {k.raw for k, _ in node.items} if isinstance(node, YMap) else set()


def _code_rows(
    code_node: YScalar, body: object, path: Path, known: set[str]
) -> list[dict[str, object]]:
    code = code_node.raw.strip()
    if not code:
        raise ConfigError("codes: an empty programme code", path=path, line=code_node.line)
    mapping = mapping_of(body, path, _CODE, f"code {code}")  # type: ignore[arg-type]
    fields = dict((k.raw, v) for k, v in mapping.items)
    if "service_code" not in fields:
        raise ConfigError(f"code {code}: missing 'service_code'", path=path, line=mapping.line)
    name_node = fields.get("name")
    name = str(name_node.value) if isinstance(name_node, YScalar) else None
    dated = fields["service_code"]
    if not isinstance(dated, YMap) or not dated.items:
        raise ConfigError(
            f"code {code}: service_code must map dates to service codes",
            path=path,
            line=dated.line,
        )
    steps: list[tuple[dt.date, str | None, int]] = []
    for date_node, value in dated.items:
        when = date_of(date_node, path, "date")
        if steps and when <= steps[-1][0]:
            raise ConfigError(
                f"code {code}: dates must increase ({when} after {steps[-1][0]})",
                path=path,
                line=date_node.line,
            )
        if not isinstance(value, YScalar):
            raise ConfigError(f"code {code}: expected a service code", path=path, line=value.line)
        service = None if value.value is None else str(value.raw).strip()
        if service is not None and service not in known:
            raise ConfigError(
                f"code {code}: service {service!r} is not in the services catalogue",
                path=path,
                line=value.line,
            )
        steps.append((when, service, value.line))
    rows: list[dict[str, object]] = []
    for i, (when, service, line) in enumerate(steps):
        if service is None:
            continue
        until = steps[i + 1][0] - dt.timedelta(days=1) if i + 1 < len(steps) else None
        rows.append(
            {
                "code": code,
                "name": name,
                "service_code": service,
                "valid_from": when,
                "valid_to": until,
                "line": line,
            }
        )
    return rows
