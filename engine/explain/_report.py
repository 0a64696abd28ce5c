"""The amounts a run's report explains: the largest case-months and those that changed most from
the month before, each explained segment by segment. In a run (`engine.pipeline._pricing.priced`)
they are explained from the run's own pricing (`explain_priced` on its segments: nothing is priced
twice); elsewhere each case is priced alone (`explain_registry`).

`explained_amounts` returns one row per segment of each chosen case-month (`EXPLAINED_SCHEMA`):
its factors multiplied out as text and the cause codes of the cut it starts at. The report shows
oblasts and cause codes, not hromada names: the rows are single cases (`mfr explain --case C
--month M` gives the full explanation to an operator).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import polars as pl

from engine.explain._case import case_registry
from engine.explain._explain import explain_priced, explain_registry
from engine.explain._result import Explanation
from engine.params import FundingModel
from engine.schemas import Registry

__all__ = [
    "EXPLAINED_SCHEMA",
    "explained_amounts",
    "picked_case_months",
]

EXPLAINED_SCHEMA: dict[str, pl.DataType] = {
    "kind": pl.String(),  # largest | most_changed
    "rank": pl.Int32(),
    "case_id": pl.String(),
    "month": pl.Date(),
    "funded": pl.Boolean(),
    "service_code": pl.String(),
    "oblast_code": pl.String(),
    "gross_uah": pl.Decimal(18, 2),
    "change_uah": pl.Decimal(18, 2),  # most_changed: this month's gross − the month before's
    "segment_from": pl.Date(),
    "segment_to": pl.Date(),
    "formula": pl.String(),
    "segment_gross_uah": pl.Decimal(18, 4),
    "causes": pl.String(),
    "consistent": pl.Boolean(),
}


def picked_case_months(case_months: pl.DataFrame, top: int = 5) -> pl.DataFrame:
    """The `top` largest funded case-months by gross, and the `top` funded case-months whose gross
    changed most from the same case's month before (both months priced): kind, rank, keys, change."""
    funded = case_months.filter(pl.col("funded")).select(
        pl.col("case_id").cast(pl.String), "month", "gross_uah"
    )
    largest = (
        funded.sort(["gross_uah", "case_id", "month"], descending=[True, False, False])
        .head(top)
        .with_columns(kind=pl.lit("largest"), change_uah=pl.lit(None, pl.Decimal(18, 2)))
    )
    before = funded.select(
        "case_id", month=pl.col("month").dt.offset_by("1mo"), previous=pl.col("gross_uah")
    )
    changed = (
        funded.join(before, on=["case_id", "month"])
        .with_columns(change_uah=(pl.col("gross_uah") - pl.col("previous")).cast(pl.Decimal(18, 2)))
        .filter(pl.col("change_uah") != 0)
        .with_columns(size=pl.col("change_uah").abs())
        .sort(["size", "case_id", "month"], descending=[True, False, False])
        .head(top)
        .with_columns(kind=pl.lit("most_changed"))
        .drop("previous", "size")
    )
    columns = ["kind", "case_id", "month", "gross_uah", "change_uah"]
    return pl.concat([largest.select(columns), changed.select(columns)]).with_columns(
        rank=pl.int_range(pl.len(), dtype=pl.Int32).over("kind") + 1
    )


def explained_amounts(
    case_months: pl.DataFrame,
    registry: Registry,
    model: FundingModel,
    territories: pl.DataFrame | None = None,
    *,
    segments: pl.DataFrame | None = None,
    top: int = 5,
) -> pl.DataFrame:
    """The largest and most changed case-months of `case_months`, explained (`EXPLAINED_SCHEMA`).

    With `segments` (the same pricing's segments frame) each is explained from what that pricing
    made of it (`explain_priced`: nothing is priced again); without, its case is priced alone.

    >>> import engine
    >>> registry = engine.read_registry("data_samples/registry")
    >>> model = engine.load_funding_model("models/funding/baseline")
    >>> priced = engine.compute_entitlements(registry, model, months=("2026-01", "2026-03"))
    >>> rows = explained_amounts(priced.case_months, registry, model, segments=priced.segments, top=2)
    >>> sorted(set(rows["kind"])), rows["consistent"].all()
    (['largest', 'most_changed'], True)
    """
    picked = picked_case_months(case_months, top)
    wanted = picked["case_id"].unique().to_list()
    small = case_registry_of(registry, wanted)
    mine = None
    if segments is not None:
        keep = pl.col("case_id").cast(pl.String).is_in(wanted)
        mine = (segments.filter(keep), case_months.filter(keep))
    oblast = {}
    if territories is not None:
        oblast = dict(territories.select("hromada_code", "oblast_code").iter_rows())
    rows: list[dict[str, object]] = []
    for pick in picked.iter_rows(named=True):
        one = case_registry(small, pick["case_id"])
        # without territories: the rows show oblasts (looked up here), not hromada names
        if mine is None:
            why = explain_registry(one, model, pick["month"])
        else:
            at = (pl.col("case_id").cast(pl.String) == pick["case_id"]) & (
                pl.col("month") == pick["month"]
            )
            why = explain_priced(one, model, pick["month"], mine[0].filter(at), mine[1].filter(at))
        rows += _rows(why, pick, oblast)
    return pl.DataFrame(rows, schema=EXPLAINED_SCHEMA)


def _rows(why: Explanation, pick: dict[str, Any], oblast: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for seg in why.segments.filter(pl.col("funded")).iter_rows(named=True):
        own = why.factors.filter(
            (pl.col("segment") == seg["segment"]) & (pl.col("role") == "multiplier")
        )
        out.append(
            {
                **{k: pick[k] for k in ("kind", "rank", "case_id", "month", "gross_uah")},
                "change_uah": pick["change_uah"],
                "funded": True,
                "service_code": why.header["service_code"],
                "oblast_code": oblast.get(seg["hromada_code"]),
                "segment_from": seg["segment_from"],
                "segment_to": seg["segment_to"],
                "formula": " × ".join(own["shown"].to_list()),
                "segment_gross_uah": seg["gross_uah"],
                "causes": ", ".join(seg["start_codes"]),
                "consistent": why.consistent,
            }
        )
    return out


def case_registry_of(registry: Registry, case_ids: list[str]) -> Registry:
    """The registry of a few cases (what `case_registry` then cuts one case from, quickly)."""
    cases = registry.cases.filter(pl.col("case_id").is_in(case_ids))
    locations = registry.case_locations.filter(pl.col("case_id").is_in(case_ids))
    return replace(
        registry,
        cases=cases,
        recipients=registry.recipients.filter(pl.col("recipient_id").is_in(cases["recipient_id"])),
        case_locations=locations,
        providers=registry.providers.filter(
            pl.col("provider_id").is_in(locations["provider_id"].drop_nulls())
        ),
        territory_status=registry.territory_status.filter(
            pl.col("hromada_code").is_in(locations["hromada_code"])
        ),
    )
