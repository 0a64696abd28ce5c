"""A planner's one-page summary of a run: five numbers, one map, one chart, what changed.

`summary_numbers` picks the five numbers a planner reads first — a run that allocated: envelope,
claims, allocated, shortfall, unspent; else entitlement, unmet need, coverage, cases and people
served — and `build_summary` lays them out with the change since the previous run of the same spec,
the coverage tile map and the allocation (or the monthly trend) on one printable HTML page
(A4 landscape; plotly inlined, opens offline), in one language.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from engine.report._figures_budget import budget_numbers
from engine.report._figures_money import trend_figure
from engine.report._figures_plan import allocation_figure
from engine.report._figures_territory import oblast_tiles_figure
from engine.report._frames import headline_numbers, monthly_summary, oblast_summary
from engine.report._text import DEFAULT_LANG, check_lang, tr

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from engine.report._data import ReportData

__all__ = ["build_summary", "summary_numbers"]

_PLAN = ("envelope_uah", "claim_uah", "allocated_uah", "shortfall_uah", "unspent_uah")
_MONEY = ("entitled_uah", "unmet_uah", "coverage", "cases_served", "people_served")
_LABELS = {
    "envelope_uah": "envelope",
    "claim_uah": "claims",
    "capped_claim_uah": "claims_capped",
    "allocated_uah": "allocated",
    "shortfall_uah": "shortfall",
    "unspent_uah": "unspent",
    "entitled_uah": "entitled",
    "unmet_uah": "unmet",
    "coverage": "coverage_cm",
    "cases_served": "cases_served",
    "people_served": "people_served",
}


def summary_numbers(data: ReportData) -> dict[str, float]:
    """The run's five numbers (see the module docstring); fewer when the run computed less."""
    plan = budget_numbers(data.allocation_by_group, data.allocation_by_tier)
    if plan is not None:
        # the claims the shortfall is counted from: after caps, when the caps cut them
        keys = [
            "capped_claim_uah" if k == "claim_uah" and plan.get("capped_claim_uah") else k
            for k in _PLAN
        ]
        return {k: float(plan[k]) for k in keys if plan.get(k) is not None}
    if data.case_months is None or data.case_months.is_empty():
        return {}
    numbers = headline_numbers(data.case_months)
    return {k: float(numbers[k]) for k in _MONEY if numbers.get(k) is not None}


def _format(key: str, value: float, lang: str) -> str:
    if key == "coverage":
        return f"{value:.1%}"
    if key.endswith("_uah"):
        return f"{value:,.0f} {tr('uah', lang)}"
    return f"{value:,.0f}"


def _change(key: str, now: float, before: float | None, lang: str) -> str:
    if before is None:
        return ""
    delta = now - before
    if abs(delta) < (0.0005 if key == "coverage" else 0.5):
        return tr("unchanged", lang)
    sign = "+" if delta > 0 else "−"
    if key == "coverage":
        return f"{sign}{abs(delta) * 100:.1f} {tr('points', lang)}"
    share = f" ({sign}{abs(delta) / abs(before):.1%})" if before else ""
    return f"{sign}{_format(key, abs(delta), lang)}{share}"


def _figures(data: ReportData, lang: str) -> list[go.Figure]:
    figures = []
    cm, territories = data.case_months, data.territories
    if data.need is not None and not data.need.is_empty() and "level" in data.need.columns:
        oblasts = data.need.filter(pl.col("level") == "oblast")
        latest = oblasts.filter(pl.col("month") == oblasts["month"].max())
        month = latest["month"][0].strftime("%Y-%m")
        figures.append(
            oblast_tiles_figure(
                latest,
                "coverage",
                territories,
                title=tr("coverage_tiles", lang, month=month),
                label=tr("coverage", lang),
                lang=lang,
            )
        )
    elif cm is not None and not cm.is_empty():
        figures.append(
            oblast_tiles_figure(
                oblast_summary(cm, territories),
                "coverage",
                territories,
                title=tr("coverage_tiles_period", lang),
                label=tr("coverage", lang),
                lang=lang,
            )
        )
    alloc = data.allocation_by_territory
    if alloc is not None and not alloc.is_empty() and "oblast_code" in alloc.columns:
        if not figures:  # a planning run: the map is how much of each oblast's claims is covered
            figures.append(
                oblast_tiles_figure(
                    _allocation_coverage(alloc),
                    "coverage",
                    territories,
                    title=tr("allocation_coverage_map", lang),
                    label=tr("coverage", lang),
                    colorscale="RdYlGn",
                    lang=lang,
                )
            )
        figures.append(allocation_figure(alloc, territories, lang=lang))
    elif cm is not None and not cm.is_empty():
        figures.append(trend_figure(monthly_summary(cm), lang=lang))
    for fig in figures:
        fig.update_layout(height=540)
    return figures


def _allocation_coverage(by_territory: pl.DataFrame) -> pl.DataFrame:
    """Allocated ÷ claim (after caps) per oblast."""
    claim = "capped_claim_uah" if "capped_claim_uah" in by_territory.columns else "claim_uah"
    return (
        by_territory.group_by(pl.col("oblast_code").cast(pl.String))
        .agg(pl.col("allocated_uah", claim).cast(pl.Float64).sum())
        .with_columns(
            coverage=pl.when(pl.col(claim) > 0).then(pl.col("allocated_uah") / pl.col(claim))
        )
    )


_CSS = """
@page { size: A4 landscape; margin: 10mm; }
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 16px;
       color: #222; }
h1 { font-size: 20px; margin: 0 0 2px; } p.sub { margin: 0 0 10px; color: #555; font-size: 12px; }
table.five { border-collapse: collapse; width: 100%; margin-bottom: 8px; }
table.five td { border: 1px solid #dde; padding: 6px 10px; vertical-align: top; width: 20%; }
td .label { color: #555; font-size: 12px; } td .value { font-size: 20px; font-weight: 600; }
td .change { color: #0b3d91; font-size: 12px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(600px, 1fr)); gap: 8px; }
.charts > div { min-width: 0; overflow: hidden; }
@media print { .modebar { display: none !important; } body { margin: 0; } }
"""


def build_summary(
    data: ReportData,
    out: Path | str | None = None,
    *,
    previous: ReportData | None = None,
    lang: str = DEFAULT_LANG,
) -> str:
    """The one-page summary of a run as HTML (written to `out` if given); `previous` is the
    previous run of the same spec, whose numbers the changes are measured from."""
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    check_lang(lang)
    numbers = summary_numbers(data)
    before = summary_numbers(previous) if previous is not None else {}
    cells = "".join(
        f'<td><div class="label">{html.escape(tr(_LABELS[k], lang))}</div>'
        f'<div class="value">{html.escape(_format(k, v, lang))}</div>'
        f'<div class="change">{html.escape(_change(k, v, before.get(k), lang))}</div></td>'
        for k, v in numbers.items()
    )
    run = data.run
    since = (
        tr("since_run", lang, run_id=previous.run.get("run_id", "?"))
        if previous is not None
        else tr("no_previous", lang)
    )
    charts = "".join(
        "<div>"
        + pio.to_html(
            fig,
            include_plotlyjs=False,
            full_html=False,
            div_id=f"fig-s-{i}",
            default_width="100%",
            default_height="540px",
            config={"displaylogo": False, "responsive": True},
        )
        + "</div>"
        for i, fig in enumerate(_figures(data, lang))
    )
    heading = tr("summary_title", lang, spec=run.get("spec", ""), run_id=run.get("run_id", ""))
    doc = f"""<!DOCTYPE html>
<html lang="{lang}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(heading)}</title><style>{_CSS}</style>
<script type="text/javascript">{get_plotlyjs()}</script></head>
<body><h1>{html.escape(heading)}</h1><p class="sub">{html.escape(since)}</p>
<table class="five"><tr>{cells}</tr></table>
<div class="charts">{charts}</div>
</body></html>
"""
    if out is not None:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(doc, encoding="utf-8")
        tmp.replace(path)
    return doc
