"""The run report: which sections, in which order, from which of a run's frames.

`ReportData` bundles whatever a run produced (every frame optional); `report_sections` turns it into
titled sections of figures, leaving out what the run did not compute; `build_report` renders them
into one self-contained HTML file, in one language (`lang`: Ukrainian by default, or English).

A planning run opens with its budget (envelope, claims, allocated, shortfall, unspent); a run with
entitlements with its headline numbers. A section module adds a `ReportData` field and one call in
`report_sections`.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from engine.report._data import ReportData
from engine.report._figures_plan import quarantine_figure
from engine.report._html import Section, render_html
from engine.report._section_execution import execution_sections
from engine.report._section_explain import explain_sections
from engine.report._section_idp import idp_burden_sections
from engine.report._section_sweep import sweep_sections
from engine.report._sections_forecast import forecast_sections
from engine.report._sections_money import money_sections
from engine.report._sections_pilot import pilot_sections
from engine.report._sections_plan import budget_sections, equity_sections, plan_sections
from engine.report._suppress import DEFAULT_MIN_COUNT
from engine.report._text import DEFAULT_LANG, check_lang, tr

__all__ = ["ReportData", "build_report", "report_sections"]


def _validation_sections(data: ReportData, lang: str) -> list[Section]:
    summary = data.quarantine_summary
    if summary is None:
        return []
    quarantined = (
        dict(summary.group_by("table").agg(pl.col("rows").sum()).iter_rows())
        if not summary.is_empty()
        else {}
    )
    table = {
        name: tr("rows_read", lang, read=f"{read:,}", quarantined=f"{quarantined.get(name, 0):,}")
        + (f" ({quarantined.get(name, 0) / read:.2%})" if read else "")
        for name, read in data.rows_read.items()
    }
    return [
        Section(
            tr("s_validation", lang),
            [quarantine_figure(summary, lang=lang)],
            note=tr("validation_note", lang),
            table=table,
        )
    ]


def _run_sections(data: ReportData, lang: str) -> list[Section]:
    return [Section(tr("s_run", lang), table=dict(data.run))] if data.run else []


def report_sections(
    data: ReportData,
    *,
    min_count: int = DEFAULT_MIN_COUNT,
    oblast: str | None = None,
    service: str | None = None,
    lang: str = DEFAULT_LANG,
) -> list[Section]:
    """The report's sections in reading order, only those the run has data for; `oblast` /
    `service` choose the forecast detail, `lang` the language (`uk` or `en`)."""
    check_lang(lang)
    money = money_sections(data, min_count, lang)
    budget = budget_sections(data, lang)
    opening = [*money[:1], *budget, *money[1:]] if money else budget
    sections = [
        *opening,
        *forecast_sections(data, oblast, service, lang),
        *plan_sections(data, min_count, lang),
        *equity_sections(data, lang),
        *pilot_sections(data, lang),
        *execution_sections(
            data.execution, data.territories, data.services, min_count=min_count, lang=lang
        ),
        *idp_burden_sections(data.idp_burden, data.territories, min_count=min_count, lang=lang),
        *explain_sections(data.explained, lang, data.territories),
        *sweep_sections(data.sweep, lang=lang),
        *_validation_sections(data, lang),
        *_run_sections(data, lang),
    ]
    return [s for s in sections if s.figures or s.table]


def build_report(
    data: ReportData,
    out: Path | str | None = None,
    *,
    min_count: int = DEFAULT_MIN_COUNT,
    oblast: str | None = None,
    service: str | None = None,
    title: str | None = None,
    lang: str = DEFAULT_LANG,
) -> str:
    """Render a run's report as one self-contained HTML document; write it to `out` if given.

    >>> import engine
    >>> registry = engine.read_registry("data_samples/registry")
    >>> model = engine.load_funding_model("models/funding/baseline")
    >>> territories = engine.load_territories()
    >>> priced = engine.compute_entitlements(registry, model, territories, months=("2026-01", "2026-03"))
    >>> html = build_report(ReportData(case_months=priced.case_months, territories=territories))
    >>> html.startswith("<!DOCTYPE html>"), "Plotly" in html, '<html lang="uk">' in html
    (True, True, True)
    """
    run_id = data.run.get("run_id")
    heading = title or (tr("report_of", lang, run_id=run_id) if run_id else tr("report", lang))
    doc = render_html(
        heading,
        report_sections(data, min_count=min_count, oblast=oblast, service=service, lang=lang),
        subtitle=tr("subtitle", lang),
        footer=tr("footer", lang, min_count=min_count),
        lang=lang,
    )
    if out is not None:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(doc, encoding="utf-8")
        tmp.replace(path)  # a reader never sees half a report
    return doc
