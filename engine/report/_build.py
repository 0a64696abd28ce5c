"""The run report: which figures, in which order, from which of a run's frames.

`ReportData` bundles whatever a run produced (every frame optional: a section without its data says
so instead of failing); `report_sections` turns it into titled figures; `build_report` renders them
into one self-contained HTML file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

import polars as pl

from engine.report._figures_forecast import backtest_figure, fan_chart_figure, forecast_id_column
from engine.report._figures_money import flows_sankey_figure, headline_figure, trend_figure
from engine.report._figures_plan import (
    allocation_figure,
    allocation_matrix_figure,
    allocation_tiers_figure,
    quarantine_figure,
    scenario_cases_figure,
    scenario_figure,
)
from engine.report._figures_territory import (
    hromada_table_figure,
    oblast_bars_figure,
    oblast_tiles_figure,
)
from engine.report._frames import (
    headline_numbers,
    hromada_summary,
    monthly_summary,
    oblast_flows,
    oblast_summary,
    region_flows,
)
from engine.report._html import Section, render_html
from engine.report._labels import oblast_labels, service_labels
from engine.report._section_execution import execution_sections
from engine.report._suppress import DEFAULT_MIN_COUNT

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["ReportData", "build_report", "report_sections"]


@dataclass(frozen=True)
class ReportData:
    """A run's frames, as far as it produced them.

    - `case_months`: the entitlement case-months (`engine.entitlements`), the basis of the money,
      need and coverage figures; `flows` (registered → serving oblast money) is derived from it when
      not given.
    - `need`: need indicators (`engine.need.need_indicators`); the tile maps show its latest
      observed month per oblast (coverage, case-months per 10,000 residents) when present.
    - `forecast` (`unique_id`, `level`, `ds`, `mean`, bands, `model`), `history` (`unique_id`,
      `ds`, `y`: the actuals the forecast continues) and `backtest` (`level`, `model`, metrics).
    - `allocation_by_territory`, `allocation_by_tier` (`Allocation.by_territory`, `.by_tier`) and
      `allocation_rows` (`Allocation.rows`, for coverage by oblast × tier).
    - `scenario_territories`, `scenario_cases` (`ScenarioDiff.territories`, `.cases`): scenario
      minus baseline per territory and per case.
    - `quarantine_summary` (`table`, `rule`, `rows`) and `rows_read` per table.
    - `run`: facts about the run shown at the top (run id, spec, funding model version, ...).
    - `territories`, `services`: reference tables for the Ukrainian names.
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
    scenario_territories: pl.DataFrame | None = None
    scenario_cases: pl.DataFrame | None = None
    quarantine_summary: pl.DataFrame | None = None
    rows_read: Mapping[str, int] = field(default_factory=dict)
    run: Mapping[str, Any] = field(default_factory=dict)
    territories: pl.DataFrame | None = None
    services: pl.DataFrame | None = None
    execution: pl.DataFrame | None = None  # `execution_totals` (engine.execution)


def _present(frame: pl.DataFrame | None) -> TypeGuard[pl.DataFrame]:
    return frame is not None and not frame.is_empty()


def _money_sections(data: ReportData, min_count: int) -> list[Section]:
    cm, territories = data.case_months, data.territories
    if not _present(cm):
        missing = "This run computed no entitlements."
        return [
            Section("Headline numbers", empty=missing, table=dict(data.run)),
            Section("Entitlement, need and coverage by oblast", empty=missing),
        ]
    assert cm is not None
    numbers = headline_numbers(cm)
    by_oblast = oblast_summary(cm, territories)
    tiles = _tiles(by_oblast, data.need, territories)
    flows = data.flows
    if flows is not None and {"level", "registered_code", "serving_code"} <= set(flows.columns):
        flows = oblast_flows(flows)
    elif flows is None or "registered_oblast_code" not in flows.columns:
        known = territories is not None or "registered_oblast_code" in cm.columns
        flows = region_flows(cm, territories) if known else None
    return [
        Section(
            "Headline numbers",
            [headline_figure(numbers)],
            note="Money is the state's share (after co-payment). Served cases are entitled; "
            "waiting cases (assessed, not yet served) are unmet need, priced the same way. "
            "Months after the extract date count the cases open on that date as continuing.",
            table=dict(data.run),
        ),
        Section(
            "Entitlement, need and coverage by oblast",
            [oblast_bars_figure(by_oblast, territories), *tiles],
            note="By serving oblast: money follows the recipient to where they are served. "
            "Coverage = served case-months ÷ all case-months (served + waiting).",
        ),
        Section(
            "Hromadas",
            [hromada_table_figure(hromada_summary(cm), territories, min_count=min_count)],
            note=f"Cells built from fewer than {min_count} people are suppressed, and one more "
            "cell in the same oblast where needed so the oblast total cannot reveal them.",
        ),
        Section(
            "Money following the recipient",
            [flows_sankey_figure(flows, territories)] if _present(flows) else [],
            note="Money of served cases from the oblast where the recipient is registered to the "
            "oblast where they are served; only money that crossed a regional border is drawn.",
            empty="No flows: neither the registered oblast nor the territories were given.",
        ),
        Section("Monthly trend", [trend_figure(monthly_summary(cm))]),
    ]


def _tiles(
    by_oblast: pl.DataFrame, need: pl.DataFrame | None, territories: pl.DataFrame | None
) -> list[go.Figure]:
    """Tile maps of coverage and intensity: the latest observed month of `need` when there is one,
    else the whole period of the case-months."""
    if _present(need) and {"level", "territory_code", "month"} <= set(need.columns):
        assert need is not None
        oblasts = need.filter(pl.col("level") == "oblast")
        if not oblasts.is_empty():
            month = oblasts["month"].max()
            latest = oblasts.filter(pl.col("month") == month)
            label = month.strftime("%Y-%m") if isinstance(month, dt.date) else str(month)
            return [
                oblast_tiles_figure(
                    latest, "coverage", territories, title=f"Coverage of assessed need, {label}"
                ),
                oblast_tiles_figure(
                    latest,
                    "case_months_per_10k",
                    territories,
                    title=f"Served case-months per 10,000 residents, {label}",
                    label="per 10,000",
                    colorscale="Oranges",
                ),
            ]
    tiles = [oblast_tiles_figure(by_oblast, "coverage", territories, title="Coverage of need")]
    if "need_uah_per_capita" in by_oblast.columns:
        per_10k = by_oblast.with_columns(need_uah_per_10k=pl.col("need_uah_per_capita") * 10_000)
        tiles.append(
            oblast_tiles_figure(
                per_10k,
                "need_uah_per_10k",
                territories,
                title="Need per 10,000 residents, UAH",
                label="UAH per 10,000",
                colorscale="Oranges",
            )
        )
    return tiles


def _level_columns(level: str) -> frozenset[str]:
    return frozenset() if level == "total" else frozenset(level.split("/"))


def _pick_node(
    forecast: pl.DataFrame, columns: frozenset[str], where: Mapping[str, str]
) -> str | None:
    """The node of the level made of exactly `columns`, matching `where` (else the largest)."""
    if "level" not in forecast.columns:
        return None
    levels = [lv for lv in forecast["level"].unique().to_list() if _level_columns(lv) == columns]
    if not levels:
        return None
    rows = forecast.filter(pl.col("level") == levels[0])
    for column, value in where.items():
        if column in rows.columns and value is not None:
            rows = rows.filter(pl.col(column) == value)
    if rows.is_empty():
        return None
    key = forecast_id_column(forecast)
    biggest = (
        rows.group_by(key).agg(pl.col("mean").sum()).sort("mean", key, descending=[True, False])
    )
    return str(biggest[key][0])


# oblast × service levels, the most detailed first (services may be grouped in the hierarchy)
_OBLAST_SERVICE_LEVELS = (
    frozenset({"oblast_code", "service_code"}),
    frozenset({"oblast_code", "service_group", "service_code"}),
    frozenset({"oblast_code", "service_group"}),
)


def _oblast_service_node(
    forecast: pl.DataFrame, oblast: str | None, service: str | None
) -> str | None:
    for columns in _OBLAST_SERVICE_LEVELS:
        where = {"oblast_code": oblast} if oblast else {}
        if service and "service_code" in columns:
            where["service_code"] = service
        node = _pick_node(forecast, columns, where)
        if node is not None:
            return node
    return None


def _forecast_section(data: ReportData, oblast: str | None, service: str | None) -> Section:
    title = "Forecasts"
    if not _present(data.forecast):
        return Section(title, empty="This run made no forecast.")
    fc = data.forecast
    assert fc is not None
    key = forecast_id_column(fc)
    oblasts, services = oblast_labels(data.territories), service_labels(data.services)
    figures: list[go.Figure] = []
    total = _pick_node(fc, frozenset(), {}) or ("total" if "total" in fc[key] else None)
    if total is not None:
        figures.append(fan_chart_figure(fc, total, data.history, label="Ukraine, all services"))
    oblast_node = _pick_node(
        fc, frozenset({"oblast_code"}), {"oblast_code": oblast} if oblast else {}
    )
    if oblast_node is not None:
        code = fc.filter(pl.col(key) == oblast_node)["oblast_code"][0]
        oblast = oblast or code
        figures.append(
            fan_chart_figure(fc, oblast_node, data.history, label=oblasts.get(code, code))
        )
    pair = _oblast_service_node(fc, oblast, service)
    if pair is not None:
        row = fc.filter(pl.col(key) == pair).row(0, named=True)
        what = row.get("service_code")
        what = services.get(what, what) if what else row.get("service_group")
        label = f"{oblasts.get(row['oblast_code'], row['oblast_code'])}, {what}"
        figures.append(fan_chart_figure(fc, pair, data.history, label=label))
    if _present(data.backtest):
        assert data.backtest is not None
        figures.append(backtest_figure(data.backtest))
    return Section(
        title,
        figures,
        note="Case-months per month: history, forecast mean, 80 % and 95 % prediction intervals. "
        "Backtest errors are scaled (MASE): below 1 beats the naive benchmark.",
        empty="The forecast has no total, oblast or service series to show.",
    )


def _by_scenario(frame: pl.DataFrame | None) -> list[tuple[str | None, pl.DataFrame]]:
    """Split a diff frame of several compared scenarios (a `scenario` column) into one per name."""
    if not _present(frame):
        return []
    assert frame is not None
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
        if not _present(cm) or not set(key) <= set(rows.columns):
            return None
        assert cm is not None
        rows = rows.join(cm.select(*key, "oblast_code"), on=key, how="left")
    return rows


def _plan_sections(data: ReportData, min_count: int) -> list[Section]:
    territories = data.territories
    allocation: list[go.Figure] = []
    if _present(data.allocation_by_territory):
        assert data.allocation_by_territory is not None
        allocation.append(allocation_figure(data.allocation_by_territory, territories))
    if _present(data.allocation_by_tier):
        assert data.allocation_by_tier is not None
        allocation.append(allocation_tiers_figure(data.allocation_by_tier))
    rows = _allocation_rows(data)
    if rows is not None:
        allocation.append(allocation_matrix_figure(rows, territories))
    scenario: list[go.Figure] = []
    for name, part in _by_scenario(data.scenario_territories):
        title = f"Scenario {name}: winners and losers by oblast" if name else None
        scenario.append(scenario_figure(part, territories, min_count=min_count, title=title))
    for name, part in _by_scenario(data.scenario_cases):
        cases = scenario_cases_figure(part)
        if name:
            cases.update_layout(title_text=f"Scenario {name}. {cases.layout.title.text}")
        scenario.append(cases)
    return [
        Section(
            "Allocation",
            allocation,
            note="The budget envelope spread over claims by the run's policy: allocated money "
            "and shortfall per oblast and per priority tier; coverage is allocated ÷ capped claim.",
            empty="This run made no allocation.",
        ),
        Section(
            "Scenario winners and losers",
            scenario,
            note="Scenario minus baseline: the state's money for served cases per oblast, and "
            "the change per case over the period.",
            empty="This run compared no scenario.",
        ),
    ]


def _validation_section(data: ReportData) -> Section:
    summary = data.quarantine_summary
    if summary is None:
        return Section("Validation and quarantine", empty="No validation summary in this run.")
    quarantined = (
        dict(summary.group_by("table").agg(pl.col("rows").sum()).iter_rows())
        if not summary.is_empty()
        else {}
    )
    table = {
        name: f"{read:,} rows read, {quarantined.get(name, 0):,} quarantined"
        + (f" ({quarantined.get(name, 0) / read:.2%})" if read else "")
        for name, read in data.rows_read.items()
    }
    return Section(
        "Validation and quarantine",
        [quarantine_figure(summary)],
        note="Rows that broke a rule were set aside with a reason; the valid rows went on.",
        table=table,
    )


def report_sections(
    data: ReportData,
    *,
    min_count: int = DEFAULT_MIN_COUNT,
    oblast: str | None = None,
    service: str | None = None,
) -> list[Section]:
    """The report's sections in reading order; `oblast` / `service` choose the forecast detail."""
    return [
        *_money_sections(data, min_count),
        _forecast_section(data, oblast, service),
        *_plan_sections(data, min_count),
        *execution_sections(data.execution, data.territories, data.services, min_count=min_count),
        _validation_section(data),
    ]


def build_report(
    data: ReportData,
    out: Path | str | None = None,
    *,
    min_count: int = DEFAULT_MIN_COUNT,
    oblast: str | None = None,
    service: str | None = None,
    title: str | None = None,
) -> str:
    """Render a run's report as one self-contained HTML document; write it to `out` if given.

    >>> import engine
    >>> registry = engine.read_registry("data_samples/registry")
    >>> model = engine.load_funding_model("models/funding/baseline")
    >>> territories = engine.load_territories()
    >>> priced = engine.compute_entitlements(registry, model, territories, months=("2026-01", "2026-03"))
    >>> html = build_report(ReportData(case_months=priced.case_months, territories=territories))
    >>> html.startswith("<!DOCTYPE html>"), "Plotly" in html
    (True, True)
    """
    run_id = data.run.get("run_id")
    heading = title or (f"Run report {run_id}" if run_id else "Run report")
    subtitle = "Money follows the recipient: entitlements, need, forecasts and allocations"
    doc = render_html(
        heading,
        report_sections(data, min_count=min_count, oblast=oblast, service=service),
        subtitle=subtitle,
        footer=f"Hromada-level cells under {min_count} people are suppressed. "
        "Generated by mfr-engine; this file needs no network to open.",
    )
    if out is not None:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(doc, encoding="utf-8")
        tmp.replace(path)  # a reader never sees half a report
    return doc
