"""Planning figures: allocation coverage and shortfall, scenario winners and losers, quarantine."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import polars as pl

from engine.report._labels import hromada_labels, oblast_labels, tier_label
from engine.report._style import COLORS, finish
from engine.report._suppress import DEFAULT_MIN_COUNT, publishable
from engine.report._text import DEFAULT_LANG, tr

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "allocation_figure",
    "allocation_matrix_figure",
    "allocation_tiers_figure",
    "quarantine_figure",
    "scenario_cases_figure",
    "scenario_figure",
    "territory_column",
]

_TERRITORY_COLUMNS = ("territory_code", "hromada_code", "raion_code", "oblast_code", "territory")


def territory_column(frame: pl.DataFrame) -> str:
    """The territory key of a frame: `territory_code` of a long multi-level frame, else the most
    detailed of hromada, raion, oblast."""
    for column in _TERRITORY_COLUMNS:
        if column in frame.columns:
            return column
    raise ValueError(f"no territory column ({', '.join(_TERRITORY_COLUMNS)}) in {frame.columns}")


def _names(territories: pl.DataFrame | None, lang: str = DEFAULT_LANG) -> dict[str, str]:
    return oblast_labels(territories, lang) | hromada_labels(territories, lang)


def _require_money(frame: pl.DataFrame) -> None:
    for column in ("claim_uah", "allocated_uah"):
        if column not in frame.columns:
            raise ValueError(f"allocation: missing column {column!r}; got {frame.columns}")


def _claim_basis(frame: pl.DataFrame) -> str:
    """Shortfall and coverage are measured against the capped claim when caps were applied."""
    return "capped_claim_uah" if "capped_claim_uah" in frame.columns else "claim_uah"


def _with_shortfall(frame: pl.DataFrame) -> pl.DataFrame:
    _require_money(frame)
    claim = pl.col(_claim_basis(frame))
    return frame.with_columns(
        shortfall_uah=claim - pl.col("allocated_uah"),
        coverage=pl.when(claim > 0).then(pl.col("allocated_uah") / claim).otherwise(None),
    )


def _allocated_and_shortfall(
    fig: go.Figure, labels: list[str], rows: pl.DataFrame, lang: str
) -> None:
    import plotly.graph_objects as go

    uah = tr("uah", lang)
    coverage = [f"{v:.1%}" if v is not None else "—" for v in rows["coverage"].to_list()]
    for column, name, color in (
        ("allocated_uah", tr("allocated", lang), COLORS["allocated"]),
        ("shortfall_uah", tr("shortfall", lang), COLORS["shortfall"]),
    ):
        fig.add_trace(
            go.Bar(
                y=labels,
                x=rows[column].to_list(),
                orientation="h",
                name=name,
                marker_color=color,
                customdata=coverage,
                hovertemplate=f"%{{y}}<br>{name}: %{{x:,.0f}} {uah}"
                f"<br>{tr('coverage', lang)} %{{customdata}}<extra></extra>",
            )
        )
    fig.update_xaxes(title_text=uah, tickformat=",.0f")


def allocation_figure(
    by_territory: pl.DataFrame,
    territories: pl.DataFrame | None = None,
    *,
    level: str = "oblast_code",
    min_count: int = DEFAULT_MIN_COUNT,
    title: str | None = None,
    lang: str = DEFAULT_LANG,
) -> go.Figure:
    """Allocated money and shortfall per territory at `level`, coverage on hover.

    `by_territory` has the `level` column, `claim_uah` (and `capped_claim_uah` when caps apply)
    and `allocated_uah` — e.g. `Allocation.by_territory`, summed here to `level`. Shortfall and
    coverage are measured against the capped claim. Sorted by claim, the largest on top. At
    hromada level the frame must carry a `recipients` count: small cells are suppressed.
    """
    import plotly.graph_objects as go

    if level not in by_territory.columns:
        raise ValueError(f"allocation: missing column {level!r}; got {by_territory.columns}")
    _require_money(by_territory)
    if level == "hromada_code":
        by_territory = publishable(by_territory, min_count=min_count)
    money = [c for c in ("claim_uah", "capped_claim_uah", "allocated_uah") if c in by_territory]
    rows = _with_shortfall(
        by_territory.filter(pl.col("allocated_uah").is_not_null())
        .group_by(level)
        .agg(pl.col(money).sum())
    ).sort(_claim_basis(by_territory), level)
    names = _names(territories, lang)
    fig = go.Figure()
    _allocated_and_shortfall(fig, [names.get(c, c) for c in rows[level]], rows, lang)
    basis = float(rows[_claim_basis(rows)].sum() or 0.0)
    covered = float(rows["allocated_uah"].sum() or 0.0) / basis if basis > 0 else 0.0
    return finish(
        fig,
        title or tr("allocation_title", lang, covered=f"{covered:.1%}"),
        barmode="stack",
        height=max(380, 24 * rows.height + 140),
    )


def allocation_tiers_figure(
    by_tier: pl.DataFrame, *, title: str | None = None, lang: str = DEFAULT_LANG
) -> go.Figure:
    """Allocated money and shortfall per priority tier, the highest priority on top.

    `by_tier` has `tier`, `claim_uah`, `allocated_uah` and optionally `tier_rank` (priority order)
    — e.g. `Allocation.by_tier`; several envelope groups are summed per tier.
    """
    import plotly.graph_objects as go

    if "tier" not in by_tier.columns:
        raise ValueError(f"allocation tiers: missing column 'tier'; got {by_tier.columns}")
    _require_money(by_tier)
    money = [c for c in ("claim_uah", "capped_claim_uah", "allocated_uah") if c in by_tier]
    if "tier_rank" not in by_tier.columns:
        # integer tiers are their own rank; named tiers keep the order of the frame
        rank = pl.col("tier") if by_tier.schema["tier"].is_integer() else pl.int_range(pl.len())
        by_tier = by_tier.with_columns(tier_rank=rank)
    rows = _with_shortfall(
        by_tier.group_by("tier").agg(pl.col(money).sum(), pl.col("tier_rank").min())
    ).sort("tier_rank", descending=True)  # bars are drawn bottom-up: top priority drawn last
    fig = go.Figure()
    _allocated_and_shortfall(fig, [tier_label(str(t), lang) for t in rows["tier"]], rows, lang)
    fig.update_yaxes(automargin=True)
    return finish(
        fig,
        title or tr("allocation_tiers", lang),
        barmode="stack",
        height=max(300, 40 * rows.height + 140),
    )


def allocation_matrix_figure(
    rows: pl.DataFrame,
    territories: pl.DataFrame | None = None,
    *,
    title: str | None = None,
    lang: str = DEFAULT_LANG,
) -> go.Figure:
    """Coverage by oblast (rows) and priority tier (columns) as a heatmap, shortfall on hover.

    A blank cell is an oblast without claims in that tier (said on hover). The colour scale runs
    over the cells' own range of coverage.

    `rows` are allocation rows (`Allocation.rows`) or any frame with `oblast_code`, `tier`,
    `claim_uah` (and `capped_claim_uah`), `allocated_uah`, optionally `tier_rank`.
    """
    import plotly.graph_objects as go

    for column in ("oblast_code", "tier"):
        if column not in rows.columns:
            raise ValueError(f"allocation matrix: missing column {column!r}; got {rows.columns}")
    _require_money(rows)
    money = [c for c in ("claim_uah", "capped_claim_uah", "allocated_uah") if c in rows.columns]
    rank = pl.col("tier_rank").min() if "tier_rank" in rows.columns else pl.lit(0)
    cells = _with_shortfall(  # grouped by the codes as they are (text or coded), then as text
        rows.lazy()
        .group_by("oblast_code", "tier")
        .agg(pl.col(money).sum(), rank.alias("_rank"))
        .with_columns(pl.col("oblast_code", "tier").cast(pl.String))
        .collect()
    )
    tiers = (
        cells.group_by("tier").agg(pl.col("_rank").min()).sort("_rank", "tier")["tier"].to_list()
    )
    oblasts = cells["oblast_code"].unique().sort(descending=True).to_list()
    lookup = {(r["oblast_code"], r["tier"]): r for r in cells.iter_rows(named=True)}
    z = [[(lookup.get((o, t)) or {}).get("coverage") for t in tiers] for o in oblasts]
    text = [
        ["" if (o, t) not in lookup else f"{lookup[(o, t)]['coverage'] or 0:.0%}" for t in tiers]
        for o in oblasts
    ]
    shortfall = [[(lookup.get((o, t)) or {}).get("shortfall_uah") for t in tiers] for o in oblasts]
    names = _names(territories, lang)
    present = [v for row in z for v in row if v is not None]
    low = float(min(present)) if present else 0.0
    low = math.floor(min(low, 0.95) * 20) / 20
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[tier_label(str(t), lang) for t in tiers],
            y=[names.get(o, o) for o in oblasts],
            text=text,
            texttemplate="%{text}",
            customdata=shortfall,
            colorscale="RdYlGn",
            zmin=low,
            zmax=1,
            xgap=2,
            ygap=2,
            colorbar={"title": {"text": tr("coverage", lang)}, "tickformat": ".0%"},
            hovertemplate=f"%{{y}} · %{{x}}<br>{tr('coverage', lang)} %{{z:.1%}}"
            f"<br>{tr('shortfall', lang)} %{{customdata:,.0f}} {tr('uah', lang)}<extra></extra>",
        )
    )
    fig.update_yaxes(automargin=True)
    return finish(
        fig,
        title or tr("allocation_matrix", lang),
        height=max(380, 22 * len(oblasts) + 160),
    )


def scenario_figure(
    diff: pl.DataFrame,
    territories: pl.DataFrame | None = None,
    *,
    value: str = "diff_state_uah",
    level: str = "oblast",
    top: int = 10,
    min_count: int = DEFAULT_MIN_COUNT,
    title: str | None = None,
    name: str | None = None,
    lang: str = DEFAULT_LANG,
) -> go.Figure:
    """Scenario winners and losers: the `top` largest gains and losses per territory.

    `diff` is `ScenarioDiff.territories` (rows of `level`, served cases' money are shown) or any
    frame with a territory key and `value` (scenario − baseline, UAH). Hromada-level rows are
    published only through `publishable` (they need a `recipients` count).
    """
    import plotly.graph_objects as go

    rows = diff
    if "level" in rows.columns:
        rows = rows.filter(pl.col("level") == level)
    if "funded" in rows.columns:
        rows = rows.filter(pl.col("funded"))
    if value not in rows.columns:
        raise ValueError(f"scenario: missing column {value!r}; got {diff.columns}")
    rows = publishable(rows, min_count=min_count)
    key = territory_column(rows)
    rows = rows.filter(pl.col(value).is_not_null())
    winners = rows.filter(pl.col(value) > 0).sort(value, key, descending=[True, False]).head(top)
    losers = rows.filter(pl.col(value) < 0).sort(value, key).head(top)
    shown = pl.concat([losers, winners]).sort(value, key)
    names = _names(territories, lang)
    values = shown[value].to_list()
    fig = go.Figure(
        go.Bar(
            y=[names.get(c, c) for c in shown[key]],
            x=values,
            orientation="h",
            marker_color=[COLORS["gain"] if v > 0 else COLORS["loss"] for v in values],
            hovertemplate=f"%{{y}}: %{{x:+,.0f}} {tr('uah', lang)}<extra></extra>",
        )
    )
    n_win = int((rows[value] > 0).sum())
    n_lose = int((rows[value] < 0).sum())
    fig.update_xaxes(title_text=tr("scenario_axis", lang), zeroline=True, tickformat=",.0f")
    fig.update_yaxes(automargin=True)
    return finish(
        fig,
        title
        or (
            tr("scenario_oblast_title", lang, name=name, win=n_win, lose=n_lose)
            if name
            else tr("scenario_oblast_title_plain", lang, win=n_win, lose=n_lose)
        ),
        height=max(320, 24 * shown.height + 140),
        showlegend=False,
    )


def scenario_cases_figure(
    cases: pl.DataFrame,
    *,
    value: str = "diff_state_uah",
    title: str | None = None,
    name: str | None = None,
    lang: str = DEFAULT_LANG,
) -> go.Figure:
    """How much each case wins or loses under a scenario: a histogram of the changed cases.

    `cases` is `ScenarioDiff.cases` (one row per case, `value` = scenario − baseline over the
    period); the title counts winners, losers and unchanged cases (changes under a kopiyka).
    """
    import plotly.graph_objects as go

    if value not in cases.columns:
        raise ValueError(f"scenario cases: missing column {value!r}; got {cases.columns}")
    amount = pl.col(value)
    gains = cases.filter(amount >= 0.01)[value].to_list()
    losses = cases.filter(amount <= -0.01)[value].to_list()
    unchanged = cases.height - len(gains) - len(losses)
    fig = go.Figure(
        [
            go.Histogram(x=gains, name=tr("winners", lang), marker_color=COLORS["gain"], nbinsx=30),
            go.Histogram(x=losses, name=tr("losers", lang), marker_color=COLORS["loss"], nbinsx=30),
        ]
    )
    fig.update_xaxes(title_text=tr("per_case_axis", lang), tickformat=",.0f")
    fig.update_yaxes(title_text=tr("cases_axis", lang), ticklabelstandoff=8)
    counts = {"win": f"{len(gains):,}", "lose": f"{len(losses):,}", "same": f"{unchanged:,}"}
    return finish(
        fig,
        title
        or (
            tr("scenario_cases_title", lang, name=name, **counts)
            if name
            else tr("scenario_cases_title_plain", lang, **counts)
        ),
        barmode="overlay",
        height=360,
    )


def quarantine_figure(
    summary: pl.DataFrame, *, title: str | None = None, lang: str = DEFAULT_LANG
) -> go.Figure:
    """Rows sent to quarantine, table by rule, as a grid of counts.

    `summary` is `quarantine_summary(registry)`: `table, rule, rows`.
    """
    import plotly.graph_objects as go

    for column in ("table", "rule", "rows"):
        if column not in summary.columns:
            raise ValueError(f"quarantine: missing column {column!r}; got {summary.columns}")
    total = int(summary["rows"].sum() or 0)
    fig = go.Figure()
    if summary.is_empty():
        fig.add_trace(go.Heatmap(z=[[0]], x=["—"], y=["—"], showscale=False, hoverinfo="skip"))
        fig.add_annotation(text=tr("no_quarantine", lang), showarrow=False, font={"size": 16})
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
    else:
        cells = summary.group_by("table", "rule").agg(pl.col("rows").sum())
        tables = cells["table"].unique().sort().to_list()
        rules = cells["rule"].unique().sort().to_list()
        counts = {(r["table"], r["rule"]): r["rows"] for r in cells.iter_rows(named=True)}
        # rules down the side, tables across: long rule names read without rotation
        z = [[counts.get((t, r)) for t in tables] for r in rules]
        fig.add_trace(
            go.Heatmap(
                z=z,
                x=tables,
                y=rules,
                text=[["" if v is None else f"{v:,}" for v in row] for row in z],
                texttemplate="%{text}",
                colorscale="Reds",
                zmin=0,
                xgap=2,
                ygap=2,
                showscale=False,
                hovertemplate=f"%{{x}} · %{{y}}: %{{z:,}} {tr('rows', lang)}<extra></extra>",
            )
        )
        fig.update_xaxes(side="top", tickangle=0)
        fig.update_yaxes(automargin=True, autorange="reversed")
    return finish(
        fig,
        title or tr("validation_title", lang, total=f"{total:,}"),
        height=max(300, 26 * summary["rule"].n_unique() + 160),
        margin={"t": 90},
    )
