"""Money figures: headline numbers, monthly trend, and money following the recipient (Sankey)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

from engine.report._labels import oblast_labels
from engine.report._style import COLORS, finish
from engine.report._text import DEFAULT_LANG, tr

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["flows_sankey_figure", "headline_figure", "trend_figure"]

# (key, text, number format): three rows — money, cases, people
_HEADLINES = (
    ("entitled_uah", "entitled", {"valueformat": ",.0f"}),
    ("unmet_uah", "unmet", {"valueformat": ",.0f"}),
    ("coverage", "coverage_cm", {"valueformat": ".1%"}),
    ("cases_served", "cases_served", {"valueformat": ",d"}),
    ("cases_waiting", "cases_waiting", {"valueformat": ",d"}),
    ("served_case_months", "case_months_served", {"valueformat": ",.0f"}),
    ("people_served", "people_served", {"valueformat": ",d"}),
    ("people_waiting", "people_waiting", {"valueformat": ",d"}),
    ("idp_share", "idp_share", {"valueformat": ".1%"}),
)


def headline_figure(
    numbers: Mapping[str, Any], *, title: str | None = None, lang: str = DEFAULT_LANG
) -> go.Figure:
    """The run's headline numbers as big figures; `numbers` is `headline_numbers(case_months)`.

    Money, then cases, then people, each counted once over the period (`period_counts`)."""
    import plotly.graph_objects as go

    shown = [h for h in _HEADLINES if numbers.get(h[0]) is not None]
    cols = 3
    fig = go.Figure()
    for i, (key, text, number) in enumerate(shown):
        suffix = {"suffix": " " + tr("uah", lang)} if key.endswith("_uah") else {}
        fig.add_trace(
            go.Indicator(
                mode="number",
                value=float(numbers[key]),
                number={**number, **suffix, "font": {"size": 26}},
                title={"text": tr(text, lang), "font": {"size": 13}},
                domain={"row": i // cols, "column": i % cols},
            )
        )
    period = f"{numbers.get('first_month', '')} – {numbers.get('last_month', '')}"
    rows = max(1, -(-len(shown) // cols))
    return finish(
        fig,
        title or tr("headline_title", lang, period=period),
        grid={"rows": rows, "columns": cols, "pattern": "independent"},
        height=70 + 110 * rows,
        margin={"l": 20, "r": 20, "t": 50, "b": 10},
    )


def trend_figure(
    monthly: pl.DataFrame, *, title: str | None = None, lang: str = DEFAULT_LANG
) -> go.Figure:
    """Monthly case-months and money, served and waiting stacked; `monthly` is `monthly_summary`."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    need = ["month", "served_case_months", "waiting_case_months", "entitled_uah", "unmet_uah"]
    missing = [c for c in need if c not in monthly.columns]
    if missing:
        raise ValueError(f"trend: missing column(s) {missing}; got {monthly.columns}")
    rows = monthly.sort("month")
    months = rows["month"].to_list()
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=(tr("case_months", lang), tr("money_state", lang)),
    )
    for row, (served, waiting, fmt) in enumerate(
        (
            ("served_case_months", "waiting_case_months", ",.1f"),
            ("entitled_uah", "unmet_uah", ",.0f"),
        ),
        start=1,
    ):
        for column, label, color in (
            (served, tr("served", lang), COLORS["served"]),
            (waiting, tr("waiting", lang), COLORS["waiting"]),
        ):
            fig.add_trace(
                go.Scatter(
                    x=months,
                    y=rows[column].to_list(),
                    name=label,
                    legendgroup=label,
                    showlegend=row == 1,
                    stackgroup=f"s{row}",
                    line={"color": color},
                    hovertemplate=f"%{{x|%Y-%m}}: %{{y:{fmt}}}<extra>{label}</extra>",
                ),
                row=row,
                col=1,
            )
    fig.update_xaxes(tickformat="%Y-%m")  # numeric months read the same in either language
    fig.update_yaxes(tickformat=",.0f", row=2, col=1)  # UAH in full, no Latin "M"
    return finish(fig, title or tr("trend_title", lang), height=520)


def flows_sankey_figure(
    flows: pl.DataFrame,
    territories: pl.DataFrame | None = None,
    *,
    value: str = "state_uah",
    include_stayers: bool = False,
    title: str | None = None,
    lang: str = DEFAULT_LANG,
) -> go.Figure:
    """Money following the recipient: registered oblast (left) → serving oblast (right).

    `flows` has `registered_oblast_code, oblast_code` and `value` (e.g. `region_flows(...)`). By
    default only money that crossed a regional border is drawn, so the moves are visible next to
    the much larger money spent where people are registered; the title gives the moved share.
    """
    import plotly.graph_objects as go

    need = ["registered_oblast_code", "oblast_code", value]
    missing = [c for c in need if c not in flows.columns]
    if missing:
        raise ValueError(f"flows Sankey: missing column(s) {missing}; got {flows.columns}")
    total = float(flows[value].sum() or 0.0)
    moved = flows.filter(pl.col("registered_oblast_code") != pl.col("oblast_code"))
    shown = (flows if include_stayers else moved).filter(pl.col(value) > 0)
    shown = shown.sort(
        value, "registered_oblast_code", "oblast_code", descending=[True, False, False]
    )
    names = oblast_labels(territories, lang)
    sources = shown["registered_oblast_code"].unique(maintain_order=True).to_list()
    targets = shown["oblast_code"].unique(maintain_order=True).to_list()
    src_index = {c: i for i, c in enumerate(sources)}
    tgt_index = {c: len(sources) + i for i, c in enumerate(targets)}
    labels = [f"{names.get(c, c)} ({tr('registered', lang)})" for c in sources] + [
        f"{names.get(c, c)} ({tr('served_at', lang)})" for c in targets
    ]
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            valueformat=",.0f",
            valuesuffix=" " + tr("uah", lang),
            node={"label": labels, "pad": 12, "thickness": 14, "color": COLORS["served"]},
            link={
                "source": [src_index[c] for c in shown["registered_oblast_code"]],
                "target": [tgt_index[c] for c in shown["oblast_code"]],
                "value": shown[value].to_list(),
                "color": "rgba(31,111,178,0.25)",
            },
        )
    )
    share = float(moved[value].sum() or 0.0) / total if total > 0 else 0.0
    return finish(
        fig,
        title or tr("flows_title", lang, share=f"{share:.1%}"),
        height=max(420, 22 * max(len(sources), len(targets)) + 120),
    )
