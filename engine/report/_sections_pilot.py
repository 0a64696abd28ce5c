"""Pilot monitoring in the report: pilot hromadas against comparable ones, month by month, and the
difference-in-differences estimate of each indicator with its 95 % interval (`engine.pilot`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from engine.report._html import Section
from engine.report._style import COLORS, finish
from engine.report._text import DEFAULT_LANG, tr

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from engine.report._data import ReportData

__all__ = ["pilot_effects_figure", "pilot_figure", "pilot_sections"]

_INDICATORS = {  # indicator -> (Ukrainian, English, number format)
    "coverage": ("охоплення потреби", "coverage of need", ".0%"),
    "waiting_cases": ("очікувані випадки на громаду", "waiting cases per hromada", ",.2f"),
    "months_waited": ("місяців очікування в середньому", "average months waited", ",.1f"),
    "uah_per_case_month": ("грн на випадко-місяць", "UAH per case-month", ",.0f"),
    "nonstate_share": ("частка недержавних надавачів", "non-state share", ".0%"),
    "idp_share": ("частка ВПО", "IDP share", ".0%"),
}


def _name(indicator: str, lang: str) -> str:
    uk, en, _ = _INDICATORS.get(indicator, (indicator, indicator, ""))
    return uk if lang == "uk" else en


def pilot_figure(
    series: pl.DataFrame, start: dt.date, *, title: str | None = None, lang: str = DEFAULT_LANG
) -> go.Figure:
    """One small chart per indicator: the pilot's monthly mean against the comparison's, a dashed
    line where the pilot starts; `series` is `engine.pilot.pilot_series`."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    shown = [c for c in _INDICATORS if c in series.columns and series[c].drop_nulls().len()]
    cols = 2
    rows = max(1, -(-len(shown) // cols))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[_name(c, lang) for c in shown],
        vertical_spacing=0.12,
        horizontal_spacing=0.1,
    )
    for i, column in enumerate(shown):
        row, col = i // cols + 1, i % cols + 1
        for group, color in (("pilot", COLORS["waiting"]), ("comparison", COLORS["served"])):
            part = series.filter(pl.col("group") == group).sort("month")
            fig.add_trace(
                go.Scatter(
                    x=part["month"].to_list(),
                    y=part[column].to_list(),
                    mode="lines+markers",
                    marker={"size": 4},
                    line={"color": color},
                    name=tr(f"pilot_{group}", lang),
                    legendgroup=group,
                    showlegend=i == 0,
                ),
                row=row,
                col=col,
            )
        fig.add_vline(x=start, line_dash="dash", line_color="#888", row=row, col=col)
        fig.update_yaxes(tickformat=_INDICATORS[column][2], row=row, col=col)
        fig.update_xaxes(tickformat="%Y-%m", row=row, col=col)
    return finish(fig, title or tr("pilot_title", lang), height=230 * rows + 140)


def pilot_effects_figure(
    effects: pl.DataFrame, *, title: str | None = None, lang: str = DEFAULT_LANG
) -> go.Figure:
    """The difference-in-differences estimates as a table: before and after for each group, the
    estimate and its 95 % interval, and how many hromadas each group has."""
    import plotly.graph_objects as go

    def fmt(indicator: str, value: float | None) -> str:
        if value is None:
            return "—"
        spec = _INDICATORS.get(indicator, ("", "", ",.2f"))[2]
        return (
            f"{value * 100:+.1f} п. п."
            if spec == ".0%" and lang == "uk"
            else (f"{value * 100:+.1f} pts" if spec == ".0%" else f"{value:+{spec}}")
        )

    def level(indicator: str, value: float | None) -> str:
        if value is None:
            return "—"
        return format(value, _INDICATORS.get(indicator, ("", "", ",.2f"))[2])

    rows = effects.to_dicts()
    columns = {
        tr("pilot_indicator", lang): [_name(r["indicator"], lang) for r in rows],
        tr("pilot_before_after", lang): [
            f"{level(r['indicator'], r['pilot_before'])} → {level(r['indicator'], r['pilot_after'])}"
            for r in rows
        ],
        tr("comparison_before_after", lang): [
            f"{level(r['indicator'], r['comparison_before'])} → "
            f"{level(r['indicator'], r['comparison_after'])}"
            for r in rows
        ],
        tr("did", lang): [fmt(r["indicator"], r["did"]) for r in rows],
        tr("interval95", lang): [
            f"{fmt(r['indicator'], r['lo_95'])} … {fmt(r['indicator'], r['hi_95'])}" for r in rows
        ],
        tr("hromadas_n", lang): [
            f"{r['pilot_hromadas']} / {r['comparison_hromadas']}" for r in rows
        ],
    }
    fig = go.Figure(
        go.Table(
            columnwidth=[1.6, 1.3, 1.3, 1, 1.5, 0.8],
            header={"values": list(columns), "align": "left"},
            cells={"values": list(columns.values()), "align": "left", "height": 24},
        )
    )
    return finish(
        fig,
        title or tr("pilot_effects_title", lang),
        height=46 * len(rows) + 170,
        margin={"l": 10, "r": 10},
    )


def pilot_sections(data: ReportData, lang: str) -> list[Section]:
    """The pilot's section: of the pilot the report is given (`data.pilot`, measured here from
    the run's need), else of the one the run spec named (its stored `pilot_indicators` and
    `pilot_effects`)."""
    from engine.pilot import Pilot, pilot_effects, pilot_panel, pilot_series

    pilot, need = data.pilot, data.need
    if pilot is not None and need is not None and not need.is_empty():
        panel = pilot_panel(need, data.case_months, pilot)
        effects = pilot_effects(panel, pilot.start)
    elif data.pilot_indicators is not None and not data.pilot_indicators.is_empty():
        panel = data.pilot_indicators
        first = panel.row(0, named=True)
        pilot = Pilot(str(first["pilot"]), first["pilot_start"], (), str(first["comparison"]))
        effects = data.pilot_effects if data.pilot_effects is not None else pl.DataFrame()
    else:
        return []
    figures = [pilot_figure(pilot_series(panel), pilot.start, lang=lang)]
    if not effects.is_empty():
        figures.append(pilot_effects_figure(effects, lang=lang))
    groups = panel.group_by(pl.col("group").cast(pl.String)).agg(pl.col("hromada_code").n_unique())
    counts = dict(groups.iter_rows())
    note = tr(
        "pilot_note",
        lang,
        name=pilot.name,
        start=pilot.start.isoformat(),
        pilots=counts.get("pilot", 0),
        others=counts.get("comparison", 0),
        how=tr(f"pilot_{pilot.comparison.replace('-', '_')}", lang),
    )
    return [Section(tr("s_pilot", lang), figures, note=note)]
