"""Every factor of every segment, with where its value came from.

The values are the engine's own (the columns of its segments frame); this module only attributes
each one to its parameter file, dimension key, the date that value took effect and its legal
reference, read from the same interval tables with the same lookup (`engine.intervals.value_at`
semantics: the value in force on the segment's first day). Where the attribution would give another
value than the engine used (a scenario's territorial change applied segment by segment) the row
says so in its note: the value shown is always the one that was priced.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from engine.explain._causes import CaseContext
from engine.explain._words import say, unit_word
from engine.params import FundingModel

__all__ = ["FACTOR_SCHEMA", "MULTIPLIERS", "factor_rows", "in_force"]

FACTOR_SCHEMA: dict[str, pl.DataType] = {
    "segment": pl.Int32(),
    "funded": pl.Boolean(),
    "factor": pl.String(),
    "role": pl.String(),  # multiplier: in the product; input: decides a multiplier; share: co-payment
    "value": pl.Float64(),
    "shown": pl.String(),
    "parameter": pl.String(),
    "source": pl.String(),
    "key": pl.String(),
    "effective_from": pl.Date(),
    "reference": pl.String(),
    "note": pl.String(),
}
# the factors whose product is a segment's gross, in the order of DESIGN.md §5
MULTIPLIERS = ("tariff", "units", "days", "coef", "modifier", "cap_factor")


def in_force(
    model: FundingModel, name: str, where: dict[str, Any], day: dt.date, lang: str = "en"
) -> dict[str, Any]:
    """The value of parameter `name` for key `where` in force on `day`, with its provenance (its
    notes and legal reference in `lang`, the reference in English where the file has no other)."""
    param = model.parameter(name)
    table = param.intervals
    for dim, value in where.items():
        table = table.filter(pl.col(dim) == value)
    row = table.filter(
        (pl.col("valid_from") <= day) & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= day))
    )
    key = ", ".join(f"{k}={v}" for k, v in where.items())
    found: dict[str, Any] = {
        "parameter": name,
        "source": param.source or None,
        "key": key or None,
        "reference": (lang == "uk" and param.reference_uk) or param.reference,
    }
    if row.height:
        return found | {
            "value": row["value"][0],
            "effective_from": row["valid_from"][0],
            "note": None,
        }
    if param.default is not None:
        note = say("file_default", lang)
        return found | {"value": param.default, "effective_from": None, "note": note}
    return found | {"value": None, "effective_from": None, "note": say("no_value_in_force", lang)}


def _row(
    at: tuple[int, bool],
    factor: str,
    role: str,
    value: float | None,
    shown: str,
    *,
    origin: dict[str, Any] | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    segment, funded = at
    origin = origin or {}
    return {
        "segment": segment,
        "funded": funded,
        "factor": factor,
        "role": role,
        "value": value,
        "shown": shown,
        "parameter": origin.get("parameter"),
        "source": origin.get("source"),
        "key": origin.get("key"),
        "effective_from": origin.get("effective_from"),
        "reference": origin.get("reference"),
        "note": note if note is not None else origin.get("note"),
    }


def _checked(ctx: CaseContext, origin: dict[str, Any], used: float | None) -> str | None:
    """A note when the engine priced another value than the file's (a scenario's territorial change)."""
    if (
        used is None
        or origin["value"] is None
        or abs(origin["value"] - used) <= 1e-9 * max(1, abs(used))
    ):
        return origin["note"]
    return ctx.say("scenario_adjusted", value=f"{origin['value']:g}")


def _units(ctx: CaseContext, seg: dict[str, Any], i: int, unit: str) -> list[dict[str, Any]]:
    funded, day, case = seg["funded"], seg["segment_from"], ctx.case
    if unit == "month":
        shown, note = ctx.say("one_month"), ctx.say("paid_per_month")
        return [_row((i, funded), "units", "multiplier", 1.0, shown, note=note)]
    units = unit_word(unit, ctx.lang, many=True)
    level = {"service_code": case["service_code"], "need_level": case["need_level"]}
    most = in_force(ctx.model, "max_units", level, day, ctx.lang)
    rows = []
    if case["assessed_units"] is not None:
        origin = {"source": ctx.say("assessed_source"), "key": f"case_id={case['case_id']}"}
        rows.append(
            _row(
                (i, funded),
                "assessed_units",
                "input",
                case["assessed_units"],
                ctx.say("units_a_month", n=f"{case['assessed_units']:g}", units=units),
                origin=origin,
            )
        )
        rule = ctx.say("rule_assessed")
    else:
        norm = in_force(ctx.model, "norm_units", level, day, ctx.lang)
        rows.append(
            _row(
                (i, funded),
                "norm_units",
                "input",
                norm["value"],
                ctx.say("units_a_month", n=f"{norm['value']:g}", units=units),
                origin=norm,
            )
        )
        rule = "min(norm_units, max_units)"
    rows.append(
        _row(
            (i, funded),
            "max_units",
            "input",
            most["value"],
            ctx.say("at_most_units", n=f"{most['value']:g}", units=units),
            origin=most,
        )
    )
    if unit == "day":
        rule = ctx.say("rule_stay")
        return [
            *rows,
            _row((i, funded), "units", "input", seg["units"], f"{seg['units']:g}", note=rule),
        ]
    shown = ctx.say("units", n=f"{seg['units']:g}", units=units)
    return [*rows, _row((i, funded), "units", "multiplier", seg["units"], shown, note=rule)]


def _coef(ctx: CaseContext, seg: dict[str, Any], i: int) -> list[dict[str, Any]]:
    funded, day = seg["funded"], seg["segment_from"]
    active = ctx.registry.territory_status.filter(
        (pl.col("hromada_code") == seg["hromada_code"])
        & (pl.col("valid_from") <= day)
        & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= day))
    )
    rows, product = [], 1.0
    for status in sorted(set(active["status"].to_list())):
        origin = in_force(ctx.model, "territory_coef", {"status": status}, day, ctx.lang)
        value = 1.0 if origin["value"] is None else origin["value"]
        product *= value
        rows.append(
            _row(
                (i, funded), "territory_coef", "input", value, f"{status} {value:g}", origin=origin
            )
        )
    if not rows:
        return [
            _row(
                (i, funded),
                "coef",
                "multiplier",
                seg["coef"],
                f"{seg['coef']:g}",
                note=ctx.say("no_status"),
            )
        ]
    cap = in_force(ctx.model, "territory_coef_cap", {}, day, ctx.lang)
    if cap["value"] is not None:
        rows.append(
            _row(
                (i, funded),
                "territory_coef_cap",
                "input",
                cap["value"],
                ctx.say("at_most", value=f"{cap['value']:g}"),
                origin=cap,
            )
        )
    rule = ctx.say("coef_product", product=f"{product:.6g}") + (
        ctx.say("coef_capped", cap=f"{cap['value']:g}")
        if cap["value"] is not None and product > cap["value"]
        else ""
    )
    return [
        *rows,
        _row((i, funded), "coef", "multiplier", seg["coef"], f"{seg['coef']:g}", note=rule),
    ]


def _cap(ctx: CaseContext, seg: dict[str, Any], i: int, before: float) -> dict[str, Any]:
    service = {"service_code": ctx.case["service_code"]}
    cap = in_force(ctx.model, "monthly_cap", service, ctx.month, ctx.lang)
    factor = seg["cap_factor"]
    if cap["value"] is None:
        return _row(
            (i, seg["funded"]),
            "cap_factor",
            "multiplier",
            factor,
            f"{factor:g}",
            origin=cap | {"reference": None},
            note=ctx.say("no_cap_service"),
        )
    reached = factor < 1.0
    amounts = {"before": f"{before:,.4f}", "cap": f"{cap['value']:,.2f}"}
    note = (
        ctx.say("cap_reached", **amounts, day=ctx.month, factor=f"{factor:.7f}")
        if reached
        else ctx.say("cap_not_reached", **amounts)
    )
    return _row(
        (i, seg["funded"]),
        "cap_factor",
        "multiplier",
        factor,
        f"{factor:.7g}",
        origin=cap,
        note=note,
    )


def _copay(ctx: CaseContext, seg: dict[str, Any], i: int) -> dict[str, Any]:
    # the income ratio in force on the segment (dated by a benefits extract), else the registry's
    income = seg.get("income_ratio", ctx.case["income_ratio"])
    day, share = seg["segment_from"], seg["copay_share"]

    def row(note: str, origin: Any = None) -> dict[str, Any]:
        key = (i, seg["funded"])
        return _row(key, "copay_share", "share", share, f"{share:g}", origin=origin, note=note)

    if income is None:
        unknown = in_force(ctx.model, "unknown_income_band", {}, day, ctx.lang)
        return row(ctx.say("income_unknown"), unknown)
    bands = (
        ctx.model.table("copay_bands")
        .filter(
            (pl.col("valid_from") <= day)
            & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= day))
        )
        .sort("income_ratio_from")
    )
    lowers = bands["income_ratio_from"].to_list()
    lower = max((b for b in lowers if b <= income), default=None)
    if lower is None:
        return row(ctx.say("income_below", income=f"{income:g}"))
    upper = min((b for b in lowers if b > lower), default=None)
    origin = in_force(ctx.model, "copay_bands", {"income_ratio_from": lower}, day, ctx.lang)
    band = f"[{lower:g}, {'∞' if upper is None else f'{upper:g}'})"
    return row(ctx.say("income_band", income=f"{income:g}", band=band), origin)


def factor_rows(ctx: CaseContext) -> pl.DataFrame:
    """`FACTOR_SCHEMA` rows: for every segment of `ctx.segments` (`segment` = its position), each
    multiplier of its gross (`MULTIPLIERS`), what decided it, and its co-payment share."""
    segs = ctx.segments.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String))
    grosses = segs["gross_uah"].cast(pl.Float64).to_list()
    before_cap: dict[bool, float] = {}
    for seg, gross in zip(segs.iter_rows(named=True), grosses, strict=True):
        share = gross / seg["cap_factor"] if seg["cap_factor"] else 0.0
        before_cap[seg["funded"]] = before_cap.get(seg["funded"], 0.0) + share
    rows: list[dict[str, Any]] = []
    for i, seg in enumerate(segs.iter_rows(named=True)):
        unit, funded, day = seg["unit"], seg["funded"], seg["segment_from"]
        service = {"service_code": ctx.case["service_code"]}
        tariff = in_force(ctx.model, "tariff", service, day, ctx.lang)
        rows.append(
            _row(
                (i, funded),
                "tariff",
                "multiplier",
                seg["tariff"],
                ctx.say(
                    "tariff_per", tariff=f"{seg['tariff']:,.2f}", unit=unit_word(unit, ctx.lang)
                ),
                origin=tariff,
                note=_checked(ctx, tariff, seg["tariff"]),
            )
        )
        rows += _units(ctx, seg, i, unit)
        if unit == "day":
            rows.append(
                _row(
                    (i, funded),
                    "days",
                    "multiplier",
                    float(seg["days"]),
                    ctx.say("bed_days", days=seg["days"]),
                    note=ctx.say("bed_days_rule"),
                )
            )
        else:
            rows.append(
                _row(
                    (i, funded),
                    "days",
                    "multiplier",
                    seg["days"] / seg["days_in_month"],
                    f"{seg['days']}/{seg['days_in_month']}",
                    note=ctx.say(
                        "days_of_month", days=seg["days"], month_days=seg["days_in_month"]
                    ),
                )
            )
        rows += _coef(ctx, seg, i)
        where = {
            "disability_group": seg.get("disability_group") or ctx.case["disability_group"],
            "service_group": ctx.case["service_group"],
        }
        modifier = in_force(ctx.model, "modifier", where, day, ctx.lang)
        rows.append(
            _row(
                (i, funded),
                "modifier",
                "multiplier",
                seg["modifier"],
                f"{seg['modifier']:g}",
                origin=modifier,
                note=_checked(ctx, modifier, seg["modifier"]),
            )
        )
        rows.append(_cap(ctx, seg, i, before_cap[funded]))
        rows.append(_copay(ctx, seg, i))
    return pl.DataFrame(rows, schema=FACTOR_SCHEMA)
