"""`allocate`: distribute an envelope over claims by a policy (default rule or optimisation)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from engine.allocation._default import (
    FLOOR_ONLY,
    FULL,
    MARGINAL,
    NO_CLAIMS,
    STATUS_LABELS,
    DefaultResult,
    Tables,
    run_default,
)
from engine.allocation._optimise import OptimiseResult, run_optimise
from engine.allocation._policy import Policy, load_policy
from engine.allocation._prepare import Prepared, prepare
from engine.allocation._result import Allocation, uah_columns
from engine.buffers import blocks, empty
from engine.columns import MONEY, decimal_series
from engine.contracts import check_allocation_rows
from engine.errors import ConfigError

__all__ = ["allocate"]

Mode = Literal["default", "optimise"]
_PARTIAL_LABEL = "partial"


def allocate(
    claims: pl.DataFrame | pl.LazyFrame,
    policy: Policy | str | Path,
    envelope: float | None = None,
    *,
    mode: Mode = "default",
    key: list[str] | tuple[str, ...] | None = None,
    territories: pl.DataFrame | None = None,
    claims_path: str | Path | None = None,
) -> Allocation:
    """Allocate `policy`'s envelope (or `envelope` UAH, scaling any oblast split) over `claims`.

    `claims` is any frame with the policy's claim column (default `claim_uah`) and the columns its
    tier predicates use (see `claims_from_case_months`, `claims_from_forecast`). `mode="default"`
    applies DESIGN.md §6 exactly; `mode="optimise"` solves the optimisation with HiGHS. `key`
    names the columns that identify a row (default: every column but the claim); it only breaks
    ties when the last kopiyky are handed out, so that row order never changes a result.
    `territories` (from `engine.reference.load_territories()`) adds population and the Gini of
    allocation per resident.

    >>> from engine.allocation import policy_from_dict
    >>> claims = pl.DataFrame({"id": [1, 2, 3], "age": [10, 40, 70], "claim_uah": [100.0] * 3})
    >>> policy = policy_from_dict({"name": "demo", "envelope": {"national_uah": 150},
    ...     "tiers": [{"name": "children", "when": "age < 18"}, {"name": "rest", "otherwise": True}]})
    >>> allocate(claims, policy).rows["allocated_uah"].to_list()
    [Decimal('100.00'), Decimal('25.00'), Decimal('25.00')]
    """
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    if envelope is not None:
        policy = policy.with_envelope(envelope)
    path = None if claims_path is None else str(claims_path)
    if mode not in ("default", "optimise"):
        raise ConfigError(f"unknown allocation mode '{mode}' (use 'default' or 'optimise')")
    prep = prepare(claims, policy, key=key, claims_path=path)
    binding = marginal_value = status = factor = None
    if mode == "default":
        default = run_default(prep)
        status, factor = default.status, default.factor
        result: DefaultResult | OptimiseResult = default
    else:
        result = run_optimise(prep, policy)
        marginal_value, binding = result.marginal_value, result.binding
    by_tier = _by_tier(prep, policy, result.tables, status, factor)
    by_group = _by_group(prep, policy, by_tier, result.floors_paid, marginal_value)
    return Allocation(
        policy=policy,
        mode=mode,
        rows=check_allocation_rows(_rows(prep, policy, result.allocated_kop)),
        by_group=by_group,
        by_tier=by_tier,
        binding=binding,
        warnings=prep.warnings,
        territories=territories,
        _allocated_kop=int(result.tables.allocated.sum()),
    )


def _rows(prep: Prepared, policy: Policy, allocated: np.ndarray) -> pl.DataFrame:
    """The claims with their group, tier and amounts: exact Decimal(18, 2) UAH built from the
    kopiyka arrays (`engine.columns`; `claim_uah` is the claim as allocation took it, rounded to
    kopiyky), and the coverage."""
    money = [decimal_series(prep.claim_kop, "claim_uah")]  # the claim as taken, in kopiyky
    capped = prep.capped_kop
    coverage = _coverage(capped, allocated)
    money += [
        decimal_series(capped, "capped_claim_uah"),
        decimal_series(allocated, "allocated_uah"),
        pl.Series("coverage", coverage),
    ]
    frame = prep.frame.with_columns(
        prep.group_column.alias("envelope_group"),
        prep.tier_column.alias("tier"),
        pl.Series("tier_rank", np.add(prep.tier, 1, out=empty(prep.size, prep.tier.dtype))),
        *money,
    )
    if capped.size and capped.min() == 0:  # a zero claim has no coverage
        frame = frame.with_columns(pl.when(pl.col("capped_claim_uah") > 0).then("coverage"))
    return frame


def _coverage(capped: np.ndarray, allocated: np.ndarray) -> np.ndarray:
    """Allocated ÷ capped claim per row, in blocks of rows; a zero claim's coverage is NaN here."""
    coverage = empty(capped.shape[0], np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        for block in blocks(capped.shape[0]):
            # exact float64 copies of the kopiyky (< 2**53)
            alloc, claim = allocated[block].astype(np.float64), capped[block].astype(np.float64)
            np.divide(alloc, claim, out=coverage[block])
    return coverage


def _by_tier(
    prep: Prepared,
    policy: Policy,
    tables: Tables,
    status: np.ndarray | None,
    factor: np.ndarray | None,
) -> pl.DataFrame:
    n_tiers = prep.n_tiers
    rows, capped, floor, alloc = tables.rows, tables.capped, tables.floor, tables.allocated
    labels = list(STATUS_LABELS)
    if status is None:  # optimisation: read the status off the amounts
        status = np.where(
            rows == 0,
            NO_CLAIMS,
            np.where(alloc >= capped, FULL, np.where(alloc <= floor + rows, FLOOR_ONLY, MARGINAL)),
        )
        labels[MARGINAL] = _PARTIAL_LABEL
    if factor is None:
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(
                capped > floor, (alloc - floor) / np.where(capped > floor, capped - floor, 1), 1.0
            )
    n_groups = prep.n_groups
    frame = pl.DataFrame(
        {
            "envelope_group": np.repeat(np.array(prep.group_labels, dtype=object), n_tiers),
            "tier_rank": np.tile(np.arange(1, n_tiers + 1, dtype=np.int32), n_groups),
            "tier": [t.name for t in policy.tiers] * n_groups,
            "status": [labels[s] for s in status.ravel()],
            "rows": rows.ravel(),
            "claim_kop": tables.claim.ravel(),
            "capped_kop": capped.ravel(),
            "floor_kop": floor.ravel(),
            "allocated_kop": alloc.ravel(),
            "factor": factor.ravel().astype(np.float64),
        },
        schema_overrides={"envelope_group": pl.String},
    )
    return uah_columns(frame).select(
        "envelope_group",
        "tier_rank",
        "tier",
        "status",
        "rows",
        "claim_uah",
        "capped_claim_uah",
        "floor_uah",
        "allocated_uah",
        "shortfall_uah",
        "coverage",
        "factor",
    )


def _by_group(
    prep: Prepared,
    policy: Policy,
    by_tier: pl.DataFrame,
    floors_paid: np.ndarray,
    marginal_value: np.ndarray | None,
) -> pl.DataFrame:
    envelope = pl.DataFrame(
        {
            "envelope_group": list(prep.group_labels),
            "envelope_uah": decimal_series(
                np.asarray(prep.envelope_kop, dtype=np.int64), "envelope_uah"
            ),
            "floors_paid": floors_paid,
            "marginal_value": (
                np.full(prep.n_groups, np.nan) if marginal_value is None else marginal_value
            ),
        },
    ).with_columns(pl.col("marginal_value").fill_nan(None))
    marginal = (
        by_tier.filter(pl.col("status").is_in([STATUS_LABELS[MARGINAL], _PARTIAL_LABEL]))
        .group_by("envelope_group")
        .agg(
            marginal_tier=pl.col("tier").sort_by("tier_rank").first(),
            marginal_factor=pl.col("factor").sort_by("tier_rank").first(),
        )
    )
    totals = by_tier.group_by("envelope_group").agg(
        pl.col("rows").sum(),
        *[
            pl.col(c).sum()
            for c in (
                "claim_uah",
                "capped_claim_uah",
                "floor_uah",
                "allocated_uah",
                "shortfall_uah",
            )
        ],
    )
    frame = (
        envelope.join(totals, on="envelope_group", how="left")
        .join(marginal, on="envelope_group", how="left")
        .with_columns(
            # sums of exact amounts: exact, kept as Decimal(18, 2)
            *[
                pl.col(c).cast(MONEY)
                for c in (
                    "claim_uah",
                    "capped_claim_uah",
                    "floor_uah",
                    "allocated_uah",
                    "shortfall_uah",
                )
            ],
        )
        .with_columns(
            unspent_uah=(pl.col("envelope_uah") - pl.col("allocated_uah")).cast(MONEY),
            coverage=pl.when(pl.col("capped_claim_uah") > 0).then(
                pl.col("allocated_uah").cast(pl.Float64)
                / pl.col("capped_claim_uah").cast(pl.Float64)
            ),
        )
    )
    # an "other oblasts" group with neither money nor claims says nothing
    frame = frame.filter((pl.col("rows") > 0) | (pl.col("envelope_uah") > 0))
    columns = [
        "envelope_group",
        "envelope_uah",
        "rows",
        "claim_uah",
        "capped_claim_uah",
        "floor_uah",
        "allocated_uah",
        "unspent_uah",
        "shortfall_uah",
        "coverage",
        "floors_paid",
        "marginal_tier",
        "marginal_factor",
    ]
    if marginal_value is not None:
        columns.append("marginal_value")
    return frame.select(columns)
