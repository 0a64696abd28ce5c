"""Reports and figures: what planners open and analysts build on (DESIGN.md §8).

Every figure is a function from the engine's frames to a plotly `go.Figure`, usable in a notebook as
it is; `build_report` puts them into one self-contained HTML file per run (plotly.js inlined, opens
offline), in one language: Ukrainian by default, English with `lang="en"` (names of territories
and services too). Hromada-level numbers are
published only through `suppress_small_cells` (fewer than `min_count` people → blanked).

>>> from engine.report import oblast_summary, oblast_tiles_figure  # doctest: +SKIP
>>> oblast_tiles_figure(oblast_summary(case_months, territories), "coverage", territories).show()
"""

from __future__ import annotations

from engine.report._build import ReportData, build_report, report_sections
from engine.report._figures_budget import (
    budget_numbers,
    lorenz,
    lorenz_figure,
    plan_figure,
    scenario_groups_figure,
    scenario_groups_table_figure,
)
from engine.report._figures_forecast import backtest_figure, fan_chart_figure, node_history
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
    largest_hromadas,
    oblast_bars_figure,
    oblast_tiles_figure,
    publishable_hromadas,
    scale_range,
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
from engine.report._labels import REGION_TILES
from engine.report._store import (
    REPORT_TABLES,
    previous_run_id,
    report_data_from_store,
    report_data_from_tables,
)
from engine.report._summary import build_summary, summary_numbers
from engine.report._suppress import DEFAULT_MIN_COUNT, publishable, suppress_small_cells
from engine.report._text import DEFAULT_LANG, LANGS

__all__ = [
    "DEFAULT_LANG",
    "DEFAULT_MIN_COUNT",
    "LANGS",
    "REGION_TILES",
    "REPORT_TABLES",
    "ReportData",
    "Section",
    "allocation_figure",
    "allocation_matrix_figure",
    "allocation_tiers_figure",
    "backtest_figure",
    "budget_numbers",
    "build_report",
    "build_summary",
    "fan_chart_figure",
    "flows_sankey_figure",
    "headline_figure",
    "headline_numbers",
    "hromada_summary",
    "hromada_table_figure",
    "largest_hromadas",
    "lorenz",
    "lorenz_figure",
    "monthly_summary",
    "node_history",
    "oblast_bars_figure",
    "oblast_flows",
    "oblast_summary",
    "oblast_tiles_figure",
    "plan_figure",
    "previous_run_id",
    "publishable",
    "publishable_hromadas",
    "quarantine_figure",
    "region_flows",
    "render_html",
    "report_data_from_store",
    "report_data_from_tables",
    "report_sections",
    "scale_range",
    "scenario_cases_figure",
    "scenario_figure",
    "scenario_groups_figure",
    "scenario_groups_table_figure",
    "summary_numbers",
    "suppress_small_cells",
    "trend_figure",
]
