"""The base window's caseload re-priced at a future month's parameters (`price_forecast`'s rule when
it has the priced segments).

Each segment g of the base window keeps its volume — the quantity §5 multiplies by the per-unit
rates, `q_g = units × days / days_in_month` (hour, visit, month units) or `days` (day units),
times its monthly-cap factor — and its case's circumstances (service, serving hromada, disability
group, income). At a forecast month f every rate is read again on f's first day, with
`engine.intervals.value_at`, the lookup entitlement pricing uses:

    state_g(f) = q_g × tariff(service, f) × coef(hromada, f) × modifier(disability, group, f)
                 × (1 − copay_share(income, f))

    price(node, f) = Σ_g∈node state_g(f) / Σ_g∈node case-months_g

- `coef(hromada, f)`: the product of `territory_coef` over the statuses active on the hromada on
  f's first day (`territory_status`: the registry's dated statuses; a status without a coefficient
  counts as the parameter's default, else 1), capped by `territory_coef_cap` in force on f;
- `copay_share(income, f)`: the `copay_bands` band holding the recipient's `income_ratio` (lower
  bound included) in force on f; `unknown_income_band` when the income is unknown;
- a scenario's territorial changes (`FundingModel.adjustments`: tariff and modifier, by service,
  group, disability, status, oblast, dated) apply as they do to segments.

Without `territory_status` a segment keeps the coefficient it was priced with; without the
recipients' incomes it keeps its co-payment share (both then follow no dated change). With no
change dated after the base window the price is today's: the base window's money per case-month,
each factor as it was. Volumes are summed in millionths and case-months in whole units
(`CASE_MONTH_UNITS`), exact integer sums, so the result does not depend on row order. Work scales
with the distinct (node, disability group, income band) groups × forecast months.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from engine.demand._series import CASE_MONTH_UNITS
from engine.errors import InputFileError
from engine.intervals import value_at

if TYPE_CHECKING:
    from engine.params import FundingModel

__all__ = ["FACTOR_COLUMNS", "has_factors", "repriced"]

_MICRO = 1_000_000
FACTOR_COLUMNS = (
    *("service_code", "service_group", "unit", "month", "days", "days_in_month", "hromada_code"),
    *("units", "coef", "cap_factor", "copay_share", "disability_group", "funded"),
)
_FUNDED = {"case_months_need": None, "case_months_served": True, "case_months_waiting": False}


def has_factors(segments: pl.DataFrame | pl.LazyFrame) -> bool:
    """Whether the segments carry the entitlement factors re-pricing needs (a narrow history of
    demand columns only does not)."""
    names = set(segments.lazy().collect_schema().names())
    return set(FACTOR_COLUMNS) <= names


def _band_floor(model: FundingModel, income: pl.Expr) -> pl.Expr:
    """A representative income per band cell: the largest band lower bound (of any date) at or
    below the income, so every date's band of the representative is the income's own band
    (below every band: a value below them all; unknown: null)."""
    lowers = sorted(set(model.table("copay_bands")["income_ratio_from"].to_list()))
    below = pl.lit((lowers[0] - 1.0) if lowers else -1.0)
    if not lowers:
        return pl.when(income.is_null()).then(None).otherwise(below)
    expr: Any = pl.when(income.is_null()).then(None)
    for low in reversed(lowers):
        expr = expr.when(income >= low).then(pl.lit(low))
    return expr.otherwise(below)


def _coefficients(model: FundingModel, status: pl.DataFrame, cells: pl.DataFrame) -> pl.DataFrame:
    """`coef_f` per (hromada_code, month) of `cells`: product of the active statuses' coefficients,
    capped (the entitlement pricing's `coef_timeline` rule, read on the month's first day)."""
    active = (
        cells.join(
            status.select("hromada_code", "status", "valid_from", "valid_to"), on="hromada_code"
        )
        .filter(
            (pl.col("valid_from") <= pl.col("month"))
            & (pl.col("valid_to").is_null() | (pl.col("month") <= pl.col("valid_to")))
        )
        .select("hromada_code", "month", "status")
        .unique()
    )
    active = active.with_columns(
        value_at(
            active, model.table("territory_coef"), ["status"], date="month",
            default=model.default("territory_coef"),
        ).fill_null(1.0).alias("_c")
    )  # fmt: skip
    product = active.group_by("hromada_code", "month").agg(pl.col("_c").product().alias("_p"))
    out = cells.join(product, on=["hromada_code", "month"], how="left").with_columns(
        pl.col("_p").fill_null(1.0)
    )
    cap = value_at(out, model.table("territory_coef_cap"), [], date="month")
    return out.with_columns(
        pl.when(cap.is_null())
        .then(pl.col("_p"))
        .otherwise(pl.min_horizontal("_p", cap))
        .alias("coef_f")
    ).drop("_p")


def _shares(model: FundingModel, cells: pl.DataFrame) -> pl.Series:
    """Co-payment share per (income representative, month) row of `cells`."""
    bands = model.table("copay_bands")
    unknown = value_at(
        cells, model.table("unknown_income_band"), [], date="month", default=0.0
    ).fill_null(0.0)
    rows = cells.with_row_index("_row")
    in_force = (
        rows.filter(pl.col("_income").is_not_null())
        .join(bands, how="cross")
        .filter(
            (pl.col("valid_from") <= pl.col("month"))
            & (pl.col("valid_to").is_null() | (pl.col("month") <= pl.col("valid_to")))
            & (pl.col("income_ratio_from") <= pl.col("_income"))
        )
        .sort("_row", "income_ratio_from")
        .group_by("_row", maintain_order=True)
        .agg(pl.col("value").last().alias("_s"))
    )
    joined = rows.select("_row", "_income").join(
        in_force, on="_row", how="left", maintain_order="left"
    )
    return joined.select(
        pl.when(pl.col("_income").is_not_null())
        .then(pl.col("_s").fill_null(0.0))
        .otherwise(pl.lit(unknown))
    ).to_series()


def _adjusted(model: FundingModel, frame: pl.DataFrame) -> pl.DataFrame:
    """A scenario's territorial tariff and modifier changes (a handful of rows, one pass each)."""
    columns = {"tariff": "tariff_f", "modifier": "mod_f"}
    for row in model.adjustments.iter_rows(named=True):
        if row["parameter"] not in columns:
            continue  # norm and max units change volumes, which the base window fixes
        hit = pl.col("month") >= row["valid_from"]
        if row["valid_to"] is not None:
            hit &= pl.col("month") <= row["valid_to"]
        for key in ("service_code", "disability_group", "service_group"):
            if row[key] is not None:
                hit &= pl.col(key) == row[key]
        if row["need_level"] is not None:
            hit &= pl.col("need_level") == row["need_level"]
        if row["status"] is not None:
            hit &= pl.col("_statuses").list.contains(row["status"])
        if row["oblast_codes"] is not None:
            hit &= pl.col("oblast_code").is_in(list(row["oblast_codes"]))
        target = columns[row["parameter"]]
        value = pl.col(target) * row["value"] if row["op"] == "multiply" else pl.lit(row["value"])
        frame = frame.with_columns(pl.when(hit).then(value).otherwise(pl.col(target)).alias(target))
    return frame


def _volumes(
    segments: pl.DataFrame | pl.LazyFrame,
    model: FundingModel,
    *,
    keys: Sequence[str],
    base: tuple[dt.date, dt.date],
    target: str,
    by_status: bool,
    recipients: pl.DataFrame | None,
) -> tuple[pl.DataFrame, list[str]]:
    """The base window's segments with their volume `_q` (millionths) and case-months `_cm`
    (whole units), and the columns they are grouped by for re-pricing."""
    seg = segments.lazy()
    wanted = {*FACTOR_COLUMNS, *keys}
    if recipients is not None:
        wanted.add("recipient_id")
    if model.adjustments.height:
        wanted |= {"need_level", "oblast_code"}
    missing = sorted(wanted - set(seg.collect_schema().names()))
    if missing:
        raise InputFileError(f"segments lack column(s) {missing} to re-price", column=missing[0])
    seg = seg.filter(pl.col("month").cast(pl.Date).is_between(base[0], base[1]))
    if _FUNDED[target] is not None:
        seg = seg.filter(pl.col("funded") == _FUNDED[target])
    numeric = {"month", "days", "days_in_month", "units", "coef", "cap_factor", "copay_share"}
    text = [c for c in wanted if c not in {*numeric, "funded", "need_level"}]
    seg = seg.select(sorted(wanted)).with_columns(pl.col(text).cast(pl.String))
    volume = pl.when(pl.col("unit") == "day").then(pl.col("days").cast(pl.Float64)).otherwise(
        pl.col("units").fill_null(0.0) * pl.col("days") / pl.col("days_in_month")
    ) * pl.col("cap_factor").fill_null(1.0)
    per_day = CASE_MONTH_UNITS // pl.col("days_in_month").cast(pl.Int64)
    seg = seg.with_columns(
        (volume * _MICRO).round().cast(pl.Int64).alias("_q"),
        (pl.col("days").cast(pl.Int64) * per_day).alias("_cm"),
    )
    group = list(dict.fromkeys([*keys, "hromada_code", "disability_group", "service_group"]))
    if model.adjustments.height:
        group = list(dict.fromkeys([*group, "need_level", "oblast_code"]))
    if recipients is not None:
        incomes = recipients.select(
            pl.col("recipient_id").cast(pl.String), pl.col("income_ratio").cast(pl.Float64)
        ).unique("recipient_id")
        seg = seg.join(incomes.lazy(), on="recipient_id", how="left").with_columns(
            _band_floor(model, pl.col("income_ratio")).alias("_income")
        )
        group.append("_income")
    else:
        group.append("copay_share")  # no incomes: each segment keeps its share
    if not by_status:
        group.append("coef")  # no statuses: each segment keeps its coefficient
    return seg.collect(), group


def _evaluate(
    frame: pl.DataFrame,
    model: FundingModel,
    status: pl.DataFrame | None,
    by_income: bool,
) -> pl.DataFrame:
    """Every rate of each (group, month) row read on the month's first day, and `_amount`."""
    frame = frame.with_columns(
        value_at(frame, model.table("tariff"), ["service_code"], date="month")
        .cast(pl.Float64)
        .alias("tariff_f"),
        value_at(
            frame, model.table("modifier"), ["disability_group", "service_group"], date="month",
            default=model.default("modifier"),
        ).cast(pl.Float64).alias("mod_f"),
    )  # fmt: skip
    if status is not None:
        cells = frame.select("hromada_code", "month").unique()
        frame = frame.join(_coefficients(model, status, cells), on=["hromada_code", "month"])
    else:
        frame = frame.with_columns(pl.col("coef").alias("coef_f"))
    if by_income:
        cells = frame.select("_income", "month").unique()
        shares = cells.with_columns(_shares(model, cells).alias("share_f"))
        frame = frame.join(shares, on=["_income", "month"], how="left", nulls_equal=True)
    else:
        frame = frame.with_columns(pl.col("copay_share").fill_null(0.0).alias("share_f"))
    if model.adjustments.height:
        no_status = pl.lit([], pl.List(pl.String))
        lists = _status_lists(status, frame) if status is not None else no_status
        frame = _adjusted(model, frame.with_columns(_statuses=lists))
    rates = [pl.col(c).fill_null(0.0) for c in ("tariff_f", "coef_f", "mod_f")]
    amount = pl.col("_q") / _MICRO * rates[0] * rates[1] * rates[2] * (1.0 - pl.col("share_f"))
    return frame.with_columns(amount.alias("_amount"))


def repriced(
    segments: pl.DataFrame | pl.LazyFrame,
    model: FundingModel,
    *,
    keys: Sequence[str],
    months: Sequence[dt.date],
    base: tuple[dt.date, dt.date],
    target: str,
    territory_status: pl.DataFrame | None = None,
    recipients: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Price per case-month by (keys, month) and by (service_code, month), see the module
    docstring: `_node_price` / `_svc_price`, null where the node (service) had no case-months."""
    keys = list(keys)
    collected, group = _volumes(
        segments, model, keys=keys, base=base, target=target,
        by_status=territory_status is not None, recipients=recipients,
    )  # fmt: skip
    status = None
    if territory_status is not None:
        status = territory_status.select(
            pl.col("hromada_code").cast(pl.String), pl.col("status").cast(pl.String),
            pl.col("valid_from").cast(pl.Date), pl.col("valid_to").cast(pl.Date),
        )  # fmt: skip
    groups = collected.group_by(group).agg(pl.col("_q").sum()).sort(group, nulls_last=True)
    month_frame = (
        pl.DataFrame({"month": list(months)}, schema={"month": pl.Date}).unique().sort("month")
    )
    frame = _evaluate(
        groups.join(month_frame, how="cross"), model, status, recipients is not None
    ).sort([*group, "month"], nulls_last=True)
    per = pl.col("_amount") / (pl.col("_cm") / CASE_MONTH_UNITS)
    out = []
    for level, name in ((keys, "_node_price"), (["service_code"], "_svc_price")):
        cm = collected.group_by(level).agg(pl.col("_cm").sum())
        summed = frame.group_by([*level, "month"], maintain_order=True).agg(pl.col("_amount").sum())
        out.append(
            summed.join(cm, on=level).select(
                *level, "month", pl.when(pl.col("_cm") > 0).then(per).alias(name)
            )
        )
    return out[0], out[1]


def _status_lists(status: pl.DataFrame, frame: pl.DataFrame) -> pl.Series:
    """Per row of `frame` the statuses active on its hromada on its month's first day."""
    rows = frame.select("hromada_code", "month").with_row_index("_row")
    active = (
        rows.join(status, on="hromada_code")
        .filter(
            (pl.col("valid_from") <= pl.col("month"))
            & (pl.col("valid_to").is_null() | (pl.col("month") <= pl.col("valid_to")))
        )
        .group_by("_row")
        .agg(pl.col("status"))
    )
    out = rows.select("_row").join(active, on="_row", how="left", maintain_order="left")["status"]
    return out.fill_null(pl.lit([], pl.List(pl.String)))
