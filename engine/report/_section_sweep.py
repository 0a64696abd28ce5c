"""The report's scenario sweep section (issue 17): the points side by side.

From a stored sweep (`engine.distributed.stored_sweep`): what each point costs against whom it
covers — a frontier plot of allocated money against coverage of the claims, one line per
scenario, the points no other point beats (more coverage for no more money) joined up —, the
oblasts each point makes win or lose against the baseline point, and a table of every point's
envelope, allocation, coverage, shortfall and Gini of money per resident. Oblast figures are sums
over many recipients; a sweep publishes no hromada rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from engine.money import format_uah
from engine.report._html import Section
from engine.report._style import finish

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["frontier", "sweep_frontier_figure", "sweep_outcome_figure", "sweep_sections"]

_TEXT = {
    "title": {"en": "Scenario sweep", "uk": "Порівняння сценаріїв"},
    "note": {
        "en": "Each point is one scenario × envelope × policy, priced and allocated on the same "
        "extract. The frontier joins the points no other point beats: more coverage for no more "
        "money. Winners and losers are oblasts against the baseline point {baseline}.",
        "uk": "Кожна точка — один сценарій × обсяг коштів × політика, розраховані на тому самому "
        "витягу. Межа з'єднує точки, які жодна інша не перевершує: більше покриття за не більші "
        "кошти. Виграш і програш — області порівняно з базовою точкою {baseline}.",
    },
}


def _t(key: str, lang: str, **values: Any) -> str:
    text = _TEXT[key].get(lang, _TEXT[key]["en"])
    return text.format(**values) if values else text


def frontier(totals: pl.DataFrame) -> pl.DataFrame:
    """The points on the cost-coverage frontier: sorted by allocated money, each covering more
    than every cheaper point (ties in money: the better coverage).

    >>> t = pl.DataFrame({"point": ["a", "b", "c"], "allocated_uah": [1.0, 2.0, 3.0],
    ...                   "coverage": [0.5, 0.4, 0.9]})
    >>> frontier(t)["point"].to_list()
    ['a', 'c']
    """
    ordered = totals.with_columns(
        money=pl.col("allocated_uah").cast(pl.Float64), cover=pl.col("coverage").fill_null(0.0)
    ).sort(["money", "cover"], descending=[False, True])
    best = ordered["cover"].cum_max().shift(1, fill_value=float("-inf"))
    return ordered.filter(pl.col("cover") > best).drop("money", "cover")


def _scenario(column: pl.Expr) -> pl.Expr:
    return column.fill_null("none").str.split("/").list.last().str.replace(r"\.yaml$", "")


def sweep_frontier_figure(totals: pl.DataFrame) -> go.Figure:
    """Allocated money against coverage of the claims, a line per scenario, the frontier dashed."""
    import plotly.graph_objects as go

    frame = totals.with_columns(
        scenario_name=_scenario(pl.col("scenario")),
        millions=pl.col("allocated_uah").cast(pl.Float64) / 1e6,
    ).sort("millions")
    fig = go.Figure()
    for (name,), group in frame.group_by("scenario_name", maintain_order=True):
        fig.add_trace(
            go.Scatter(
                x=group["millions"].to_list(),
                y=group["coverage"].to_list(),
                mode="lines+markers",
                name=str(name),
                text=group["point"].to_list(),
                customdata=group["envelope"].fill_null("policy").to_list(),
                hovertemplate="%{text} (envelope %{customdata}): %{x:,.2f} M UAH, "
                "coverage %{y:.1%}<extra></extra>",
            )
        )
    best = frontier(frame)
    fig.add_trace(
        go.Scatter(
            x=best["millions"].to_list(),
            y=best["coverage"].to_list(),
            mode="lines",
            name="frontier",
            line={"dash": "dash", "color": "#444"},
            hoverinfo="skip",
        )
    )
    return finish(
        fig,
        "Cost against coverage: allocated money and the share of claims it covers",
        xaxis_title="allocated, M UAH",
        yaxis={"title": "coverage of claims", "tickformat": ".0%"},
    )


def sweep_outcome_figure(changes: pl.DataFrame) -> go.Figure:
    """Per point, the oblasts that win or lose money against the baseline (stacked counts)."""
    import plotly.graph_objects as go

    counts = (
        changes.group_by("point", "outcome")
        .agg(pl.len().alias("oblasts"), pl.col("allocated_change_uah").cast(pl.Float64).sum())
        .sort("point")
    )
    points = counts["point"].unique().sort().to_list()
    fig = go.Figure()
    for outcome, colour in (("wins", "#2a9d8f"), ("unchanged", "#bbbbbb"), ("loses", "#e76f51")):
        part = dict(
            counts.filter(pl.col("outcome") == outcome).select("point", "oblasts").iter_rows()
        )
        fig.add_trace(
            go.Bar(x=points, y=[part.get(p, 0) for p in points], name=outcome, marker_color=colour)
        )
    fig.update_layout(barmode="stack")
    return finish(
        fig, "Oblasts winning and losing money against the baseline point", yaxis_title="oblasts"
    )


def sweep_sections(sweep: Any, *, lang: str = "uk") -> list[Section]:
    """The sweep's section, or none (`sweep`: a `StoredSweep`, or None)."""
    if sweep is None or sweep.totals.is_empty():
        return []
    totals = sweep.totals
    table = {
        str(row["point"]): (
            f"{Path(row['scenario']).stem if row['scenario'] else 'today'}: envelope {format_uah(float(row['envelope_uah']))}, allocated "
            f"{format_uah(float(row['allocated_uah']))}, coverage "
            + ("n/a" if row["coverage"] is None else f"{row['coverage']:.1%}")
            + f", shortfall {format_uah(float(row['shortfall_uah']))}, Gini per resident "
            + ("n/a" if row["gini_per_capita"] is None else f"{row['gini_per_capita']:.3f}")
        )
        for row in totals.sort("point").iter_rows(named=True)
    }
    figures = [sweep_frontier_figure(totals)]
    if not sweep.changes.is_empty():
        figures.append(sweep_outcome_figure(sweep.changes))
    baseline = sweep.manifest.get("baseline", "")
    return [
        Section(_t("title", lang), figures, note=_t("note", lang, baseline=baseline), table=table)
    ]
