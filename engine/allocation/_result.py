"""The result of an allocation: per-row amounts plus summaries by group, tier, territory and service."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

import polars as pl

from engine.allocation._equity import Equity, equity_figures
from engine.allocation._policy import Policy
from engine.allocation._prepare import SHARE_DENOMINATOR
from engine.columns import MONEY

__all__ = ["TERRITORY_LEVELS", "Allocation", "uah_columns"]

TERRITORY_LEVELS = ("oblast_code", "hromada_code")
_MONEY = ("claim_kop", "capped_kop", "floor_kop", "allocated_kop")


def _kopiyky(column: str) -> pl.Expr:
    return (pl.col(column) * 100.0).round().cast(pl.Int64)


def _measures() -> list[pl.Expr]:
    return [
        pl.len().cast(pl.Int64).alias("rows"),
        *[pl.col(c).sum() for c in _MONEY],
    ]


def _uah(kop: pl.Expr) -> pl.Expr:
    """Integer kopiyky → exact Decimal(18, 2) UAH."""
    return (kop.cast(pl.Decimal(38, 0)) * pl.lit(Decimal("0.01"), dtype=MONEY)).cast(MONEY)


def uah_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Kopiyka columns → exact UAH columns (Decimal(18, 2)) with shortfall and coverage
    (allocated ÷ capped claim)."""
    return frame.with_columns(
        claim_uah=_uah(pl.col("claim_kop")),
        capped_claim_uah=_uah(pl.col("capped_kop")),
        floor_uah=_uah(pl.col("floor_kop")),
        allocated_uah=_uah(pl.col("allocated_kop")),
        shortfall_uah=_uah(pl.col("capped_kop") - pl.col("allocated_kop")),
        coverage=pl.when(pl.col("capped_kop") > 0).then(
            pl.col("allocated_kop") / pl.col("capped_kop")
        ),
    )


def _to_uah(frame: pl.DataFrame) -> pl.DataFrame:
    return uah_columns(frame).drop(_MONEY)


@dataclass(frozen=True)
class Allocation:
    """Who gets what under a policy, and who falls short.

    `rows` holds every claim row as given (its claim in `claim_uah`, copied from the policy's
    claim column when that is another) with its `envelope_group`, `tier`, `tier_rank`,
    `capped_claim_uah`, `allocated_uah` and `coverage` (allocated ÷ capped claim; null for a zero
    claim). Shortfalls are capped claim − allocated; the summaries carry them. `by_group` has one row per envelope group (national,
    or one per oblast plus "other oblasts") with its envelope and unspent money; `by_tier` one row
    per group × tier with its status (paid in full / marginal / floor only / ...). `by_territory`,
    `by_service` and `equity` are computed on first use. `binding` (optimisation mode only) lists
    the constraints and their shadow prices.
    """

    policy: Policy
    mode: str
    rows: pl.DataFrame
    by_group: pl.DataFrame
    by_tier: pl.DataFrame
    binding: pl.DataFrame | None = None
    warnings: tuple[str, ...] = ()
    territories: pl.DataFrame | None = field(default=None, repr=False)
    _allocated_kop: int = field(default=0, repr=False)  # Σ allocated, exact

    @property
    def envelope_uah(self) -> float:
        return float(self.by_group["envelope_uah"].sum())

    @property
    def claims_uah(self) -> float:
        return float(self.by_group["claim_uah"].sum())

    @property
    def capped_claims_uah(self) -> float:
        return float(self.by_group["capped_claim_uah"].sum())

    @property
    def allocated_uah(self) -> float:
        return round(float(self._allocated_kop) / 100, 2)

    @property
    def unspent_uah(self) -> float:
        """Envelope money nobody receives: all groups' envelopes minus what was allocated."""
        return round(float(self.by_group["unspent_uah"].sum()), 2)

    @property
    def territory_level(self) -> str | None:
        """The finest territory column of the claims: hromada_code, else oblast_code, else None."""
        present = [c for c in TERRITORY_LEVELS if c in self.rows.columns]
        return present[-1] if present else None

    @cached_property
    def by_territory(self) -> pl.DataFrame:
        """Per territory (oblast and hromada where present): claims, allocation, shortfall, coverage,
        and with reference data the population and `allocated_uah_per_resident`."""
        keys = [c for c in TERRITORY_LEVELS if c in self.rows.columns]
        if not keys:
            return _to_uah(self._amounts().select(_measures()).collect())
        table = _to_uah(self._amounts().group_by(keys).agg(_measures()).sort(keys).collect())
        return self._with_population(table, keys)

    @cached_property
    def by_service(self) -> pl.DataFrame:
        """Per service: claims, allocation, shortfall and coverage."""
        if "service_code" not in self.rows.columns:
            return _to_uah(self._amounts().select(_measures()).collect())
        return _to_uah(
            self._amounts().group_by("service_code").agg(_measures()).sort("service_code").collect()
        )

    @cached_property
    def equity(self) -> Equity:
        """Coverage spread, Gini of allocation per resident, share of territories below the floor."""
        return equity_figures(self.by_territory, self.territory_level, self.policy.floor_share)

    def frames(self) -> dict[str, pl.DataFrame]:
        """Every output table by name (what `mfr allocate` writes as parquet)."""
        out = {
            "rows": self.rows,
            "by_group": self.by_group,
            "by_tier": self.by_tier,
            "by_territory": self.by_territory,
            "by_service": self.by_service,
            "equity": self.equity.to_frame(),
        }
        if self.binding is not None:
            out["binding"] = self.binding
        return out

    def _amounts(self) -> pl.LazyFrame:
        """Every row's kopiyky, read back exactly from `rows` (so the allocation need not keep
        four more 10 M-row arrays for summaries that may never be asked for)."""
        claim = pl.col(self.policy.claim_column).cast(pl.Float64)
        numerator = round(self.policy.floor_share * SHARE_DENOMINATOR)
        return (
            self.rows.lazy()
            .with_columns(
                # as the allocation took it: half away from zero (claims are never negative)
                claim_kop=(claim * 100.0 + 0.5).floor().cast(pl.Int64),
                # UAH are kopiyky × 0.01 in float64: × 100 and rounded gives them back exactly
                # (claims stay below 9 × 10**12 kopiyky)
                capped_kop=_kopiyky("capped_claim_uah"),
                allocated_kop=_kopiyky("allocated_uah"),
            )
            .with_columns(floor_kop=pl.col("capped_kop") * numerator // SHARE_DENOMINATOR)
        )

    def _with_population(self, table: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
        ref = self.territories
        level = keys[-1]
        if ref is None or level not in ref.columns or "population" not in ref.columns:
            return table
        if level == "hromada_code":
            population = ref.select("hromada_code", pl.col("population").cast(pl.Int64))
        else:
            population = ref.group_by(level).agg(pl.col("population").cast(pl.Int64).sum())
        population = population.unique(level, keep="first")
        return (
            table.with_columns(pl.col(level).cast(pl.String))
            .join(population.with_columns(pl.col(level).cast(pl.String)), on=level, how="left")
            .with_columns(
                # a ratio, not an amount paid: float, and named so (not `*_uah`)
                allocated_uah_per_resident=pl.when(pl.col("population") > 0).then(
                    pl.col("allocated_uah").cast(pl.Float64) / pl.col("population")
                )
            )
        )
