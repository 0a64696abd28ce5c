"""Forecast figures: fan charts with 80 % and 95 % bands, backtest accuracy and interval coverage
against nominal by level."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from engine.report._style import COLORS, finish
from engine.report._text import DEFAULT_LANG, tr

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "backtest_figure",
    "coverage_figure",
    "fan_chart_figure",
    "forecast_id_column",
    "node_history",
]

_UNRECONCILED = {"none", "base", ""}
_NOT_KEYS = {"unique_id", "node", "level", "ds", "mean", "model", "method", "target"}


def forecast_id_column(frame: pl.DataFrame) -> str:
    """The series key of a forecast-like frame: `unique_id` (statsforecast convention) or `node`."""
    for column in ("unique_id", "node"):
        if column in frame.columns:
            return column
    raise ValueError(f"no series key ('unique_id' or 'node') in {frame.columns}")


def node_history(
    history: pl.DataFrame,
    forecast: pl.DataFrame,
    node: str,
    *,
    date_col: str = "ds",
    value_col: str = "y",
) -> pl.DataFrame:
    """The actuals of one forecast node as `ds, y`.

    `history` is either long by node (`unique_id`, `date_col`, `value_col`) or the bottom-level
    series the forecast was fitted on (the hierarchy's key columns, `date_col`, `value_col`), which
    are then summed over the node's members: a node's key columns are those of the forecast frame
    that are not forecast values, and it aggregates over the ones that are null on its rows.
    """
    key = forecast_id_column(forecast)
    hkey = next((c for c in ("unique_id", "node") if c in history.columns), None)
    if hkey is not None:
        past = history.filter(pl.col(hkey) == node)
    else:
        row = forecast.filter(pl.col(key) == node).row(0, named=True)
        members = {
            c: v
            for c, v in row.items()
            if c not in _NOT_KEYS and not c.startswith(("lo_", "hi_")) and v is not None
        }
        missing = [c for c in members if c not in history.columns]
        if missing:
            raise ValueError(f"history: missing key column(s) {missing} of node {node!r}")
        past = history.filter(*[pl.col(c) == v for c, v in members.items()]) if members else history
    return (
        past.group_by(date_col)
        .agg(pl.col(value_col).sum())
        .sort(date_col)
        .select(pl.col(date_col).alias("ds"), pl.col(value_col).alias("y"))
    )


def fan_chart_figure(
    forecast: pl.DataFrame,
    node: str,
    history: pl.DataFrame | None = None,
    *,
    label: str | None = None,
    value_label: str | None = None,
    title: str | None = None,
    lang: str = DEFAULT_LANG,
) -> go.Figure:
    """One series' forecast as a fan: mean line, 80 % and 95 % bands, history before it.

    A reconciled forecast (a `method` column other than none/base) is labelled by its
    reconciliation, not by the base model it started from: after reconciliation the line is no
    longer that model's forecast (the base model is still named on hover).

    `forecast` has the series key (`unique_id` or `node`), `ds`, `mean` and the optional bands
    `lo_80, hi_80, lo_95, hi_95` (e.g. `ForecastResult.forecasts`); `history` (optional) holds the
    actuals, by node or as the bottom-level series (see `node_history`), with `ds` and `y`.
    """
    import plotly.graph_objects as go

    key = forecast_id_column(forecast)
    rows = forecast.filter(pl.col(key) == node).sort("ds")
    if rows.is_empty():
        known = forecast[key].unique().sort().head(5).to_list()
        raise ValueError(f"fan chart: no forecast for series {node!r} (e.g. {known})")
    ds = rows["ds"].to_list()
    value_label = value_label or tr("cm_per_month", lang)
    fig = go.Figure()
    for lo, hi, color, name in (
        ("lo_95", "hi_95", COLORS["band95"], tr("interval95", lang)),
        ("lo_80", "hi_80", COLORS["band80"], tr("interval80", lang)),
    ):
        if lo not in rows.columns or hi not in rows.columns:
            continue
        fig.add_trace(
            go.Scatter(
                x=ds + ds[::-1],
                y=rows[hi].to_list() + rows[lo].to_list()[::-1],
                fill="toself",
                fillcolor=color,
                line={"width": 0},
                hoverinfo="skip",
                name=name,
            )
        )
    if history is not None:
        past = node_history(history, forecast, node)
        fig.add_trace(
            go.Scatter(
                x=past["ds"].to_list(),
                y=past["y"].to_list(),
                mode="lines+markers",
                marker={"size": 4},
                line={"color": COLORS["history"]},
                name=tr("actual", lang),
                hovertemplate=f"%{{x|%Y-%m}}: %{{y:,.1f}} {value_label}"
                f"<extra>{tr('actual', lang)}</extra>",
            )
        )
    model = rows["model"][0] if "model" in rows.columns else None
    method = rows["method"][0] if "method" in rows.columns else None
    if method is not None and str(method).lower() not in _UNRECONCILED:
        name = tr("forecast_reconciled", lang, method=method)
    else:
        name = f"{tr('forecast', lang)} ({model})" if model else tr("forecast", lang)
    base = f" · {model}" if model else ""
    fig.add_trace(
        go.Scatter(
            x=ds,
            y=rows["mean"].to_list(),
            mode="lines",
            line={"color": COLORS["forecast"], "width": 2.5},
            name=name,
            hovertemplate=f"%{{x|%Y-%m}}: %{{y:,.1f}} {value_label}<extra>{name}{base}</extra>",
        )
    )
    fig.update_yaxes(title_text=value_label, rangemode="tozero")
    fig.update_xaxes(tickformat="%Y-%m")  # numeric months read the same in either language
    return finish(fig, title or tr("forecast_title", lang, label=label or node), height=420)


def backtest_figure(
    backtest: pl.DataFrame,
    *,
    metric: str | None = None,
    by: str = "level",
    title: str | None = None,
    lang: str = DEFAULT_LANG,
) -> go.Figure:
    """Backtest accuracy per hierarchy level (or any `by` column), one bar per method or model.

    `backtest` is `engine.forecasting.backtest(...)` or its `summarise_backtest`: `by`, `method` (or
    `model`) and the `metric` column (default: the first of `mase`, `rmsse`, `coverage_80`,
    `coverage_95` present); several rows per bar (origins) are averaged. For coverage a dashed line
    marks the nominal level. Scaled errors get no line at 1: they are scaled by the naive method's
    one-step error in the history, so over several months ahead the naive benchmark itself scores
    above 1 — its own bars (`naive`, `seasonal_naive`) are the reference.
    """
    import plotly.graph_objects as go

    if metric is None:
        found = [
            m for m in ("mase", "rmsse", "coverage_80", "coverage_95") if m in backtest.columns
        ]
        if not found:
            raise ValueError(f"backtest: no metric column in {backtest.columns}")
        metric = found[0]
    if by not in backtest.columns or metric not in backtest.columns:
        raise ValueError(f"backtest: need columns {by!r} and {metric!r}; got {backtest.columns}")
    series = next((c for c in ("method", "model") if c in backtest.columns), None)
    keys = [by, series] if series else [by]
    # levels keep the frame's order (the hierarchy's, coarse to fine)
    rows = backtest.group_by(keys, maintain_order=True).agg(pl.col(metric).mean())
    fig = go.Figure()
    names = rows[series].unique(maintain_order=True).to_list() if series else [None]
    for name in names:
        part = rows if name is None or series is None else rows.filter(pl.col(series) == name)
        fig.add_trace(
            go.Bar(  # horizontal: long level names read across, never rotated under a legend
                y=[str(v) for v in part[by].to_list()],
                x=part[metric].to_list(),
                orientation="h",
                name=str(name) if name is not None else metric,
                hovertemplate=f"%{{y}}: {metric} %{{x:.3f}}<extra>{name or ''}</extra>",
            )
        )
    if metric.startswith("coverage_"):
        fig.add_vline(x=int(metric.rsplit("_", 1)[1]) / 100, line_dash="dash", line_color="#888")
    fig.update_xaxes(title_text=metric)
    fig.update_yaxes(autorange="reversed", automargin=True)
    levels = rows[by].n_unique()
    return finish(
        fig,
        title or tr("backtest_title", lang, metric=metric),
        barmode="group",
        height=max(300, 40 * levels * max(1, len(names)) // 2 + 160),
        legend={"y": -0.25},
    )


# the coverage chart's own words (one language per output, as `_text`)
_COVERAGE_WORDS = {
    "uk": ("покриття інтервалів", "частка фактів усередині інтервалу", "номінал"),
    "en": ("interval coverage", "share of actuals inside the interval", "nominal"),
}
_BENCHMARKS = {"naive", "seasonal_naive"}
_METHOD_COLORS = ("#1f6fb2", "#2a9d8f", "#e76f51", "#6a4c93", "#333333", "#d1495b")


def coverage_figure(
    backtest: pl.DataFrame,
    *,
    by: str = "level",
    methods: list[str] | None = None,
    title: str | None = None,
    lang: str = DEFAULT_LANG,
) -> go.Figure:
    """Interval coverage against nominal per hierarchy level: one marker per level, method and
    nominal level (the mean over the backtest's origins), a bar from the lowest to the highest
    origin (with a few origins one level's coverage is a few paths, not a measurement), and a
    dashed line at each nominal level with a shaded ±5-point band around it.

    `backtest` is `engine.forecasting.backtest(...)`: `by`, `method`, `origin` (optional) and
    `coverage_<level>` columns. `methods`: which to show (default: every method but the naive
    benchmarks).
    """
    import plotly.graph_objects as go

    cover = [c for c in backtest.columns if c.startswith("coverage_")]
    if not cover or by not in backtest.columns:
        raise ValueError(f"coverage: need {by!r} and coverage_* columns; got {backtest.columns}")
    table = backtest if "method" in backtest.columns else backtest.with_columns(method=pl.lit(""))
    if methods is None:
        methods = [m for m in table["method"].unique(maintain_order=True) if m not in _BENCHMARKS]
    table = table.filter(pl.col("method").is_in(methods))
    words = _COVERAGE_WORDS.get(lang, _COVERAGE_WORDS["en"])
    fig = go.Figure()
    symbols = ("circle", "diamond", "square", "triangle-up", "cross")
    for j, column in enumerate(cover):
        nominal = float(column.split("_", 1)[1].replace("_", ".")) / 100
        fig.add_vrect(x0=nominal - 0.05, x1=nominal + 0.05, fillcolor="#888", opacity=0.12,
                      line_width=0)  # fmt: skip
        fig.add_vline(x=nominal, line_dash="dash", line_color="#888")
        rows = table.group_by(by, "method", maintain_order=True).agg(
            pl.col(column).mean().alias("mean"),
            pl.col(column).min().alias("low"),
            pl.col(column).max().alias("high"),
            pl.len().alias("origins"),
        )
        for k, method in enumerate(methods):
            part = rows.filter(pl.col("method") == method)
            if part.is_empty():
                continue
            mean = part["mean"].to_numpy()
            fig.add_trace(
                go.Scatter(
                    y=[str(v) for v in part[by].to_list()],
                    x=mean,
                    mode="markers",
                    marker={"symbol": symbols[j % len(symbols)], "size": 9,
                            "color": _METHOD_COLORS[k % len(_METHOD_COLORS)]},
                    error_x={"type": "data", "symmetric": False,
                             "array": part["high"].to_numpy() - mean,
                             "arrayminus": mean - part["low"].to_numpy(), "thickness": 1},
                    name=f"{method} {int(nominal * 100)} %".strip(),
                    customdata=part["origins"].to_numpy(),
                    hovertemplate=f"%{{y}}: %{{x:.3f}} ({words[2]} {nominal:.2f}, "
                    f"%{{customdata}} origins)<extra>{method}</extra>",
                )
            )  # fmt: skip
    fig.update_xaxes(title_text=words[1], range=[0, 1.02])
    fig.update_yaxes(autorange="reversed", automargin=True)
    levels = table[by].n_unique()
    return finish(
        fig,
        title or tr("backtest_title", lang, metric=words[0]),
        height=max(300, 28 * levels + 200),
        legend={"y": -0.25},
    )
