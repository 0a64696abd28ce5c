"""Where the money goes: rollups up the territorial hierarchy and flows registered → serving.

Both start from *parts*: the money of one case-month in one serving hromada with one provider (a case
that moves mid-month has two parts). Parts are rounded to kopiyky so that they add up exactly to the
rounded case-month totals: each part is rounded, and the last part of a case-month (the hromada where
the month ends) absorbs the remainder, which is at most a kopiyka or two. Every rollup and flow is then
a plain sum of parts, so levels add up exactly.
"""

from __future__ import annotations

import polars as pl

__all__ = ["LEVELS", "NATIONAL_CODE", "flows", "money_parts", "rollups"]

LEVELS = ("hromada", "raion", "oblast", "national")
NATIONAL_CODE = "UA"
_MONEY = ("gross_uah", "copay_uah", "state_uah")


def money_parts(segments: pl.DataFrame, case_months: pl.DataFrame) -> pl.DataFrame:
    """Parts of each case-month by serving hromada and provider, rounded to sum to the case-month.

    `segments` needs `case, month, funded, hromada, provider, segment, gross_uah, copay_uah, days,
    days_in_month` (integer keys); `case_months` needs `case, month, funded, gross_uah, copay_uah`.
    """
    keys = ["case", "month", "funded"]
    parts = (
        segments.lazy()
        .group_by([*keys, "hromada", "provider"])
        .agg(
            pl.col("gross_uah").sum(),
            pl.col("copay_uah").sum(),
            pl.col("days").sum().cast(pl.Int64),
            (pl.col("days") / pl.col("days_in_month")).sum().alias("case_months"),
            pl.col("segment").max().alias("_last"),
        )
        .with_columns(
            pl.col("gross_uah").round(2, mode="half_away_from_zero"),
            pl.col("copay_uah").round(2, mode="half_away_from_zero"),
            (pl.col("_last") == pl.col("_last").max().over(keys)).alias("_is_last"),
        )
    )
    totals = case_months.lazy().select(
        *keys, pl.col("gross_uah").alias("_gross_total"), pl.col("copay_uah").alias("_copay_total")
    )
    residual = [
        (pl.col(f"_{name}_total") - pl.col(f"{name}_uah").sum().over(keys)).alias(
            f"_{name}_residual"
        )
        for name in ("gross", "copay")
    ]
    return (
        parts.join(totals, on=keys, how="left")
        .with_columns(residual)
        .with_columns(
            pl.when(pl.col("_is_last"))
            .then(pl.col(f"{name}_uah") + pl.col(f"_{name}_residual"))
            .otherwise(pl.col(f"{name}_uah"))
            .round(2)
            .alias(f"{name}_uah")
            for name in ("gross", "copay")
        )
        .with_columns(state_uah=(pl.col("gross_uah") - pl.col("copay_uah")).round(2))
        .drop(
            "_last",
            "_is_last",
            "_gross_total",
            "_copay_total",
            "_gross_residual",
            "_copay_residual",
        )
        .collect()
    )


def _sums() -> list[pl.Expr]:
    # parallel sums add in no fixed order; rounding away the last bits keeps results reproducible
    return [
        pl.col("case_months").sum().round(9),
        pl.col("days").sum(),
        *(pl.col(m).sum().round(2) for m in _MONEY),
    ]


def rollups(parts: pl.DataFrame) -> pl.DataFrame:
    """Money and case-months by month × level × territory × service × ownership × funded.

    `parts` carries `month, funded, hromada_code, raion_code, oblast_code, service_code, ownership`
    and the amounts. Levels: hromada, raion, oblast, national (territory_code "UA").
    """
    grain = ["month", "service_code", "ownership", "funded"]
    frames = []
    for level, column in zip(
        LEVELS, ("hromada_code", "raion_code", "oblast_code", None), strict=True
    ):
        code = pl.col(column) if column else pl.lit(NATIONAL_CODE)
        frames.append(
            parts.lazy()
            .group_by(code.alias("territory_code"), *grain)
            .agg(_sums())
            .with_columns(level=pl.lit(level))
        )
    columns = ["month", "level", "territory_code", *grain[1:], "case_months", "days", *_MONEY]
    return (
        pl.concat(frames)
        .select(columns)
        .sort(
            "month",
            "level",
            "territory_code",
            "service_code",
            "ownership",
            "funded",
            nulls_last=True,
        )
        .collect()
    )


def flows(parts: pl.DataFrame) -> pl.DataFrame:
    """Money by registered territory → serving territory, at oblast and hromada level, per month."""
    frames = []
    for level, registered, serving in (
        ("oblast", "registered_oblast_code", "oblast_code"),
        ("hromada", "registered_hromada", "hromada_code"),
    ):
        frames.append(
            parts.lazy()
            .group_by(
                "month",
                pl.col(registered).alias("registered_code"),
                pl.col(serving).alias("serving_code"),
                "funded",
            )
            .agg(_sums())
            .with_columns(level=pl.lit(level))
        )
    columns = [
        "month",
        "level",
        "registered_code",
        "serving_code",
        "funded",
        "case_months",
        "days",
        *_MONEY,
    ]
    return (
        pl.concat(frames)
        .select(columns)
        .sort("month", "level", "registered_code", "serving_code", "funded", nulls_last=True)
        .collect()
    )
