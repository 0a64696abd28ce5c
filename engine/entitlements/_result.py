"""What `compute_entitlements` returns: the priced segments and the frames made of them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl

__all__ = ["Entitlements", "headline_totals", "totals_by_funding"]


@dataclass(frozen=True, eq=False)
class Entitlements:
    """Priced segments, case-month totals, rollups and flows of one registry under one model."""

    segments: pl.DataFrame
    case_months: pl.DataFrame
    rollups: pl.DataFrame
    flows: pl.DataFrame
    model_version: str
    model_hash: str
    months: tuple[dt.date, dt.date]
    n_segments: int = -1  # segments priced (also when the frame was not asked for); -1: unknown
    # IDP host burden (`engine.rollups.idp_host_burden`), from dated circumstances; None: none
    idp_burden: pl.DataFrame | None = None
    n_cases: int = -1  # distinct cases with case-months; -1: counted from the frame

    def __post_init__(self) -> None:
        if self.n_segments < 0:
            object.__setattr__(self, "n_segments", self.segments.height)
        if self.n_cases < 0:
            object.__setattr__(self, "n_cases", self.case_months["case_id"].n_unique())

    def totals(self) -> dict[str, float]:
        """Headline totals from the rounded case-month amounts (exact sums, shown as floats)."""
        return headline_totals(self.totals_by_funding())

    def totals_by_funding(self) -> dict[str, dict[str, Any]]:
        """Sums of the case-months, served (funded) and waiting, in one pass over the frame:
        per part `rows`, `case_months`, and the exact `gross_uah`, `copay_uah`, `state_uah`."""
        return totals_by_funding(self.case_months)


def totals_by_funding(case_months: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """`Entitlements.totals_by_funding` of a case-months frame (kept by a caller that writes the
    frame out and frees it before the next one is built)."""
    funded = pl.col("funded")
    sums = [
        *(
            pl.col(c).filter(funded == side).sum().alias(f"{name}:{c}")
            for name, side in (("served", True), ("waiting", False))
            for c in ("case_months", "gross_uah", "copay_uah", "state_uah")
        ),
        funded.sum().alias("served:rows"),
        (~funded).sum().alias("waiting:rows"),
    ]
    row = case_months.select(sums).row(0, named=True)
    out: dict[str, dict[str, Any]] = {"served": {}, "waiting": {}}
    for key, value in row.items():
        side, column = key.split(":")
        out[side][column] = value
    return out


def headline_totals(by_funding: dict[str, dict[str, Any]]) -> dict[str, float]:
    """`Entitlements.totals` from `totals_by_funding`'s sums."""
    served, waiting = by_funding["served"], by_funding["waiting"]
    return {
        "gross_uah": float(served["gross_uah"]),
        "copay_uah": float(served["copay_uah"]),
        "state_uah": float(served["state_uah"]),
        "unmet_gross_uah": float(waiting["gross_uah"]),
        "case_months": float(served["case_months"]),
        "waiting_case_months": float(waiting["case_months"]),
    }
