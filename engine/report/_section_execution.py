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
from engine.report._labels import hromada_labels, oblast_labels, service_labels, transliterate
from engine.report._style import finish

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["execution_sections", "execution_split_figure", "execution_table_figure"]

# key -> (Ukrainian, English): the section speaks the report's language
_WORDS: dict[str, tuple[str, str]] = {
    "title": (
        "Виконання бюджету: розраховане поруч зі сплаченим",
        "Budget execution: simulated beside paid",
    ),
    "split": (
        "Сплачено − розраховано за послугами (Україна, увесь період): люди + обсяг + ціна",
        "Paid − simulated per service (national, whole span): people + volume + price",
    ),
    "tiles": (
        "Сплачено − розраховано за областями, усі послуги, увесь період",
        "Paid − simulated by oblast, all services, whole span",
    ),
    "table": (
        "Розбіжності понад допуск ({n} найбільших)",
        "Gaps beyond tolerance (the {n} largest)",
    ),
    "uah": ("грн", "UAH"),
    "all": ("усі послуги", "all services"),
    "people": ("люди", "people"),
    "volume": ("обсяг", "volume"),
    "price": ("ціна", "price"),
    "timing": (" (терміни)", " (timing)"),
    "header": (
        "рівень|територія|послуга|період|розраховано, грн|сплачено, грн|розбіжність, грн|"
        "розбіжність, %|люди|обсяг|ціна|переважно",
        "level|territory|service|period|simulated, UAH|paid, UAH|gap, UAH|gap, %|people|volume|"
        "price|mostly",
    ),
    "note": (
        "Державна частка розрахованого права на фінансування поруч зі сплаченим за звітом про "
        "виконання бюджету, на кожному рівні, де є обидва; кожна розбіжність (сплачено − "
        "розраховано) точно розкладена на людей (отримувачі, за яких сплачено, проти реєстру), "
        "обсяг (випадко-місяці на особу) і ціну (гроші за випадко-місяць). «Терміни» позначають квартал "
        "чи місяць, рік якого в межах допуску. {flagged} клітинок понад допуск; клітинки громад, "
        "де менше {min_count} осіб, не показано.",
        "The state's share of the simulated entitlements beside what the budget-execution report "
        "says was paid, at every level where both exist; each gap (paid − simulated) is split "
        "exactly into people (recipients paid for vs in the registry), volume (case-months per "
        "person) and price (money per case-month). Timing marks a quarter or month whose year is "
        "within tolerance. {flagged} cells are beyond tolerance; hromada cells of fewer than "
        "{min_count} people are not shown.",
    ),
}


def _w(key: str, lang: str, **values: object) -> str:
    text = _WORDS[key][0 if lang == "uk" else 1]
    return text.format(**values) if values else text


_PART_COLORS = {"people": "#1f6fb2", "volume": "#2a9d8f", "price": "#e76f51"}
_TABLE_ROWS = 40


def _names(
    territories: pl.DataFrame | None, services: pl.DataFrame | None, lang: str = "uk"
) -> dict[str, str]:
    names = {"UA": "Україна" if lang == "uk" else "Ukraine", "all": _w("all", lang)}
    if territories is not None:
        raions = dict(territories.select("raion_code", "raion_name").unique().iter_rows())
        if lang != "uk":
            raions = {code: transliterate(name) for code, name in raions.items()}
        names |= hromada_labels(territories, lang) | raions | oblast_labels(territories, lang)
    services_named = service_labels(services, lang)  # 'code name'
    return names | {code: label.removeprefix(f"{code} ") for code, label in services_named.items()}


def execution_split_figure(
    table: pl.DataFrame, services: pl.DataFrame | None = None, lang: str = "uk"
) -> go.Figure:
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
    names = _names(None, services, lang)
    labels = [f"{c} {names.get(c, '')}".strip() for c in rows["service_code"]]
    fig = go.Figure()
    for part, color in _PART_COLORS.items():
        fig.add_trace(
            go.Bar(
                y=labels,
                x=[float(v) if v is not None else 0.0 for v in rows[f"{part}_uah"]],
                name=_w(part, lang),
                orientation="h",
                marker={"color": color},
                hovertemplate="%{y}<br>"
                + _w(part, lang)
                + ": %{x:,.2f} "
                + _w("uah", lang)
                + "<extra></extra>",
            )
        )
    return finish(
        fig,
        _w("split", lang),
        barmode="relative",
        height=max(360, 22 * rows.height + 160),
        xaxis={"title": {"text": _w("uah", lang)}, "tickformat": "~s"},
        margin={"l": 260},
    )


def execution_table_figure(
    table: pl.DataFrame,
    territories: pl.DataFrame | None = None,
    services: pl.DataFrame | None = None,
    *,
    min_count: int = 5,
    lang: str = "uk",
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
    names = _names(territories, services, lang)

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
        [
            f"{_w(d, lang) if d in _PART_COLORS else d or ''}{_w('timing', lang) if t else ''}"
            for d, t in rows.select("dominant", "timing").rows()
        ],
    ]
    header = _w("header", lang).split("|")
    fig = go.Figure(
        go.Table(
            header={"values": header, "align": "left", "fill_color": "#e8eef5"},
            cells={"values": cells, "align": ["left"] * 4 + ["right"] * 7 + ["left"]},
            columnwidth=[60, 180, 160, 60, 90, 90, 110, 60, 90, 90, 90, 90],
        )
    )
    return finish(
        fig,
        _w("table", lang, n=rows.height),
        height=max(300, 26 * rows.height + 140),
    )


def execution_sections(
    table: pl.DataFrame | None,
    territories: pl.DataFrame | None = None,
    services: pl.DataFrame | None = None,
    *,
    min_count: int = 5,
    lang: str = "uk",
) -> list[Section]:
    """The report's budget-execution section (one `Section`; none when the run compared no
    budget-execution report), in the report's language."""
    if table is None or table.is_empty():
        return []
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
            title=_w("tiles", lang),
            label=_w("uah", lang),
            colorscale="RdBu",
        ),
        execution_split_figure(table, services, lang),
        execution_table_figure(table, territories, services, min_count=min_count, lang=lang),
    ]
    flagged = int(table["flagged"].sum())
    return [
        Section(
            _w("title", lang),
            figures,
            note=_w("note", lang, flagged=f"{flagged:,}", min_count=min_count),
        )
    ]
