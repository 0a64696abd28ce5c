"""One sweep point on a worker: the run's own nodes (model, months, claims, allocation) on the
registry the driver read once, and what the sweep keeps of them (small frames).

A point is priced exactly as `mfr run` prices its spec: the model node loads the funding model
with the point's scenario, `compute_entitlements` prices the spec's months in one block, the claims
and allocate nodes allocate the point's envelope under its policy.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from engine.columns import MONEY

if TYPE_CHECKING:
    from engine.distributed._sweep_spec import SweepPoint
    from engine.pipeline._nodes import Reference
    from engine.pipeline._step import StepOutput
    from engine.schemas import Registry

__all__ = ["TERRITORY_COLUMNS", "TOTAL_COLUMNS", "price_point"]

TOTAL_COLUMNS = (
    *("point", "scenario", "envelope", "policy", "state_uah", "copay_uah", "unmet_uah"),
    *("case_months", "claims_uah", "capped_claims_uah", "envelope_uah", "allocated_uah"),
    *("shortfall_uah", "unspent_uah", "coverage", "cases_covered_fully", "cases"),
    *("gini_per_capita", "coverage_min", "coverage_max", "seconds"),
)
TERRITORY_COLUMNS = (
    *("point", "oblast_code", "claims_uah", "allocated_uah", "shortfall_uah", "coverage"),
    *("population", "allocated_uah_per_resident"),
)


def _log_attempt(folder: Path | None, point: str) -> None:
    """Note where and when a point started (diagnosis: which worker computed what)."""
    if folder is None:
        return
    line = {"point": point, "host": socket.gethostname(), "pid": os.getpid(), "at": time.time()}
    with contextlib.suppress(OSError), (folder / "attempts.jsonl").open("a") as out:
        out.write(json.dumps(line) + "\n")


def price_point(
    point: SweepPoint, registry: Registry, reference: Reference, attempts: Path | None = None
) -> dict[str, pl.DataFrame]:
    """Price and allocate one point; its totals (one row) and its oblasts' allocation."""
    from engine.entitlements import compute_entitlements
    from engine.pipeline._nodes import model as model_node
    from engine.pipeline._nodes import months as months_node
    from engine.pipeline._nodes_plan import allocate as allocate_node
    from engine.pipeline._nodes_plan import claims_from_entitlements

    _log_attempt(attempts, point.name)
    started = time.perf_counter()
    spec = point.spec
    model = model_node.fn(spec=spec, reference=reference)
    months = months_node.fn(spec=spec, extract_date=registry.extract_date)
    priced = compute_entitlements(
        registry, model, reference.territories, months=(months.first, months.last), segments=False
    )
    case_months = priced.case_months
    claims = claims_from_entitlements.fn(case_months=case_months)
    allocation = allocate_node.fn(spec=spec, claims=claims, reference=reference)
    groups, rows = allocation.frames["by_group"], allocation.frames["rows"]
    equity = allocation.frames["equity"]
    funded = case_months.filter(pl.col("funded"))
    waiting = case_months.filter(~pl.col("funded"))
    by_case = rows.group_by("case_id").agg(
        full=(pl.col("allocated_uah") >= pl.col("capped_claim_uah")).all()
    )
    settings = point.settings()
    totals = pl.DataFrame(
        {
            "point": [point.name],
            "scenario": [settings["scenario"]],
            "envelope": [settings["envelope"]],
            "policy": [str(spec.relative(spec.policy)) if spec.policy else None],
        },
        schema={c: pl.String for c in ("point", "scenario", "envelope", "policy")},
    ).with_columns(
        pl.lit(funded["state_uah"].sum(), dtype=MONEY).alias("state_uah"),
        pl.lit(funded["copay_uah"].sum(), dtype=MONEY).alias("copay_uah"),
        pl.lit(waiting["state_uah"].sum(), dtype=MONEY).alias("unmet_uah"),
        pl.lit(float(funded["case_months"].sum())).alias("case_months"),
        pl.lit(groups["claim_uah"].sum(), dtype=MONEY).alias("claims_uah"),
        pl.lit(groups["capped_claim_uah"].sum(), dtype=MONEY).alias("capped_claims_uah"),
        pl.lit(groups["envelope_uah"].sum(), dtype=MONEY).alias("envelope_uah"),
        pl.lit(groups["allocated_uah"].sum(), dtype=MONEY).alias("allocated_uah"),
        pl.lit(groups["shortfall_uah"].sum(), dtype=MONEY).alias("shortfall_uah"),
        pl.lit(groups["unspent_uah"].sum(), dtype=MONEY).alias("unspent_uah"),
        pl.lit(_coverage(groups)).alias("coverage"),
        pl.lit(int(by_case["full"].sum()), dtype=pl.Int64).alias("cases_covered_fully"),
        pl.lit(by_case.height, dtype=pl.Int64).alias("cases"),
        pl.lit(_first(equity, "gini_per_capita")).alias("gini_per_capita"),
        pl.lit(_first(equity, "coverage_min")).alias("coverage_min"),
        pl.lit(_first(equity, "coverage_max")).alias("coverage_max"),
        pl.lit(round(time.perf_counter() - started, 3)).alias("seconds"),
    )
    oblasts = _oblasts(point.name, allocation, reference.territories)
    return {"totals": totals.select(TOTAL_COLUMNS), "territories": oblasts}


def _coverage(groups: pl.DataFrame) -> float | None:
    capped = float(groups["capped_claim_uah"].sum())
    return float(groups["allocated_uah"].sum()) / capped if capped > 0 else None


def _first(frame: pl.DataFrame, column: str) -> float | None:
    if column not in frame.columns or frame.height == 0:
        return None
    value = frame[column][0]
    return None if value is None else float(value)


def _oblasts(name: str, allocation: StepOutput, territories: pl.DataFrame) -> pl.DataFrame:
    """The point's allocation per oblast: claims (after caps), allocated, shortfall, coverage,
    and money per resident of the oblast (KATOTTG population)."""
    territory = allocation.frames["by_territory"]
    population = territories.group_by("oblast_code").agg(pl.col("population").sum())
    out = (
        territory.group_by("oblast_code")
        .agg(
            pl.col("capped_claim_uah").sum().cast(MONEY).alias("claims_uah"),
            pl.col("allocated_uah").sum().cast(MONEY),
            pl.col("shortfall_uah").sum().cast(MONEY),
        )
        .join(
            population.with_columns(pl.col("oblast_code").cast(territory.schema["oblast_code"])),
            on="oblast_code",
            how="left",
        )
        .with_columns(
            point=pl.lit(name),
            coverage=pl.when(pl.col("claims_uah") > 0).then(
                pl.col("allocated_uah").cast(pl.Float64) / pl.col("claims_uah").cast(pl.Float64)
            ),
            allocated_uah_per_resident=pl.when(pl.col("population") > 0).then(
                pl.col("allocated_uah").cast(pl.Float64) / pl.col("population")
            ),
        )
        .sort("oblast_code", nulls_last=True)
    )
    return out.select(TERRITORY_COLUMNS)
