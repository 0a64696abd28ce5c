"""Gap rules for dated circumstances: how a benefits extract applies on days no record covers.

A funding model folder may hold `circumstance_rules.yaml` beside its parameters. Each rule has
values keyed by the date they take effect, like a parameter's:

```yaml
# models/funding/baseline/circumstance_rules.yaml (excerpt)
values:
  income_grace_months: {2024-01-01: 0}     # a declaration stops applying the day after its period
  income_gap: {2024-01-01: unknown}        # then income is unknown: unknown_income_band
```

- `income_grace_months` (a whole number ≥ 0): months a declaration keeps applying after its period
  ends, read on the day after the period;
- `income_gap`: the income on a day no declaration (nor its grace) covers: `unknown` (priced with
  `unknown_income_band`) or `registry` (the registry's `income_ratio`);
- `disability_gap`: the group on a day no assessment covers: `registry` or `none`;
- `idp_gap`: the IDP status on a day no certificate covers: `not_idp` or `registry`.

The first value of a rule also holds before its date. A gap rule is read on each day it applies to (its changes cut segments like any parameter's).
The loader is strict: an unknown key, a bad date, an unknown rule value stops with file and line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from engine.errors import ConfigError
from engine.yamlio import YMap, YScalar, date_of, load_yaml, mapping_of

__all__ = [
    "DEFAULT_RULES",
    "RULES_FILE",
    "RULE_VALUES",
    "CircumstanceRules",
    "load_circumstance_rules",
]

RULES_FILE = "circumstance_rules.yaml"
RULE_VALUES: dict[str, tuple[str, ...] | None] = {  # None: a whole number of months
    "income_grace_months": None,
    "income_gap": ("unknown", "registry"),
    "disability_gap": ("registry", "none"),
    "idp_gap": ("not_idp", "registry"),
}
_SINCE_EVER = dt.date(1900, 1, 1)
DEFAULT_RULES: dict[str, str] = {
    "income_grace_months": "0",
    "income_gap": "unknown",
    "disability_gap": "registry",
    "idp_gap": "not_idp",
}
_KEYS = {"description", "unit", "reference", "reference_uk", "values"}


@dataclass(frozen=True, eq=False)
class CircumstanceRules:
    """The gap rules as an interval table: `rule`, `valid_from`, `valid_to` (null = open), `value`
    (text; months as digits)."""

    table: pl.DataFrame
    source: str = ""

    @classmethod
    def defaults(cls) -> CircumstanceRules:
        """The rules of a model without `circumstance_rules.yaml` (see `DEFAULT_RULES`)."""
        rows = [(rule, _SINCE_EVER, None, value) for rule, value in DEFAULT_RULES.items()]
        return cls(_table(rows))

    def timeline(self, rule: str) -> pl.DataFrame:
        """`valid_from`, `valid_to`, `value` of one rule, in date order."""
        return self.table.filter(pl.col("rule") == rule).drop("rule").sort("valid_from")

    def change_dates(self) -> list[dt.date]:
        """Every date a rule takes effect (after the first)."""
        return sorted({d for d in self.table["valid_from"].to_list() if d > _SINCE_EVER})


def _table(rows: Sequence[tuple[str, dt.date, dt.date | None, str]]) -> pl.DataFrame:
    schema = {"rule": pl.String, "valid_from": pl.Date, "valid_to": pl.Date, "value": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _value(rule: str, node: YScalar, path: Path) -> str:
    allowed = RULE_VALUES[rule]
    text = node.raw.strip()
    if allowed is None:
        if not text.isdigit() or int(text) > 120:
            raise ConfigError(
                f"{rule} must be a whole number of months (0-120), got '{text}'",
                path=path,
                line=node.line,
            )
        return str(int(text))
    if text not in allowed:
        raise ConfigError(
            f"{rule} must be one of {', '.join(allowed)}, got '{text}'", path=path, line=node.line
        )
    return text


def load_circumstance_rules(folder: str | Path) -> CircumstanceRules:
    """The gap rules of the funding model at `folder` (its defaults when it has no rules file).

    >>> rules = load_circumstance_rules("models/funding/baseline")
    >>> rules.timeline("income_gap")["value"].to_list()
    ['unknown']
    """
    path = Path(folder) / RULES_FILE
    if not path.is_file():
        return CircumstanceRules.defaults()
    root = mapping_of(load_yaml(path), path, _KEYS, "a rules file")
    values = root.get("values")
    if values is None:
        raise ConfigError("'values' is required", path=path, line=root.line)
    values = mapping_of(values, path, set(RULE_VALUES), "'values'")
    rows: list[tuple[str, dt.date, dt.date | None, str]] = []
    given = {key.raw: node for key, node in values.items}
    for rule in RULE_VALUES:
        node = given.get(rule)
        if node is None:  # a rule left out keeps its default
            rows.append((rule, _SINCE_EVER, None, DEFAULT_RULES[rule]))
            continue
        if not isinstance(node, YMap) or not node.items:
            raise ConfigError(f"{rule}: expected dates and values", path=path, line=node.line)
        dated: list[tuple[dt.date, str]] = []
        for key, item in node.items:
            if not isinstance(item, YScalar) or item.value is None:
                raise ConfigError(f"{rule}: a value is required", path=path, line=key.line)
            dated.append((date_of(key, path), _value(rule, item, path)))
        dated.sort()
        dated[0] = (_SINCE_EVER, dated[0][1])  # the first value also holds before its date
        for i, (start, text) in enumerate(dated):
            end = dated[i + 1][0] - dt.timedelta(days=1) if i + 1 < len(dated) else None
            rows.append((rule, start, end, text))
    return CircumstanceRules(_table(rows), str(path))
