"""`explain_amount`: one case-month, priced by the engine's own pricing, with every factor and every cut.

The case is cut out of the registry (`case_registry`) and priced by `compute_entitlements` over
that one month: the same code path as a run, restricted to one case, so the explanation cannot
disagree with the run's amount. What this module adds is attribution (the cause of every cut, the
source of every factor) and a check: the factors, multiplied and summed in float64 and rounded to
the kopiyka half away from zero (`engine.columns.round_kopiyka`, the engine's rounding), give the
engine's case-month amounts exactly (`Explanation.consistent`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl

from engine._version import __version__
from engine.columns import round_kopiyka
from engine.dates import add_months, month_start, parse_month
from engine.errors import ConfigError
from engine.explain._case import case_registry
from engine.explain._causes import DEFAULT_CAUSES, CaseContext, CutCause, boundary_causes
from engine.explain._factors import MULTIPLIERS, factor_rows, in_force
from engine.explain._result import Explanation, shown_path
from engine.explain._words import LANGS, say
from engine.params import FundingModel
from engine.schemas import Registry

__all__ = [
    "case_attributes",
    "explain_amount",
    "explain_priced",
    "explain_registry",
    "month_of",
]

_CENT = Decimal("0.01")


def month_of(month: str | dt.date) -> dt.date:
    """The first day of `month` ("YYYY-MM" or a date); a bad month is a `ConfigError`."""
    if isinstance(month, dt.date):
        return month_start(month)
    try:
        return parse_month(month)
    except ValueError as exc:
        raise ConfigError(f"--month: {exc}") from None


def case_attributes(registry: Registry) -> dict[str, Any]:
    """The one case's row with its recipient's and its service's columns."""
    services = registry.services.select(
        "service_code", "unit", pl.col("group").alias("service_group"), "name_en", "name_uk"
    )
    row = (
        registry.cases.drop("source_line")
        .join(registry.recipients.drop("source_line"), on="recipient_id", how="left")
        .join(services, on="service_code", how="left")
    )
    return row.row(0, named=True)


def _names(territories: pl.DataFrame | None, codes: list[str | None], lang: str) -> dict[str, str]:
    """hromada code -> name in `lang` (English: the official transliteration, as the CLI prints)."""
    from engine.report._labels import hromada_labels  # lazily: the report imports this package

    if territories is None:
        return {}
    wanted = [c for c in codes if c is not None]
    return hromada_labels(territories.filter(pl.col("hromada_code").is_in(wanted)), lang)


def _segments(
    ent_segments: pl.DataFrame, cuts: pl.DataFrame, names: dict[str, str]
) -> pl.DataFrame:
    segs = ent_segments.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String))
    return pl.concat(
        [
            segs.select(
                pl.int_range(pl.len(), dtype=pl.Int32).alias("segment"),
                "segment_from",
                "segment_to",
                "days",
                "days_in_month",
                "funded",
                "hromada_code",
                pl.col("hromada_code").replace_strict(names, default=None).alias("hromada_name"),
                "provider_id",
                "ownership",
            ),
            cuts.drop("segment"),
            segs.select("gross_uah", "copay_uah", "state_uah"),
        ],
        how="horizontal",
    )


def _case_months(
    ent_case_months: pl.DataFrame, factors: pl.DataFrame, segments: pl.DataFrame
) -> pl.DataFrame:
    """Per (month, funded): the factors' product summed and rounded beside the engine's amounts."""
    multipliers = factors.filter(pl.col("role") == "multiplier")
    assert set(multipliers["factor"].unique()) <= set(MULTIPLIERS)
    products = multipliers.group_by("segment").agg(
        pl.col("funded").first(), pl.col("value").fill_null(np.nan).product().alias("gross")
    )
    shares = factors.filter(pl.col("factor") == "copay_share").select("segment", share="value")
    per = products.join(shares, on="segment").with_columns(
        pl.col("gross").fill_nan(0.0),
        (pl.col("gross").fill_nan(0.0) * pl.col("share")).alias("copay"),
    )
    sums = per.group_by("funded").agg(pl.col("gross").sum(), pl.col("copay").sum())
    rows = []
    for cm in ent_case_months.iter_rows(named=True):
        mine = sums.filter(pl.col("funded") == cm["funded"])
        gross = float(mine["gross"][0]) if mine.height else 0.0
        copay = float(mine["copay"][0]) if mine.height else 0.0
        rounded = round_kopiyka(np.array([gross, copay]))
        g, c = (Decimal(f"{v:.2f}") for v in rounded)
        capped = segments.filter(pl.col("funded") == cm["funded"])
        rows.append(
            {
                "month": cm["month"],
                "funded": cm["funded"],
                "days": cm["days"],
                "case_months": cm["case_months"],
                "gross_unrounded": gross,
                "copay_unrounded": copay,
                "gross_uah": cm["gross_uah"],
                "copay_uah": cm["copay_uah"],
                "state_uah": cm["state_uah"],
                "hromada_code": str(cm["hromada_code"]) if cm["hromada_code"] else None,
                "provider_id": str(cm["provider_id"]) if cm["provider_id"] else None,
                "segments": capped.height,
                "matches_engine": g == cm["gross_uah"]
                and c == cm["copay_uah"]
                and g - c == cm["state_uah"],
            }
        )
    schema: dict[str, pl.DataType] = {
        "month": pl.Date(),
        "funded": pl.Boolean(),
        "days": pl.Int64(),
        "case_months": pl.Float64(),
        "gross_unrounded": pl.Float64(),
        "copay_unrounded": pl.Float64(),
        "gross_uah": pl.Decimal(18, 2),
        "copay_uah": pl.Decimal(18, 2),
        "state_uah": pl.Decimal(18, 2),
        "hromada_code": pl.String(),
        "provider_id": pl.String(),
        "segments": pl.Int64(),
        "matches_engine": pl.Boolean(),
    }
    return pl.DataFrame(rows, schema=schema)


def _model_header(model: FundingModel) -> dict[str, Any]:
    folder = next((p.source for p in model.parameters.values() if p.source), "")
    return {
        "model_name": model.name,
        "model_version": model.version,
        "model_hash": model.content_hash,
        "model_scenario": model.scenario,
        "model_folder": shown_path(folder.rsplit("/", 1)[0]) if folder else None,
    }


def explain_registry(
    one: Registry,
    model: FundingModel,
    month: dt.date,
    *,
    territories: pl.DataFrame | None = None,
    causes: Sequence[CutCause] = DEFAULT_CAUSES,
    source: str = "",
    lang: str = "en",
) -> Explanation:
    """Explain the only case of `one` (a one-case registry) in `month` (its first day), priced
    by `compute_entitlements` over that month, in `lang`."""
    from engine.entitlements import compute_entitlements

    ent = compute_entitlements(one, model, territories, months=(month, month))
    return explain_priced(
        one,
        model,
        month,
        ent.segments,
        ent.case_months,
        territories=territories,
        causes=causes,
        source=source,
        lang=lang,
    )


def explain_priced(
    one: Registry,
    model: FundingModel,
    month: dt.date,
    priced_segments: pl.DataFrame,
    priced_case_months: pl.DataFrame,
    *,
    territories: pl.DataFrame | None = None,
    causes: Sequence[CutCause] = DEFAULT_CAUSES,
    source: str = "",
    lang: str = "en",
) -> Explanation:
    """Explain the only case of `one` in `month` from the segments and case-months the engine's
    pricing already made of it (`compute_entitlements(...).segments`, `.case_months`, restricted
    to that case and month): a run explains its own amounts without pricing them again. Every
    sentence is said in `lang` (`en` or `uk`); codes are the same in both."""
    if lang not in LANGS:
        raise ConfigError(f"lang {lang!r}: one of {', '.join(LANGS)}")
    segs = priced_segments.sort("segment_from", "funded")
    case = case_attributes(one)
    codes = [*one.case_locations["hromada_code"].to_list(), case["registered_hromada"]]
    names = _names(territories, codes, lang)
    ctx = CaseContext(
        registry=one, model=model, month=month, case=case, segments=segs, names=names, lang=lang
    )
    cuts = boundary_causes(ctx, causes)
    factors = factor_rows(ctx)
    segments = _segments(segs, cuts, names)
    case_months = _case_months(priced_case_months, factors, segments)
    serving = list(dict.fromkeys(segments["hromada_code"].to_list()))
    monthly_cap = in_force(
        model, "monthly_cap", {"service_code": case["service_code"]}, month, lang
    )
    header = {
        "case_id": case["case_id"],
        "month": f"{month:%Y-%m}",
        "service_code": case["service_code"],
        "service_name_en": case["name_en"],
        "service_name_uk": case["name_uk"],
        "unit": case["unit"],
        "service_group": case["service_group"],
        "need_level": case["need_level"],
        "assessed_units": case["assessed_units"],
        "case_start": case["start_date"],
        "case_end": case["end_date"],
        "recipient_id": case["recipient_id"],
        "disability_group": case["disability_group"],
        "income_ratio": case["income_ratio"],
        "is_idp": case["is_idp"],
        "registered_hromada": case["registered_hromada"],
        "registered_hromada_name": names.get(case["registered_hromada"] or ""),
        "serving_hromadas": [{"code": c, "name": names.get(c)} for c in serving],
        "monthly_cap_uah": monthly_cap["value"],
        "monthly_cap_source": shown_path(monthly_cap["source"]),
        "monthly_cap_from": monthly_cap["effective_from"],
        "monthly_cap_reference": monthly_cap["reference"],
        "rounding": say("rounding", lang),
        **_model_header(model),
        "engine_version": __version__,
        "source": source,
    }
    notes = []
    if segments.is_empty():
        notes.append(_why_nothing(case, month, lang))
    factors = factors.with_columns(
        pl.col("source").map_elements(shown_path, return_dtype=pl.String)
    )
    return Explanation(header, segments, factors, case_months, tuple(notes), lang=lang)


def _why_nothing(case: dict[str, Any], month: dt.date, lang: str) -> str:
    nxt, shown = add_months(month, 1), f"{month:%Y-%m}"
    if case["start_date"] >= nxt:
        return say("nothing_before", lang, day=case["start_date"], month=shown)
    if case["end_date"] is not None and case["end_date"] < month:
        return say("nothing_after", lang, day=case["end_date"], month=shown)
    return say("nothing_located", lang, month=shown)


def explain_amount(
    registry: Registry,
    model: FundingModel,
    case_id: str,
    month: str | dt.date,
    *,
    territories: pl.DataFrame | None = None,
    causes: Sequence[CutCause] = DEFAULT_CAUSES,
    source: str = "",
    lang: str = "en",
) -> Explanation:
    """Why case `case_id` is owed what it is owed in `month` ("YYYY-MM"), factor by factor, said
    in `lang` (`en` or `uk`).

    The case is priced by the engine's own pricing restricted to that case; `causes` names the
    sources of cut dates (`DEFAULT_CAUSES`, extensible). Unknown case or bad month: `ConfigError`.

    >>> import engine
    >>> registry = engine.read_registry("data_samples/registry")
    >>> model = engine.load_funding_model("models/funding/baseline")
    >>> why = explain_amount(registry, model, "C000000001", "2024-03")
    >>> why.consistent, why.case_months["gross_uah"].to_list()
    (True, [Decimal('4200.00')])
    """
    return explain_registry(
        case_registry(registry, case_id),
        model,
        month_of(month),
        territories=territories,
        causes=causes,
        source=source,
        lang=lang,
    )
