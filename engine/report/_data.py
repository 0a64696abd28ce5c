"""`ReportData`: whatever frames a run produced, for the report's sections (its own module, so the
section modules can name it without importing the report builder).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from engine.pilot import Pilot

__all__ = ["ReportData"]


@dataclass(frozen=True)
class ReportData:
    """A run's frames, as far as it produced them.

    - `case_months`: the entitlement case-months (`engine.entitlements`), the basis of the money,
      need and coverage figures; `flows` (registered → serving oblast money) is derived from it when
      not given. Its territory codes may be text or coded (Enum / Categorical, as a run holds and
      the store keeps them): the report only aggregates it, and gives the keys back as text.
    - `need`: need indicators (`engine.need.need_indicators`); the tile maps show its latest
      observed month per oblast (coverage, case-months per 10,000 residents) when present.
    - `forecast` (`unique_id`, `level`, `ds`, `mean`, bands, `model`), `history` (`unique_id`,
      `ds`, `y`: the actuals the forecast continues) and `backtest` (`level`, `model`, metrics).
    - `allocation_by_territory`, `allocation_by_tier` (`Allocation.by_territory`, `.by_tier`),
      `allocation_rows` (`Allocation.rows`, for coverage by oblast × tier) and
      `allocation_by_group` (`Allocation.by_group`: envelopes, unspent money).
    - `scenario_territories`, `scenario_cases` (`ScenarioDiff.territories`, `.cases`): scenario
      minus baseline per territory and per case (with the case's groups, for winners and losers
      by group: `engine.scenario_groups`).
    - `quarantine_summary` (`table`, `rule`, `rows`) and `rows_read` per table.
    - `run`: facts about the run shown at the top (run id, spec, funding model version, ...).
    - `territories`, `services`: reference tables for the Ukrainian names.
    - `pilot`: an `engine.pilot.Pilot` to monitor against comparable hromadas (needs `need`);
      without it, `pilot_indicators` and `pilot_effects` (a run's `pilot` step, as stored) show
      the pilot the run spec named.
    """

    case_months: pl.DataFrame | None = None
    flows: pl.DataFrame | None = None
    need: pl.DataFrame | None = None
    forecast: pl.DataFrame | None = None
    history: pl.DataFrame | None = None
    backtest: pl.DataFrame | None = None
    allocation_by_territory: pl.DataFrame | None = None
    allocation_by_tier: pl.DataFrame | None = None
    allocation_rows: pl.DataFrame | None = None
    allocation_by_group: pl.DataFrame | None = None
    scenario_territories: pl.DataFrame | None = None
    scenario_cases: pl.DataFrame | None = None
    quarantine_summary: pl.DataFrame | None = None
    rows_read: Mapping[str, int] = field(default_factory=dict)
    run: Mapping[str, Any] = field(default_factory=dict)
    territories: pl.DataFrame | None = None
    services: pl.DataFrame | None = None
    pilot: Pilot | None = None
    pilot_indicators: pl.DataFrame | None = None  # the `pilot` step's (engine.pipeline)
    pilot_effects: pl.DataFrame | None = None
    execution: pl.DataFrame | None = None  # `execution_totals` (engine.execution)
    idp_burden: pl.DataFrame | None = None  # IDP host burden (engine.rollups.idp_host_burden)
    explained: pl.DataFrame | None = None  # `explained_amounts` (engine.explain._report)
    sweep: Any = None  # a stored scenario sweep (engine.distributed.stored_sweep)
