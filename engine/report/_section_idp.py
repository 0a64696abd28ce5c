"""The report's IDP host burden section (issue 15): who hosts the displaced, and what it costs.

From a run's `idp_burden` (`engine.rollups.idp_host_burden`: per month, hosting hromada / oblast
and the oblast displaced from, IDP recipients served, case-months and money): the IDP case-months
a month nationally, the latest month's money by host oblast split by the oblast the IDPs came
from, and the hromadas hosting the most. Hromada rows built from fewer than `min_count` IDP
recipients are left out of the table (and counted in its note): published figures never show a
handful of people.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from engine.money import format_uah
from engine.report._html import Section
from engine.report._style import finish

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["idp_burden_sections", "idp_host_figure", "idp_trend_figure"]

_TITLE = {"en": "IDP host burden", "uk": "Навантаження громад, що приймають ВПО"}
_TOP_HROMADAS = 15


def _oblast_names(territories: pl.DataFrame | None) -> dict[str, str]:
    names = {"UA": "Україна"}
    if territories is not None:
        for level in ("hromada", "oblast"):
            names.update(
                dict(territories.select(f"{level}_code", f"{level}_name").unique().iter_rows())
            )
    return names


def idp_trend_figure(burden: pl.DataFrame) -> go.Figure:
    """IDP case-months served each month, nationally, and the state's money for them."""
    import plotly.graph_objects as go

    national = (
        burden.filter(pl.col("level") == "national")
        .group_by("month")
        .agg(pl.col("case_months").sum(), pl.col("state_uah").cast(pl.Float64).sum())
        .sort("month")
    )
    fig = go.Figure(
        go.Bar(
            x=national["month"].to_list(),
            y=national["case_months"].to_list(),
            name="IDP case-months",
            customdata=national["state_uah"].to_list(),
            hovertemplate="%{x|%Y-%m}: %{y:.1f} case-months, %{customdata:,.0f} UAH<extra></extra>",
        )
    )
    return finish(fig, "IDP case-months served per month (national)", yaxis_title="case-months")


def idp_host_figure(burden: pl.DataFrame, territories: pl.DataFrame | None = None) -> go.Figure:
    """The latest month's state money for IDPs by host oblast, stacked by oblast displaced from."""
    import plotly.graph_objects as go

    oblasts = burden.filter(pl.col("level") == "oblast")
    latest = oblasts["month"].max()
    rows = oblasts.filter(pl.col("month") == latest).with_columns(
        pl.col("state_uah").cast(pl.Float64), pl.col("territory_code", "origin_oblast_code")
    )
    names = _oblast_names(territories)
    hosts = (rows.group_by("territory_code").agg(pl.col("state_uah").sum()).sort("state_uah"))[
        "territory_code"
    ].to_list()
    fig = go.Figure()
    for origin in sorted(rows["origin_oblast_code"].drop_nulls().unique().to_list()):
        part = rows.filter(pl.col("origin_oblast_code") == origin)
        by_host = dict(part.select("territory_code", "state_uah").iter_rows())
        fig.add_trace(
            go.Bar(
                y=[names.get(h, h) for h in hosts],
                x=[by_host.get(h, 0.0) for h in hosts],
                orientation="h",
                name=f"from {names.get(origin, origin)}",
            )
        )
    month = f"{latest:%Y-%m}" if isinstance(latest, dt.date) else ""
    return finish(
        fig,
        f"State money for IDPs by host oblast and oblast displaced from, {month}",
        barmode="stack",
        xaxis_title="UAH",
        height=max(400, 24 * len(hosts) + 160),
    )


def idp_burden_sections(
    burden: pl.DataFrame | None,
    territories: pl.DataFrame | None = None,
    *,
    min_count: int = 5,
    lang: str = "en",
) -> list[Section]:
    """The IDP host burden section, or nothing when the run had no benefits extract."""
    if burden is None or burden.is_empty():
        return []
    burden = burden.with_columns(
        pl.col("level", "territory_code", "origin_oblast_code").cast(pl.String)
    )
    names = _oblast_names(territories)
    hromadas = burden.filter(pl.col("level") == "hromada")
    latest = hromadas["month"].max()
    cells = (
        hromadas.filter(pl.col("month") == latest)
        .group_by("territory_code")
        .agg(
            pl.col("idp_recipients").sum(),
            pl.col("case_months").sum(),
            pl.col("state_uah").cast(pl.Float64).sum(),
        )
    )
    shown = cells.filter(pl.col("idp_recipients") >= min_count).sort("state_uah", descending=True)
    hidden = cells.height - shown.height
    table = {
        f"{names.get(code, code)} ({code})": f"{people} IDPs, {months:.1f} case-months, "
        f"{format_uah(money)}"
        for code, people, months, money in shown.head(_TOP_HROMADAS)
        .select("territory_code", "idp_recipients", "case_months", "state_uah")
        .iter_rows()
    }
    note = (
        "Recipients whose IDP certificate (benefits extract) was in force, by the hromada and "
        "oblast serving them (the hosts) and the oblast they were displaced from; days count "
        "from the certificate's issue to the day before its cancellation. "
        f"Hosting hromadas with fewer than {min_count} IDPs ({hidden}) are not listed."
    )
    return [
        Section(
            _TITLE.get(lang, _TITLE["en"]),
            [idp_trend_figure(burden), idp_host_figure(burden, territories)],
            note=note,
            table=table,
        )
    ]
