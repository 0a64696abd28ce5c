"""The report's planning sections: the plan's budget, allocation, who wins and loses, equity."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from engine.report._figures_budget import (
    budget_numbers,
    lorenz_figure,
    plan_figure,
    scenario_groups_figure,
    scenario_groups_table_figure,
    unspent_sentence,
)
from engine.report._figures_plan import (
    allocation_figure,
    allocation_matrix_figure,
    allocation_tiers_figure,
    scenario_cases_figure,
    scenario_figure,
)
from engine.report._html import Section
from engine.report._labels import oblast_labels
from engine.report._text import tr

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from engine.report._data import ReportData

__all__ = ["budget_sections", "equity_sections", "plan_sections"]


def _has(frame: pl.DataFrame | None) -> bool:
    return frame is not None and not frame.is_empty()


def budget_sections(data: ReportData, lang: str) -> list[Section]:
    """The plan's five numbers and why money is unspent (none when the run allocated nothing)."""
    numbers = budget_numbers(data.allocation_by_group, data.allocation_by_tier)
    if numbers is None:
        return []
    names = oblast_labels(data.territories, lang)
    note = " ".join(s for s in (tr("plan_note", lang), unspent_sentence(numbers, names, lang)) if s)
    return [Section(tr("s_plan", lang), [plan_figure(numbers, lang=lang)], note=note)]


def _by_scenario(frame: pl.DataFrame | None) -> list[tuple[str | None, pl.DataFrame]]:
    """Split a diff frame of several compared scenarios (a `scenario` column) into one per name."""
    if frame is None or frame.is_empty():
        return []
    if "scenario" not in frame.columns:
        return [(None, frame)]
    names = frame["scenario"].unique().sort().to_list()
    return [(str(n), frame.filter(pl.col("scenario") == n)) for n in names]


def _allocation_rows(data: ReportData) -> pl.DataFrame | None:
    """Allocation rows with their oblast: stored rows may keep only the claim's key, in which case
    the oblast comes from the case-months they were claimed from."""
    rows, cm = data.allocation_rows, data.case_months
    if rows is None or rows.is_empty() or "tier" not in rows.columns:
        return None
    key = ["case_id", "month", "funded"]
    if "oblast_code" not in rows.columns:
        if cm is None or cm.is_empty() or not set(key) <= set(rows.columns):
            return None
        rows = rows.join(cm.select(*key, "oblast_code"), on=key, how="left")
    return rows


def plan_sections(data: ReportData, min_count: int, lang: str) -> list[Section]:
    """Allocation (by territory, tier, oblast × tier) and each scenario's winners and losers."""
    from engine.scenario_groups import winners_losers

    territories = data.territories
    allocation: list[go.Figure] = []
    if data.allocation_by_territory is not None and _has(data.allocation_by_territory):
        allocation.append(allocation_figure(data.allocation_by_territory, territories, lang=lang))
    if data.allocation_by_tier is not None and _has(data.allocation_by_tier):
        allocation.append(allocation_tiers_figure(data.allocation_by_tier, lang=lang))
    rows = _allocation_rows(data)
    if rows is not None:
        allocation.append(allocation_matrix_figure(rows, territories, lang=lang))
    scenario: list[go.Figure] = []
    for name, part in _by_scenario(data.scenario_cases):
        if {"baseline_state_uah", "scenario_state_uah"} <= set(part.columns):
            paid, neutral = winners_losers(part), winners_losers(part, budget_neutral=True)
            scenario.append(scenario_groups_figure(paid, neutral, name=name or "", lang=lang))
            scenario.append(scenario_groups_table_figure(paid, neutral, lang=lang))
    for name, part in _by_scenario(data.scenario_territories):
        scenario.append(
            scenario_figure(part, territories, min_count=min_count, name=name, lang=lang)
        )
    for name, part in _by_scenario(data.scenario_cases):
        scenario.append(scenario_cases_figure(part, name=name, lang=lang))
    sections = []
    if allocation:
        sections.append(
            Section(tr("s_allocation", lang), allocation, note=tr("allocation_note", lang))
        )
    if scenario:
        sections.append(Section(tr("s_scenario", lang), scenario, note=tr("scenario_note", lang)))
    return sections


def equity_sections(data: ReportData, lang: str) -> list[Section]:
    """Lorenz curves of money per resident across hromadas: baseline entitlements, each scenario
    and the allocation, where the run has them."""
    population = _hromada_population(data.territories)
    if population is None:
        return []
    curves: dict[str, pl.DataFrame] = {}
    cm = data.case_months
    if cm is not None and not cm.is_empty():
        served = (  # grouped by the code as it is (text or coded), keyed by text afterwards
            cm.lazy()
            .filter(pl.col("funded"))
            .group_by("hromada_code")
            .agg(uah=pl.col("state_uah").sum())
            .with_columns(pl.col("hromada_code").cast(pl.String))
            .collect()
        )
        curves[tr("entitled", lang)] = _per_hromada(population, served)
    for name, part in _by_scenario(data.scenario_territories):
        rows = part.filter((pl.col("level") == "hromada") & pl.col("funded"))
        if rows.is_empty() or "territory_code" not in rows.columns:
            continue
        by = rows.group_by(pl.col("territory_code").cast(pl.String).alias("hromada_code"))
        if not curves:
            curves[tr("baseline", lang)] = _per_hromada(
                population, by.agg(uah=pl.col("baseline_state_uah").sum())
            )
        curves[name or "scenario"] = _per_hromada(
            population, by.agg(uah=pl.col("scenario_state_uah").sum())
        )
    alloc = data.allocation_by_territory
    if alloc is not None and "hromada_code" in alloc.columns and not alloc.is_empty():
        by = alloc.group_by(pl.col("hromada_code").cast(pl.String))
        curves[tr("allocated", lang)] = _per_hromada(
            population, by.agg(uah=pl.col("allocated_uah").sum())
        )
    if not curves:
        return []
    return [
        Section(
            tr("s_equity", lang), [lorenz_figure(curves, lang=lang)], note=tr("equity_note", lang)
        )
    ]


def _hromada_population(territories: pl.DataFrame | None) -> pl.DataFrame | None:
    if territories is None or not {"hromada_code", "population"} <= set(territories.columns):
        return None
    return territories.select(
        pl.col("hromada_code").cast(pl.String), pl.col("population").cast(pl.Float64)
    ).unique("hromada_code", keep="first", maintain_order=True)


def _per_hromada(population: pl.DataFrame, money: pl.DataFrame) -> pl.DataFrame:
    """Every hromada of the territories with its money (zero where it has none)."""
    money = money.with_columns(pl.col("uah").cast(pl.Float64))
    return population.join(money, on="hromada_code", how="left").with_columns(
        pl.col("uah").fill_null(0.0)
    )
