"""The report's budget-execution section: simulated totals beside what was paid (issue 16).

From a run's `execution_totals` (`engine.execution.compare_totals`): a tile map of the gap by
oblast over the report's span, the national gap per service split into people, volume and price,
and a table of the gaps beyond tolerance, coarsest level first. Hromada cells built from fewer
than `min_count` people (on either side) are blanked, with one more cell of the same oblast,
service and period where needed (`engine.execution.publishable_comparison`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from engine.money import format_uah
from engine.report._figures_territory import oblast_tiles_figure
from engine.report._html import Section
from engine.report._style import finish

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["execution_sections", "execution_split_figure", "execution_table_figure"]

_TITLE = "Budget execution: simulated beside paid"
_PART_COLORS = {"people": "#1f6fb2", "volume": "#2a9d8f", "price": "#e76f51"}
_TABLE_ROWS = 40


def _names(territories: pl.DataFrame | None, services: pl.DataFrame | None) -> dict[str, str]:
    names = {"UA": "Україна", "all": "all services"}
    if territories is not None:
        for level in ("hromada", "raion", "oblast"):
            names.update(dict(territories.select(f"{level}_code", f"{level}_name").iter_rows()))
    if services is not None:
        names.update(dict(services.select("service_code", "name_en").iter_rows()))
    return names


def execution_split_figure(table: pl.DataFrame, services: pl.DataFrame | None = None) -> go.Figure:
    """The national gap per service over the whole span, as stacked people, volume and price."""
    import plotly.graph_objects as go

    rows = table.filter((pl.col("level") == "national") & (pl.col("grain") == "year")).with_columns(
        pl.col("service_code").cast(pl.String)
    )
    rows = (
        rows.group_by("service_code")
        .agg(pl.col("gap_uah", "people_uah", "volume_uah", "price_uah").sum())
        .sort("gap_uah", "service_code")
    )
    names = _names(None, services)
    labels = [f"{c} {names.get(c, '')}".strip() for c in rows["service_code"]]
    fig = go.Figure()
    for part, color in _PART_COLORS.items():
        fig.add_trace(
            go.Bar(
                y=labels,
                x=[float(v) if v is not None else 0.0 for v in rows[f"{part}_uah"]],
                name=part,
                orientation="h",
                marker={"color": color},
                hovertemplate="%{y}<br>" + part + ": %{x:,.2f} UAH<extra></extra>",
            )
        )
    return finish(
        fig,
        "Paid − simulated per service (national, whole span): people + volume + price",
        barmode="relative",
        height=max(360, 22 * rows.height + 160),
        xaxis={"title": {"text": "UAH"}, "tickformat": "~s"},
        margin={"l": 260},
    )


def execution_table_figure(
    table: pl.DataFrame,
    territories: pl.DataFrame | None = None,
    services: pl.DataFrame | None = None,
    *,
    min_count: int = 5,
) -> go.Figure:
    """The gaps beyond tolerance, coarsest level and largest gap first (small cells blanked)."""
    import plotly.graph_objects as go

    from engine.execution import flagged_gaps, publishable_comparison

    shown = (
        table
        if territories is None
        else publishable_comparison(table, territories, min_count=min_count)
    )
    if "suppressed" in shown.columns:
        shown = shown.filter(~pl.col("suppressed"))
    rows = flagged_gaps(shown, _TABLE_ROWS)
    names = _names(territories, services)

    def money(column: str) -> list[str]:
        return [format_uah(v, exact=True) for v in rows[column]]

    cells = [
        [str(v) for v in rows["level"]],
        [f"{c} {names.get(str(c), '')}" for c in rows["territory_code"]],
        [f"{c} {names.get(str(c), '')}" for c in rows["service_code"]],
        rows["period"].to_list(),
        money("sim_uah"),
        money("paid_uah"),
        money("gap_uah"),
        ["–" if v is None else f"{v:+.1%}" for v in rows["gap_pct"]],
        money("people_uah"),
        money("volume_uah"),
        money("price_uah"),
        [f"{d}{' (timing)' if t else ''}" for d, t in rows.select("dominant", "timing").rows()],
    ]
    header = [
        *("level", "territory", "service", "period", "simulated, UAH", "paid, UAH"),
        *("gap, UAH", "gap, %", "people", "volume", "price", "mostly"),
    ]
    fig = go.Figure(
        go.Table(
            header={"values": header, "align": "left", "fill_color": "#e8eef5"},
            cells={"values": cells, "align": ["left"] * 4 + ["right"] * 7 + ["left"]},
            columnwidth=[60, 180, 160, 60, 90, 90, 110, 60, 90, 90, 90, 90],
        )
    )
    return finish(
        fig,
        f"Gaps beyond tolerance (the {rows.height} largest)",
        height=max(300, 26 * rows.height + 140),
    )


def execution_sections(
    table: pl.DataFrame | None,
    territories: pl.DataFrame | None = None,
    services: pl.DataFrame | None = None,
    *,
    min_count: int = 5,
) -> list[Section]:
    """The report's budget-execution section (one `Section`; a run without a report says so)."""
    if table is None or table.is_empty():
        return [Section(_TITLE, empty="This run compared no budget-execution report.")]
    oblasts = (
        table.filter(
            (pl.col("level") == "oblast")
            & (pl.col("service_code").cast(pl.String) == "all")
            & (pl.col("grain") == "year")
        )
        .with_columns(oblast_code=pl.col("territory_code").cast(pl.String))
        .group_by("oblast_code")
        .agg(pl.col("sim_uah", "gap_uah").sum())
        .with_columns(gap_uah=pl.col("gap_uah").cast(pl.Float64))
    )
    figures = [
        oblast_tiles_figure(
            oblasts.select("oblast_code", "gap_uah"),
            "gap_uah",
            territories,
            title="Paid − simulated by oblast, all services, whole span",
            label="UAH",
            colorscale="RdBu",
        ),
        execution_split_figure(table, services),
        execution_table_figure(table, territories, services, min_count=min_count),
    ]
    flagged = int(table["flagged"].sum())
    return [
        Section(
            _TITLE,
            figures,
            note="The state's share of the simulated entitlements beside what the budget-"
            "execution report says was paid, at every level where both exist; each gap (paid − "
            "simulated) is split exactly into people (recipients paid for vs in the registry), "
            "volume (case-months per person) and price (money per case-month). Timing marks a "
            f"quarter or month whose year is within tolerance. {flagged:,} cells are beyond "
            f"tolerance; hromada cells of fewer than {min_count} people are not shown.",
        )
    ]
