"""A plan's budget at a glance, winners and losers by group, and equity as Lorenz curves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from engine.report._labels import tier_label
from engine.report._style import COLORS, finish
from engine.report._text import DEFAULT_LANG, tr

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "budget_numbers",
    "lorenz",
    "lorenz_figure",
    "plan_figure",
    "scenario_groups_figure",
    "scenario_groups_table_figure",
    "unspent_sentence",
]


def budget_numbers(
    by_group: pl.DataFrame | None, by_tier: pl.DataFrame | None
) -> dict[str, Any] | None:
    """Envelope, claims, allocated, shortfall and unspent of an allocation, and the envelope
    groups whose money stayed unspent (they covered every claim: `unspent_groups`).

    From `Allocation.by_group` when given (it knows the envelopes), else from `.by_tier`
    (no envelope nor unspent then)."""
    frame = by_group if by_group is not None and not by_group.is_empty() else by_tier
    if frame is None or frame.is_empty():
        return None

    def total(column: str) -> float | None:
        return float(frame[column].cast(pl.Float64).sum()) if column in frame.columns else None

    claims = total("claim_uah")
    capped = total("capped_claim_uah")
    allocated = total("allocated_uah") or 0.0
    numbers: dict[str, Any] = {
        "envelope_uah": total("envelope_uah"),
        "claim_uah": claims,
        # shown only when caps cut the claims, so that claims after caps − allocated = shortfall
        # reads off the page
        "capped_claim_uah": capped
        if capped is not None and abs(capped - (claims or 0.0)) >= 0.01
        else None,
        "allocated_uah": allocated,
        "shortfall_uah": (capped if capped is not None else claims or 0.0) - allocated,
        "unspent_uah": total("unspent_uah"),
        "unspent_groups": [],
    }
    if "unspent_uah" in frame.columns and "envelope_group" in frame.columns:
        left = frame.filter(pl.col("unspent_uah").cast(pl.Float64) >= 0.01)
        numbers["unspent_groups"] = [str(g) for g in left["envelope_group"].to_list()]
    return numbers


_PLAN = (
    ("envelope_uah", "envelope"),
    ("claim_uah", "claims"),
    ("capped_claim_uah", "claims_capped"),
    ("allocated_uah", "allocated"),
    ("shortfall_uah", "shortfall"),
    ("unspent_uah", "unspent"),
)


def plan_figure(
    numbers: Mapping[str, Any], *, title: str | None = None, lang: str = DEFAULT_LANG
) -> go.Figure:
    """The five numbers a planner reads first: envelope, claims, allocated, shortfall, unspent
    (`budget_numbers`), in UAH; with claims after caps between claims and allocated when the
    caps cut them."""
    import plotly.graph_objects as go

    shown = [(k, t) for k, t in _PLAN if numbers.get(k) is not None]
    fig = go.Figure()
    for i, (key, text) in enumerate(shown):
        fig.add_trace(
            go.Indicator(
                mode="number",
                value=float(numbers[key]),
                number={"valueformat": ",.0f", "font": {"size": 22}},
                title={"text": f"{tr(text, lang)}, {tr('uah', lang)}", "font": {"size": 13}},
                domain={"row": i // 3, "column": i % 3},
            )
        )
    rows = max(1, -(-len(shown) // 3))
    return finish(
        fig,
        title or tr("plan_title", lang),
        grid={"rows": rows, "columns": 3, "pattern": "independent"},
        height=70 + 100 * rows,
        margin={"l": 20, "r": 20, "t": 50, "b": 10},
    )


def unspent_sentence(numbers: Mapping[str, Any], names: Mapping[str, str], lang: str) -> str:
    """Why money is unspent: the envelopes it stayed in."""
    unspent = numbers.get("unspent_uah")
    if unspent is None or unspent < 0.01:
        return tr("unspent_none", lang) if unspent is not None else ""
    groups = [names.get(g, tier_label(g, lang)) for g in numbers.get("unspent_groups", [])]
    amount = f"{unspent:,.0f} {tr('uah', lang)}"
    return tr("unspent_why", lang, unspent=amount, groups=", ".join(groups) or "—")


_DIMENSIONS = {
    "income_band": ("дохід (прожиткових мінімумів)", "income (subsistence minimums)"),
    "disability_group": ("група інвалідності", "disability group"),
    "is_idp": ("ВПО", "IDP status"),
    "age_group": ("вік", "age group"),
    "settlement": ("місто / село", "urban / rural"),
    "ownership": ("власність надавача", "provider ownership"),
}
_GROUP_WORDS = {
    "IDP": "ВПО",
    "not IDP": "не ВПО",
    "unknown": "невідомо",
    "urban": "місто",
    "rural": "село",
    "none": "немає",
    "child": "дитина",
    "state": "державна",
    "communal": "комунальна",
    "nonstate": "недержавна",
    "individual": "ФОП",
}


def _group_labels(groups: pl.DataFrame, lang: str) -> list[str]:
    uk = lang == "uk"
    return [
        f"{_DIMENSIONS.get(d, (d, d))[0 if uk else 1]}: {_GROUP_WORDS.get(g, g) if uk else g}"
        for d, g in zip(groups["dimension"], groups["group"], strict=True)
    ]


def _budget_cost(table: pl.DataFrame) -> float:
    budget = table.filter(pl.col("dimension") == "budget")
    return -float(budget["diff_state_uah"][0]) if not budget.is_empty() else 0.0


def _signed(amount: float, lang: str) -> str:
    return f"{'+' if amount >= 0 else '−'}{abs(amount):,.0f} {tr('uah', lang)}"


def scenario_groups_figure(
    paid: pl.DataFrame,
    neutral: pl.DataFrame | None = None,
    *,
    name: str = "",
    title: str | None = None,
    lang: str = DEFAULT_LANG,
) -> go.Figure:
    """Winners and losers per group (`engine.scenario_groups.winners_losers`), cases that win to
    the right and lose to the left: when the state budget pays the scenario's cost (`paid`), and
    beside it (`neutral`, `budget_neutral=True`) when the same budget must pay for it."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    views = [(paid, tr("budget_pays", lang, cost=_signed(_budget_cost(paid), lang)))]
    if neutral is not None:
        views.append((neutral, tr("budget_same", lang)))
    fig = make_subplots(
        rows=1,
        cols=len(views),
        shared_yaxes=True,
        horizontal_spacing=0.06,
        subplot_titles=[v[1] for v in views],
    )
    for col, (table, _) in enumerate(views, start=1):
        groups = table.filter(pl.col("dimension") != "budget")
        labels = _group_labels(groups, lang)
        money = groups["diff_state_uah"].to_list()
        for column, sign, text, color in (
            ("winners", 1, "winners", COLORS["gain"]),
            ("losers", -1, "losers", COLORS["loss"]),
        ):
            fig.add_trace(
                go.Bar(
                    y=labels,
                    x=[sign * v for v in groups[column].to_list()],
                    orientation="h",
                    name=tr(text, lang),
                    legendgroup=text,
                    showlegend=col == 1,
                    marker_color=color,
                    customdata=money,
                    hovertemplate="%{y}: %{x:,} · %{customdata:+,.0f} "
                    + tr("uah", lang)
                    + "<extra></extra>",
                ),
                row=1,
                col=col,
            )
        fig.update_xaxes(title_text=tr("cases_axis", lang), zeroline=True, row=1, col=col)
    fig.update_yaxes(autorange="reversed", automargin=True)
    rows = paid.filter(pl.col("dimension") != "budget").height
    return finish(
        fig,
        title or tr("scenario_groups_title", lang, name=name),
        barmode="relative",
        height=max(380, 18 * rows + 190),
        margin={"t": 100},
    )


def scenario_groups_table_figure(
    paid: pl.DataFrame,
    neutral: pl.DataFrame | None = None,
    *,
    title: str | None = None,
    lang: str = DEFAULT_LANG,
) -> go.Figure:
    """The numbers of `scenario_groups_figure` as a table: per group, cases, winners and losers,
    what the state pays more, what recipients and providers gain; the budget's row last."""
    import plotly.graph_objects as go

    labels = [*_group_labels(paid.filter(pl.col("dimension") != "budget"), lang), "budget"]
    labels[-1] = tr("state_budget", lang)
    ordered = pl.concat(
        [paid.filter(pl.col("dimension") != "budget"), paid.filter(pl.col("dimension") == "budget")]
    )
    columns = {
        tr("col_group", lang): labels,
        tr("cases_axis", lang): [f"{v:,}" for v in ordered["cases"]],
        tr("winners", lang): [f"{v:,}" for v in ordered["winners"]],
        tr("losers", lang): [f"{v:,}" for v in ordered["losers"]],
        tr("col_state_more", lang): [f"{v:+,.0f}" for v in ordered["diff_state_uah"]],
        tr("col_recipients_gain", lang): [f"{v:+,.0f}" for v in ordered["recipients_gain_uah"]],
        tr("col_providers_gain", lang): [f"{v:+,.0f}" for v in ordered["providers_gain_uah"]],
    }
    if neutral is not None:
        same = pl.concat(
            [
                neutral.filter(pl.col("dimension") != "budget"),
                neutral.filter(pl.col("dimension") == "budget"),
            ]
        )
        columns[tr("col_neutral", lang)] = [
            f"{w:,} / {lo:,}" for w, lo in zip(same["winners"], same["losers"], strict=True)
        ]
    fig = go.Figure(
        go.Table(
            columnwidth=[2.6, 0.8, 0.8, 0.8, 1.1, 1.1, 1.1, 1.2][: len(columns)],
            header={"values": list(columns), "align": "left"},
            cells={"values": list(columns.values()), "align": "left", "height": 22},
        )
    )
    return finish(
        fig,
        title or tr("scenario_groups_table", lang),
        height=34 * len(labels) + 150,
        margin={"l": 10, "r": 10},
    )


def lorenz(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Lorenz curve of `values` per unit of `weight` (money per resident across hromadas): the
    cumulative shares of weight (x) and of value (y), from the poorest unit up, and the Gini.

    >>> x, y, gini = lorenz(np.array([0.0, 10.0]), np.array([1.0, 1.0]))
    >>> x.tolist(), y.tolist(), round(gini, 3)
    ([0.0, 0.5, 1.0], [0.0, 0.0, 1.0], 0.5)
    """
    keep = weights > 0
    values, weights = values[keep], weights[keep]
    order = np.argsort(values / weights, kind="stable")
    w = np.concatenate([[0.0], np.cumsum(weights[order])])
    v = np.concatenate([[0.0], np.cumsum(values[order])])
    if w[-1] <= 0 or v[-1] <= 0:
        return w, v, 0.0
    x, y = w / w[-1], v / v[-1]
    gini = float(1.0 - np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1])))
    return x, y, gini


def lorenz_figure(
    curves: Mapping[str, pl.DataFrame],
    *,
    value: str = "uah",
    weight: str = "population",
    title: str | None = None,
    lang: str = DEFAULT_LANG,
) -> go.Figure:
    """Lorenz curves side by side (e.g. baseline, scenario, allocation), each named with its Gini.

    Each frame holds one row per hromada with `value` (money) and `weight` (residents); hromadas
    without money are kept as zeros, so the curve shows who gets nothing."""
    import plotly.graph_objects as go

    fig = go.Figure(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            line={"color": "#999", "dash": "dash"},
            name=tr("equality", lang),
        )
    )
    palette = [COLORS["served"], COLORS["waiting"], COLORS["allocated"], "#7a5195"]
    for i, (name, frame) in enumerate(curves.items()):
        x, y, gini = lorenz(
            frame[value].cast(pl.Float64).fill_null(0.0).to_numpy(),
            frame[weight].cast(pl.Float64).fill_null(0.0).to_numpy(),
        )
        step = max(1, len(x) // 400)  # enough points for the eye, not one per hromada
        fig.add_trace(
            go.Scatter(
                x=np.append(x[::step], x[-1]).tolist(),
                y=np.append(y[::step], y[-1]).tolist(),
                mode="lines",
                line={"color": palette[i % len(palette)], "width": 2},
                name=tr("gini_of", lang, name=name, gini=gini),
                hovertemplate="%{x:.0%} → %{y:.0%}<extra></extra>",
            )
        )
    fig.update_xaxes(title_text=tr("lorenz_x", lang), tickformat=".0%", range=[0, 1])
    fig.update_yaxes(
        title_text=tr("lorenz_y", lang), tickformat=".0%", range=[0, 1], ticklabelstandoff=8
    )
    return finish(fig, title or tr("lorenz_title", lang), height=460, margin={"b": 110})
