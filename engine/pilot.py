"""Pilot monitoring: pilot hromadas against comparable ones, before and after, with a
difference-in-differences estimate per indicator.

A pilot (`load_pilot`: a small YAML file) names a programme's hromadas and the day it started:

```yaml
name: social-support-modernisation
start: 2026-05-01
hromadas: [UA05020030000031457, ...]
comparison: same-oblasts   # or: all (every other hromada with cases)
```

`pilot_panel` measures each hromada every month (coverage, waiting cases, average months waited,
money per served case-month, non-state share, IDP share) from the need indicators and the
case-months; `pilot_series` averages them per group (pilot / comparison) and month, for a chart;
`pilot_effects` estimates, per indicator, the difference in differences — (pilot after − pilot
before) − (comparison after − comparison before) — on each hromada's own before/after change, so
months of one hromada are not counted as independent; its 95 % interval is Welch's over the two
groups' changes (normal quantile). A hromada that has no value before or after is left out of that
indicator.

>>> import datetime as dt, polars as pl
>>> panel = pl.DataFrame({
...     "hromada_code": ["p1", "p1", "p2", "p2", "c1", "c1", "c2", "c2"],
...     "group": ["pilot"] * 4 + ["comparison"] * 4,
...     "month": [dt.date(2026, 1, 1), dt.date(2026, 6, 1)] * 4,
...     "coverage": [0.80, 0.95, 0.70, 0.90, 0.80, 0.85, 0.75, 0.75],
... })
>>> effect = pilot_effects(panel, dt.date(2026, 5, 1), indicators=("coverage",)).row(0, named=True)
>>> round(effect["did"], 3), effect["pilot_hromadas"], effect["comparison_hromadas"]
(0.15, 2, 2)
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from engine.errors import ConfigError
from engine.yamlio import YScalar, YSeq, date_of, load_yaml, mapping_of

__all__ = [
    "PILOT_INDICATORS",
    "Pilot",
    "load_pilot",
    "pilot_effects",
    "pilot_panel",
    "pilot_series",
]

PILOT_INDICATORS = (
    "coverage",
    "waiting_cases",
    "months_waited",
    "uah_per_case_month",
    "nonstate_share",
    "idp_share",
)
_KEYS = {"name", "description", "start", "hromadas", "comparison"}
_Z95 = 1.959964


@dataclass(frozen=True)
class Pilot:
    """A programme's pilot hromadas, the day it started, and whom they are compared with."""

    name: str
    start: dt.date
    hromadas: tuple[str, ...]
    comparison: str = "same-oblasts"  # or "all"


def load_pilot(path: str | Path) -> Pilot:
    """Read a pilot file strictly (see the module docstring); errors name the file and line."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError("pilot file not found", path=file)
    root = mapping_of(load_yaml(file), file, _KEYS, "a pilot")
    name, start, hromadas = root.get("name"), root.get("start"), root.get("hromadas")
    if not isinstance(name, YScalar) or not name.raw:
        raise ConfigError("'name' is required", path=file, line=root.line)
    if start is None:
        raise ConfigError("'start' (the first day of the pilot) is required", path=file)
    if not isinstance(hromadas, YSeq) or not hromadas.items:
        raise ConfigError("'hromadas' must list the pilot's hromada codes", path=file)
    codes = tuple(str(i.raw) for i in hromadas.items if isinstance(i, YScalar))
    comparison = root.get("comparison")
    how = comparison.raw if isinstance(comparison, YScalar) else "same-oblasts"
    if how not in ("same-oblasts", "all"):
        raise ConfigError("'comparison' is same-oblasts or all", path=file, line=root.line)
    return Pilot(name.raw, date_of(start, file, "start date"), codes, how)


def _months_waited(case_months: pl.DataFrame) -> pl.DataFrame:
    """Per hromada and month: the average number of months the cases waiting there have waited
    so far (counting the month itself)."""
    waiting = case_months.filter(~pl.col("funded")).select(
        "case_id", pl.col("hromada_code").cast(pl.String), "month"
    )
    first = waiting.group_by("case_id").agg(pl.col("month").min().alias("_first"))
    return (
        waiting.join(first, on="case_id")
        .with_columns(
            _waited=(pl.col("month").dt.year() - pl.col("_first").dt.year()) * 12
            + pl.col("month").dt.month()
            - pl.col("_first").dt.month()
            + 1
        )
        .group_by("hromada_code", "month")
        .agg(pl.col("_waited").mean().cast(pl.Float64).alias("months_waited"))
    )


def pilot_panel(need: pl.DataFrame, case_months: pl.DataFrame | None, pilot: Pilot) -> pl.DataFrame:
    """Every pilot and comparison hromada, every month: `hromada_code, oblast_code, group, month`
    and the `PILOT_INDICATORS`. `need` is `engine.need.need_indicators` (its hromada rows)."""
    rows = need.filter(pl.col("level") == "hromada").with_columns(
        pl.col("territory_code").cast(pl.String).alias("hromada_code"),
        pl.col("oblast_code").cast(pl.String),
    )
    pilots = set(pilot.hromadas)
    known = set(rows["hromada_code"].unique().to_list())
    missing = sorted(pilots - known)
    if missing:
        raise ConfigError(
            f"pilot {pilot.name}: {len(missing)} hromada(s) not in the run's territories, "
            f"e.g. {missing[0]}"
        )
    active = rows.group_by("hromada_code").agg(
        (pl.col("served_cases") + pl.col("waiting_cases")).sum().alias("_cases")
    )
    rows = rows.join(active, on="hromada_code").filter(
        pl.col("hromada_code").is_in(list(pilots)) | (pl.col("_cases") > 0)
    )
    if pilot.comparison == "same-oblasts":
        oblasts = rows.filter(pl.col("hromada_code").is_in(list(pilots)))["oblast_code"].unique()
        rows = rows.filter(pl.col("oblast_code").is_in(oblasts.implode()))
    panel = rows.select(
        "hromada_code",
        "oblast_code",
        pl.when(pl.col("hromada_code").is_in(list(pilots)))
        .then(pl.lit("pilot"))
        .otherwise(pl.lit("comparison"))
        .alias("group"),
        "month",
        "coverage",
        pl.col("waiting_cases").cast(pl.Float64),
        pl.when(pl.col("served_case_months") > 0)
        .then(pl.col("state_uah").cast(pl.Float64) / pl.col("served_case_months"))
        .alias("uah_per_case_month"),
        "nonstate_share",
        "idp_share",
    )
    if case_months is not None and not case_months.is_empty():
        panel = panel.join(_months_waited(case_months), on=["hromada_code", "month"], how="left")
    else:
        panel = panel.with_columns(months_waited=pl.lit(None, dtype=pl.Float64))
    return panel.sort("group", "hromada_code", "month")


def pilot_series(panel: pl.DataFrame, indicators: Sequence[str] = PILOT_INDICATORS) -> pl.DataFrame:
    """The mean of each indicator per group and month (hromadas weighted alike), for a chart."""
    present = [c for c in indicators if c in panel.columns]
    return panel.group_by("group", "month").agg(pl.col(present).mean()).sort("group", "month")


def pilot_effects(
    panel: pl.DataFrame, start: dt.date, indicators: Sequence[str] = PILOT_INDICATORS
) -> pl.DataFrame:
    """Difference in differences per indicator, with its 95 % interval (see the module docstring).

    Columns: `indicator, pilot_before, pilot_after, comparison_before, comparison_after, did,
    lo_95, hi_95, pilot_hromadas, comparison_hromadas`."""
    out = []
    period = pl.when(pl.col("month") >= start).then(pl.lit("after")).otherwise(pl.lit("before"))
    for indicator in (c for c in indicators if c in panel.columns):
        means = (
            panel.filter(pl.col(indicator).is_not_null())
            .with_columns(_period=period)
            .group_by("group", "hromada_code", "_period")
            .agg(pl.col(indicator).mean())
            .pivot("_period", index=["group", "hromada_code"], values=indicator)
        )
        if not {"before", "after"} <= set(means.columns):
            continue
        changes = means.drop_nulls(["before", "after"]).with_columns(
            change=pl.col("after") - pl.col("before")
        )
        stats = {
            g: changes.filter(pl.col("group") == g)
            .select(
                pl.col("before").mean(),
                pl.col("after").mean(),
                pl.col("change").mean().alias("mean"),
                pl.col("change").var().alias("var"),
                pl.len().alias("n"),
            )
            .row(0, named=True)
            for g in ("pilot", "comparison")
        }
        p, c = stats["pilot"], stats["comparison"]
        if not p["n"] or not c["n"]:
            continue
        did = p["mean"] - c["mean"]
        variance = sum((s["var"] or 0.0) / s["n"] for s in (p, c) if s["n"] > 1)
        half = _Z95 * math.sqrt(variance) if p["n"] > 1 and c["n"] > 1 else math.nan
        out.append(
            {
                "indicator": indicator,
                "pilot_before": p["before"],
                "pilot_after": p["after"],
                "comparison_before": c["before"],
                "comparison_after": c["after"],
                "did": did,
                "lo_95": did - half if not math.isnan(half) else None,
                "hi_95": did + half if not math.isnan(half) else None,
                "pilot_hromadas": int(p["n"]),
                "comparison_hromadas": int(c["n"]),
            }
        )
    schema = {
        **dict.fromkeys(
            ("pilot_before", "pilot_after", "comparison_before", "comparison_after"), pl.Float64
        ),
        **dict.fromkeys(("did", "lo_95", "hi_95"), pl.Float64),
        "pilot_hromadas": pl.Int64,
        "comparison_hromadas": pl.Int64,
    }
    return pl.DataFrame(out, schema={"indicator": pl.String, **schema})
