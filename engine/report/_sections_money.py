"""The report's sections on entitlements and need: headline, oblasts, hromadas, flows, trend.

Each function takes the run's `ReportData` and returns the sections it can fill; a run that computed
no entitlements gets none of them (the report leaves out what a run did not compute).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from engine.report._figures_money import flows_sankey_figure, headline_figure, trend_figure
from engine.report._figures_territory import (
    hromada_table_figure,
    largest_hromadas,
    oblast_bars_figure,
    oblast_tiles_figure,
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
from engine.report._html import Section
from engine.report._labels import REGION_TILES, oblast_labels, region_key
from engine.report._text import tr

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from engine.report._data import ReportData

__all__ = ["money_sections", "present"]


def present(frame: pl.DataFrame | None) -> bool:
    """Whether a run produced `frame` with at least one row."""
    return frame is not None and not frame.is_empty()


def money_sections(data: ReportData, min_count: int, lang: str) -> list[Section]:
    """Headline numbers, oblasts, hromadas, money flows and the monthly trend."""
    cm, territories = data.case_months, data.territories
    if cm is None or cm.is_empty():
        return []
    numbers = headline_numbers(cm)
    period = f"{numbers['first_month']} – {numbers['last_month']}"
    by_oblast = oblast_summary(cm, territories)
    tiles, tile_notes = _tiles(
        by_oblast, data.need, territories, lang, int(numbers["people_served"])
    )
    flows = data.flows
    if flows is not None and {"level", "registered_code", "serving_code"} <= set(flows.columns):
        flows = oblast_flows(flows)
    elif flows is None or "registered_oblast_code" not in flows.columns:
        known = territories is not None or "registered_oblast_code" in cm.columns
        flows = region_flows(cm, territories) if known else None
    hromadas = hromada_summary(cm)
    shown, total, hidden = largest_hromadas(hromadas, min_count=min_count)
    sections = [
        Section(
            tr("s_headline", lang),
            [headline_figure(numbers, lang=lang)],
            note=tr("headline_note", lang, period=period),
        ),
        Section(
            tr("s_oblasts", lang),
            [oblast_bars_figure(by_oblast, territories, lang=lang), *tiles],
            note=" ".join([tr("oblasts_note", lang), *tile_notes]),
        ),
    ]
    if not shown.is_empty():
        sections.append(
            Section(
                tr("s_hromadas", lang),
                [hromada_table_figure(hromadas, territories, min_count=min_count, lang=lang)],
                note=tr(
                    "hromadas_note",
                    lang,
                    hidden=f"{hidden:,}",
                    total=f"{total:,}",
                    min_count=min_count,
                ),
            )
        )
    if flows is not None and present(flows):
        sections.append(
            Section(
                tr("s_flows", lang),
                [flows_sankey_figure(flows, territories, lang=lang)],
                note=tr("flows_note", lang),
            )
        )
    sections.append(
        Section(tr("s_trend", lang), [trend_figure(monthly_summary(cm, people=False), lang=lang)])
    )
    return sections


def _tiles(
    by_oblast: pl.DataFrame,
    need: pl.DataFrame | None,
    territories: pl.DataFrame | None,
    lang: str,
    people: int,
) -> tuple[list[go.Figure], list[str]]:
    """Tile maps of coverage and intensity, and the notes that explain their scales and blanks:
    the latest observed month of `need` when there is one, else the whole period."""
    if (
        need is not None
        and present(need)
        and {"level", "territory_code", "month"} <= set(need.columns)
    ):
        oblasts = need.filter(pl.col("level") == "oblast")
        if not oblasts.is_empty():
            month = oblasts["month"].max()
            label = month.strftime("%Y-%m") if isinstance(month, dt.date) else str(month)
            latest = oblasts.filter(pl.col("month") == month).with_columns(
                # an oblast where nobody is served or waits has no rate to show, not a zero
                case_months_per_10k=pl.when(
                    pl.col("served_cases") + pl.col("waiting_cases") > 0
                ).then(pl.col("case_months_per_10k"))
            )
            population = int(latest["population"].sum() or 0)
            notes = [
                _scale_note(latest, "coverage", territories, lang),
                tr(
                    "per10k_note",
                    lang,
                    population=f"{population:,}",
                    people=f"{people:,}",
                ),
            ]
            return [
                oblast_tiles_figure(
                    latest,
                    "coverage",
                    territories,
                    title=tr("coverage_tiles", lang, month=label),
                    label=tr("coverage", lang),
                    lang=lang,
                ),
                oblast_tiles_figure(
                    latest,
                    "case_months_per_10k",
                    territories,
                    title=tr("per10k_tiles", lang, month=label),
                    label=tr("per10k", lang),
                    colorscale="Oranges",
                    lang=lang,
                ),
            ], notes
    tiles = [
        oblast_tiles_figure(
            by_oblast,
            "coverage",
            territories,
            title=tr("coverage_tiles_period", lang),
            label=tr("coverage", lang),
            lang=lang,
        )
    ]
    return tiles, [_scale_note(by_oblast, "coverage", territories, lang)]


def _scale_note(
    frame: pl.DataFrame, value: str, territories: pl.DataFrame | None, lang: str
) -> str:
    """What the tiles' colours span and which regions are blank."""
    codes = frame["territory_code" if "territory_code" in frame.columns else "oblast_code"]
    values = dict(zip(codes.cast(pl.String).to_list(), frame[value].to_list(), strict=True))
    span = scale_range(list(values.values()), share=True) or (0.0, 1.0)
    by_key = {region_key(c): v for c, v in values.items()}
    names = oblast_labels(territories, lang)
    by_region = {region_key(c): n for c, n in names.items()}
    blank = [by_region.get(k, f"UA{k}") for k in REGION_TILES if by_key.get(k) is None]
    return tr(
        "tiles_note",
        lang,
        low=f"{span[0]:.0%}",
        high=f"{span[1]:.0%}",
        blank=", ".join(blank) or "—",
    )
