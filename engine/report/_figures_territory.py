"""Territorial figures: money, need and coverage by oblast (bars and a tile map), hromada table."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from engine.money import format_uah
from engine.report._labels import REGION_TILES, hromada_labels, oblast_labels, region_key
from engine.report._style import COLORS, finish, is_share
from engine.report._suppress import DEFAULT_MIN_COUNT, suppress_small_cells

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "hromada_table_figure",
    "oblast_bars_figure",
    "oblast_tiles_figure",
    "publishable_hromadas",
]

_GRID_ROWS = 1 + max(r for r, _ in REGION_TILES.values())
_GRID_COLS = 1 + max(c for _, c in REGION_TILES.values())


def _require(frame: pl.DataFrame, columns: list[str], figure: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{figure}: missing column(s) {missing}; got {frame.columns}")


def oblast_bars_figure(
    summary: pl.DataFrame, territories: pl.DataFrame | None = None, *, title: str | None = None
) -> go.Figure:
    """Entitlement (served), unmet need (waiting) and coverage per oblast, side by side.

    `summary` has `oblast_code, entitled_uah, unmet_uah, coverage` — e.g. `oblast_summary(...)`.
    Oblasts are sorted by total need, the largest on top.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    _require(summary, ["oblast_code", "entitled_uah", "unmet_uah", "coverage"], "oblast bars")
    names = oblast_labels(territories)
    rows = summary.with_columns(
        _need=pl.col("entitled_uah").fill_null(0) + pl.col("unmet_uah").fill_null(0)
    ).sort("_need", "oblast_code")
    labels = [names.get(c, c) for c in rows["oblast_code"]]
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        column_widths=[0.7, 0.3],
        horizontal_spacing=0.03,
        subplot_titles=("Money owed, UAH (state share)", "Coverage of need"),
    )
    fig.add_trace(
        go.Bar(
            y=labels,
            x=rows["entitled_uah"].to_list(),
            orientation="h",
            name="Entitlement: served cases",
            marker_color=COLORS["served"],
            hovertemplate="%{y}<br>served: %{x:,.0f} UAH<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            y=labels,
            x=rows["unmet_uah"].to_list(),
            orientation="h",
            name="Unmet need: waiting cases",
            marker_color=COLORS["waiting"],
            hovertemplate="%{y}<br>waiting: %{x:,.0f} UAH<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            y=labels,
            x=rows["coverage"].to_list(),
            orientation="h",
            name="Coverage (served ÷ all case-months)",
            marker_color=COLORS["allocated"],
            hovertemplate="%{y}<br>coverage: %{x:.1%}<extra></extra>",
        ),
        row=1,
        col=2,
    )
    fig.update_xaxes(tickformat=".0%", range=[0, 1], row=1, col=2)
    return finish(
        fig,
        title or "Entitlement, need and coverage by oblast",
        barmode="stack",
        height=max(420, 24 * rows.height + 140),
    )


def oblast_tiles_figure(
    summary: pl.DataFrame,
    value: str = "coverage",
    territories: pl.DataFrame | None = None,
    *,
    title: str | None = None,
    label: str | None = None,
    colorscale: str = "Blues",
) -> go.Figure:
    """A map-like tile grid of Ukraine's 27 regions coloured by `value` of `summary`.

    `summary` has `oblast_code` and the `value` column, one row per region — e.g.
    `oblast_summary(...)`, or one month of `need_indicators(...)` (its oblast rows are used).
    Regions without a row are drawn grey and marked "no data", so they stay visible. `label`
    names the colour scale (default: the column name).
    """
    import plotly.graph_objects as go

    if "level" in summary.columns and "territory_code" in summary.columns:
        summary = summary.filter(pl.col("level") == "oblast").with_columns(
            oblast_code=pl.col("territory_code")
        )
    _require(summary, ["oblast_code", value], "oblast tiles")
    if summary["oblast_code"].is_duplicated().any():
        raise ValueError("oblast tiles: one row per oblast expected (filter to one month first)")
    names = oblast_labels(territories)
    values: dict[str, float | None] = dict(
        zip(summary["oblast_code"].to_list(), summary[value].to_list(), strict=True)
    )
    by_key = {region_key(code): (code, v) for code, v in values.items()}
    codes = {region_key(c): c for c in names} | {k: code for k, (code, _) in by_key.items()}
    share = is_share(value)

    def _fmt(v: float | None) -> str:
        if v is None:
            return "no data"
        return f"{v:.0%}" if share else format_uah(v) if "uah" in value else f"{v:,.1f}"

    z: list[list[float | None]] = [[None] * _GRID_COLS for _ in range(_GRID_ROWS)]
    text = [[""] * _GRID_COLS for _ in range(_GRID_ROWS)]
    blank_z: list[list[float | None]] = [[None] * _GRID_COLS for _ in range(_GRID_ROWS)]
    blank_text = [[""] * _GRID_COLS for _ in range(_GRID_ROWS)]
    for key, (row, col) in REGION_TILES.items():
        code = codes.get(key, f"UA{key}")
        name = names.get(code, code)
        v = by_key.get(key, (code, None))[1]
        if v is None:
            blank_z[row][col] = 0.0
            blank_text[row][col] = f"{_wrap(name)}<br>{_fmt(None)}"
        else:
            z[row][col] = v
            text[row][col] = f"{_wrap(name)}<br>{_fmt(v)}"
    common = {"xgap": 3, "ygap": 3, "hoverinfo": "text", "texttemplate": "%{text}"}
    fig = go.Figure(
        [
            go.Heatmap(
                z=blank_z,
                text=blank_text,
                colorscale=[[0, "#e5e5e5"], [1, "#e5e5e5"]],
                showscale=False,
                textfont={"size": 10, "color": "#666"},
                **common,
            ),
            go.Heatmap(
                z=z,
                text=text,
                colorscale=colorscale,
                colorbar={"title": {"text": label or value}, "tickformat": ".0%" if share else ""},
                textfont={"size": 10},
                zmin=0 if share else None,
                zmax=1 if share else None,
                **common,
            ),
        ]
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", scaleratio=0.75)
    return finish(fig, title or f"{value} by region", height=520)


def _wrap(name: str) -> str:
    """Long compound names on two lines so they fit a tile: Івано-Франківська -> Івано-<br>…"""
    if len(name) > 12 and "-" in name:
        head, tail = name.split("-", 1)
        return f"{head}-<br>{tail}"
    if len(name) > 14 and " " in name:
        head, tail = name.rsplit(" ", 1)
        return f"{head}<br>{tail}"
    return name


_TABLE_COLUMNS = {
    "oblast": "Oblast",
    "hromada": "Hromada",
    "recipients": "Served people",
    "waiting_recipients": "Waiting people",
    "served_case_months": "Served case-months",
    "entitled_uah": "Entitlement, UAH",
    "unmet_uah": "Unmet need, UAH",
    "coverage": "Coverage",
}


def publishable_hromadas(
    summary: pl.DataFrame, *, min_count: int = DEFAULT_MIN_COUNT
) -> pl.DataFrame:
    """`hromada_summary` with small cells suppressed, served and waiting people counted apart.

    Values built from served people are blanked when fewer than `min_count` are served; those built
    from waiting people when fewer than `min_count` wait; need and coverage mix both and go with
    either. Oblast totals are published elsewhere, so suppression is completed within each oblast.
    """
    served = ["recipients", "served_case_months", "entitled_uah", "idp_uah"]
    waiting = ["waiting_recipients", "waiting_case_months", "unmet_uah"]
    mixed = ["need_uah", "coverage"]
    out = summary
    for count, values in (("recipients", served), ("waiting_recipients", waiting)):
        out = suppress_small_cells(
            out,
            count=count,
            values=[c for c in [*values, *mixed] if c in out.columns],
            min_count=min_count,
            group_by=["oblast_code"],
        )
    return out


def hromada_table_figure(
    summary: pl.DataFrame,
    territories: pl.DataFrame | None = None,
    *,
    min_count: int = DEFAULT_MIN_COUNT,
    top: int = 25,
    title: str | None = None,
) -> go.Figure:
    """The `top` hromadas by need as a table, small cells suppressed (`publishable_hromadas`).

    `summary` is `hromada_summary(...)`. Suppressed cells read "< {min_count}" for people and "·"
    for amounts; suppression happens here, so this figure is safe to publish as it is.
    """
    import plotly.graph_objects as go

    _require(summary, ["oblast_code", "hromada_code", "recipients"], "hromada table")
    safe = publishable_hromadas(summary, min_count=min_count)
    rows = safe.sort(
        pl.col("need_uah").fill_null(-1.0), "hromada_code", descending=[True, False]
    ).head(top)
    oblasts, hromadas = oblast_labels(territories), hromada_labels(territories)
    cells: dict[str, list[str]] = {
        "oblast": [oblasts.get(c, c) for c in rows["oblast_code"]],
        "hromada": [hromadas.get(c, c) for c in rows["hromada_code"]],
    }
    hidden = f"< {min_count}"
    for column in _TABLE_COLUMNS:
        if column in cells or column not in rows.columns:
            continue
        out = []
        for v in rows[column].to_list():
            if v is None:
                out.append(hidden if column.endswith("recipients") else "·")
            elif is_share(column):
                out.append(f"{v:.0%}")
            elif column.endswith("uah"):
                out.append(f"{v:,.0f}")
            elif isinstance(v, float):
                out.append(f"{v:,.1f}")
            else:
                out.append(f"{v:,}")
        cells[column] = out
    fig = go.Figure(
        go.Table(
            header={"values": [_TABLE_COLUMNS[c] for c in cells], "align": "left"},
            cells={"values": list(cells.values()), "align": "left", "height": 24},
        )
    )
    return finish(
        fig,
        title or f"Hromadas with the largest need (cells under {min_count} people suppressed)",
        height=max(300, 28 * rows.height + 120),
    )
