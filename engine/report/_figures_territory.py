"""Territorial figures: money, need and coverage by oblast (bars and a tile map), hromada table."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import polars as pl

from engine.money import format_uah
from engine.report._labels import REGION_TILES, hromada_labels, oblast_labels, region_key
from engine.report._style import COLORS, finish, is_share
from engine.report._suppress import DEFAULT_MIN_COUNT, suppress_small_cells
from engine.report._text import DEFAULT_LANG, tr

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "hromada_table_figure",
    "largest_hromadas",
    "oblast_bars_figure",
    "oblast_tiles_figure",
    "publishable_hromadas",
    "scale_range",
]

_GRID_ROWS = 1 + max(r for r, _ in REGION_TILES.values())
_GRID_COLS = 1 + max(c for _, c in REGION_TILES.values())


def _require(frame: pl.DataFrame, columns: list[str], figure: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{figure}: missing column(s) {missing}; got {frame.columns}")


def scale_range(values: list[float | None], *, share: bool) -> tuple[float, float] | None:
    """The colour or axis range of `values`: from their lowest to their highest, widened to the
    nearest 5 % for shares (so 96–98 % is not one colour on a 0–100 % scale); None without values.

    >>> scale_range([0.962, 0.981, None], share=True)
    (0.95, 1.0)
    """
    present = [float(v) for v in values if v is not None]
    if not present:
        return None
    low, high = min(present), max(present)
    if share:
        low, high = math.floor(low * 20) / 20, math.ceil(high * 20) / 20
        if high - low < 0.05:
            low, high = max(0.0, high - 0.05), min(1.0, max(high, low + 0.05))
    elif high == low:
        low, high = (0.0, high) if high > 0 else (high - 1.0, high + 1.0)
    return low, high


def oblast_bars_figure(
    summary: pl.DataFrame,
    territories: pl.DataFrame | None = None,
    *,
    title: str | None = None,
    lang: str = DEFAULT_LANG,
) -> go.Figure:
    """Entitlement (served) and unmet need (waiting) per oblast in UAH, coverage beside them.

    `summary` has `oblast_code, entitled_uah, unmet_uah, coverage` — e.g. `oblast_summary(...)`.
    Oblasts are sorted by total need, the largest on top. Coverage is drawn as dots on an axis
    scaled to the oblasts' range (`scale_range`), so close values stay apart.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    _require(summary, ["oblast_code", "entitled_uah", "unmet_uah", "coverage"], "oblast bars")
    names = oblast_labels(territories, lang)
    rows = summary.with_columns(
        _need=pl.col("entitled_uah").fill_null(0) + pl.col("unmet_uah").fill_null(0)
    ).sort("_need", "oblast_code")
    labels = [names.get(c, c) for c in rows["oblast_code"]]
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        column_widths=[0.68, 0.32],
        horizontal_spacing=0.07,
        subplot_titles=(tr("money_owed", lang), tr("coverage_of_need", lang)),
    )
    uah = tr("uah", lang)
    for column, text, color in (
        ("entitled_uah", "entitled_legend", COLORS["served"]),
        ("unmet_uah", "unmet_legend", COLORS["waiting"]),
    ):
        fig.add_trace(
            go.Bar(
                y=labels,
                x=rows[column].to_list(),
                orientation="h",
                name=tr(text, lang),
                marker_color=color,
                hovertemplate=f"%{{y}}<br>%{{x:,.0f}} {uah}<extra>{tr(text, lang)}</extra>",
            ),
            row=1,
            col=1,
        )
    coverage = rows["coverage"].to_list()
    fig.add_trace(
        go.Scatter(
            y=labels,
            x=coverage,
            mode="markers",
            name=tr("coverage_legend", lang),
            marker={"color": COLORS["allocated"], "size": 9},
            hovertemplate="%{y}<br>%{x:.1%}<extra></extra>",
        ),
        row=1,
        col=2,
    )
    span = scale_range(coverage, share=True) or (0.0, 1.0)
    pad = (span[1] - span[0]) * 0.06
    fig.update_xaxes(title_text=uah, tickformat=",.0f", row=1, col=1)
    fig.update_xaxes(tickformat=".0%", range=[span[0] - pad, span[1] + pad], nticks=4, row=1, col=2)
    return finish(
        fig,
        title or tr("s_oblasts", lang),
        barmode="stack",
        height=max(420, 24 * rows.height + 170),
        legend={"y": -0.08, "yanchor": "top", "yref": "paper"},
        margin={"b": 90},
    )


def oblast_tiles_figure(
    summary: pl.DataFrame,
    value: str = "coverage",
    territories: pl.DataFrame | None = None,
    *,
    title: str | None = None,
    label: str | None = None,
    colorscale: str = "Blues",
    lang: str = DEFAULT_LANG,
) -> go.Figure:
    """A map-like tile grid of Ukraine's 27 regions coloured by `value` of `summary`.

    `summary` has `oblast_code` and the `value` column, one row per region — e.g.
    `oblast_summary(...)`, or one month of `need_indicators(...)` (its oblast rows are used).
    The colour scale runs over the values' own range (`scale_range`). Regions without a row are
    drawn grey and marked "no data", so they stay visible. `label` names the colour scale
    (default: the column name).
    """
    import plotly.graph_objects as go

    if "level" in summary.columns and "territory_code" in summary.columns:
        summary = summary.filter(pl.col("level") == "oblast").with_columns(
            oblast_code=pl.col("territory_code")
        )
    _require(summary, ["oblast_code", value], "oblast tiles")
    if summary["oblast_code"].is_duplicated().any():
        raise ValueError("oblast tiles: one row per oblast expected (filter to one month first)")
    names = oblast_labels(territories, lang)
    values: dict[str, float | None] = dict(
        zip(summary["oblast_code"].to_list(), summary[value].to_list(), strict=True)
    )
    by_key = {region_key(code): (code, v) for code, v in values.items()}
    codes = {region_key(c): c for c in names} | {k: code for k, (code, _) in by_key.items()}
    share = is_share(value)
    span = scale_range(list(values.values()), share=share)

    def _fmt(v: float | None) -> str:
        if v is None:
            return tr("no_data", lang)
        if share:
            return f"{v:.0%}"
        return format_uah(v) if "uah" in value else f"{v:,.2f}" if abs(v) < 10 else f"{v:,.1f}"

    z: list[list[float | None]] = [[None] * _GRID_COLS for _ in range(_GRID_ROWS)]
    text = [[""] * _GRID_COLS for _ in range(_GRID_ROWS)]
    blank_z: list[list[float | None]] = [[None] * _GRID_COLS for _ in range(_GRID_ROWS)]
    blank_text = [[""] * _GRID_COLS for _ in range(_GRID_ROWS)]
    hover = [[""] * _GRID_COLS for _ in range(_GRID_ROWS)]
    for key, (row, col) in REGION_TILES.items():
        code = codes.get(key, f"UA{key}")
        name = names.get(code, code)
        v = by_key.get(key, (code, None))[1]
        hover[row][col] = f"{name}: {_fmt(v)}"
        if v is None:
            blank_z[row][col] = 0.0
            blank_text[row][col] = f"{tile_name(name)}<br>{_fmt(None)}"
        else:
            z[row][col] = v
            text[row][col] = f"{tile_name(name)}<br>{_fmt(v)}"
    common = {"xgap": 3, "ygap": 3, "hoverinfo": "text", "texttemplate": "%{text}"}
    fig = go.Figure(
        [
            go.Heatmap(
                z=blank_z,
                text=blank_text,
                hovertext=hover,
                colorscale=[[0, "#e5e5e5"], [1, "#e5e5e5"]],
                showscale=False,
                textfont={"size": 9, "color": "#666"},
                **common,
            ),
            go.Heatmap(
                z=z,
                text=text,
                hovertext=hover,
                colorscale=colorscale,
                colorbar={
                    "title": {"text": label or value},
                    "tickformat": ".0%" if share else "",
                    "thickness": 14,
                },
                textfont={"size": 9},
                zmin=span[0] if span else None,
                zmax=span[1] if span else None,
                **common,
            ),
        ]
    )
    # the tiles keep their shape by shrinking the grid to the space there is, never by cutting it
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(
        visible=False, autorange="reversed", scaleanchor="x", scaleratio=0.75, constrain="domain"
    )
    return finish(fig, title or f"{value} by region", height=480, margin={"l": 10, "r": 10})


_SHORT = {"Автономна Республіка Крим": "АР Крим", "Autonomous Republic of Crimea": "AR Crimea"}
_VOWELS = set("аеєиіїоуюяaeiouy")


def tile_name(name: str) -> str:
    """A region's name on at most two short lines, so it fits a tile at 900 px: compound names
    break at their hyphen or space, long single words after a syllable near the middle.

    >>> tile_name("Дніпропетровська"), tile_name("Івано-Франківська"), tile_name("Київ")
    ('Дніпропе-<br>тровська', 'Івано-<br>Франківська', 'Київ')
    """
    name = _SHORT.get(name, name)
    if len(name) <= 11:
        return name
    for mark, joint in (("-", "-<br>"), (" ", "<br>")):
        if mark in name:
            head, tail = name.split(mark, 1) if mark == "-" else name.rsplit(mark, 1)
            return f"{head}{joint}{tail}"
    middle = len(name) / 2
    cuts = [
        i
        for i in range(3, len(name) - 3)
        if name[i - 1].lower() in _VOWELS and name[i].lower() not in _VOWELS
    ]
    if not cuts:
        return name
    cut = min(cuts, key=lambda i: (abs(i - middle), i))
    return f"{name[:cut]}-<br>{name[cut:]}"


_TABLE_COLUMNS = {
    "oblast": "col_oblast",
    "hromada": "col_hromada",
    "recipients": "col_served_people",
    "waiting_recipients": "col_waiting_people",
    "served_case_months": "col_served_cm",
    "entitled_uah": "col_entitled",
    "unmet_uah": "col_unmet",
    "coverage": "col_coverage",
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


def largest_hromadas(
    summary: pl.DataFrame, *, min_count: int = DEFAULT_MIN_COUNT, top: int = 25
) -> tuple[pl.DataFrame, int, int]:
    """The `top` hromadas by need whose served figures may be published, how many hromadas there
    are and how many of them are suppressed (`(rows, total, suppressed)`). A hromada whose few
    waiting people are suppressed stays, ranked by its entitlement."""
    safe = publishable_hromadas(summary, min_count=min_count)
    hidden = int(safe["recipients"].is_null().sum())  # their served figures are suppressed
    shown = safe.filter(pl.col("recipients") > 0)  # published, and somebody is served there
    need = pl.coalesce("need_uah", "entitled_uah")  # need is blank when only the waiting are few
    rows = shown.sort(need, "hromada_code", descending=[True, False]).head(top)
    return rows, safe.height, hidden


def hromada_table_figure(
    summary: pl.DataFrame,
    territories: pl.DataFrame | None = None,
    *,
    min_count: int = DEFAULT_MIN_COUNT,
    top: int = 25,
    title: str | None = None,
    lang: str = DEFAULT_LANG,
) -> go.Figure:
    """The `top` hromadas by need whose need may be published, as a table (`largest_hromadas`).

    `summary` is `hromada_summary(...)`. Hromadas whose need is suppressed are left out (the
    title counts them); in the rows shown, a waiting count under `min_count` reads
    "< {min_count}" and the amounts built from it "·". Suppression happens here, so this figure is
    safe to publish as it is.
    """
    import plotly.graph_objects as go

    _require(summary, ["oblast_code", "hromada_code", "recipients"], "hromada table")
    rows, _, _ = largest_hromadas(summary, min_count=min_count, top=top)
    oblasts, hromadas = oblast_labels(territories, lang), hromada_labels(territories, lang)
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
            columnwidth=[1.3, 1.5, 1, 1, 1, 1.1, 1.1, 0.9][: len(cells)],
            header={"values": [tr(_TABLE_COLUMNS[c], lang) for c in cells], "align": "left"},
            cells={"values": list(cells.values()), "align": "left", "height": 24},
        )
    )
    heading = title or tr("hromada_title", lang, shown=rows.height)
    return finish(fig, heading, height=max(300, 26 * rows.height + 130), margin={"l": 10, "r": 10})
