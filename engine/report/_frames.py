"""Report-ready summaries of the entitlement case-months (the contract frame of `engine.entitlements`).

Each is a plain polars aggregation, so an analyst can call it, look at the numbers and then plot them
with the figure functions. Money is the state's share (`state_uah`): what the budget pays.
"Funded" rows are served cases; unfunded rows are waiting cases, i.e. unmet need.

The case-months may come coded (Enum or Categorical territory codes, as a run holds and the store
keeps them) or as text: the summaries group by the codes as they are — several times faster than by
text on a national run — and give their territory keys back as text.
"""

from __future__ import annotations

import polars as pl

from engine.need import period_counts

__all__ = [
    "headline_numbers",
    "hromada_summary",
    "monthly_summary",
    "oblast_flows",
    "oblast_summary",
    "region_flows",
]


def _totals(*, people: bool = True) -> list[pl.Expr]:
    funded = pl.col("funded")
    counts = [
        pl.col("recipient_id").filter(funded).n_unique().alias("recipients"),
        pl.col("recipient_id").filter(~funded).n_unique().alias("waiting_recipients"),
    ]
    return [
        *(counts if people else []),
        pl.col("case_months").filter(funded).sum().alias("served_case_months"),
        pl.col("case_months").filter(~funded).sum().alias("waiting_case_months"),
        pl.col("state_uah").filter(funded).sum().alias("entitled_uah"),
        pl.col("state_uah").filter(~funded).sum().alias("unmet_uah"),
        pl.col("state_uah").filter(funded & pl.col("is_idp")).sum().alias("idp_uah"),
    ]


def _text_keys(*keys: str) -> list[pl.Expr]:
    """The group keys as text (a coded key's codes read the same), so they join the reference."""
    return [pl.col(k).cast(pl.String) for k in keys]


def _derived() -> list[pl.Expr]:
    all_case_months = pl.col("served_case_months") + pl.col("waiting_case_months")
    return [
        (pl.col("entitled_uah") + pl.col("unmet_uah")).alias("need_uah"),
        pl.when(all_case_months > 0)
        .then(pl.col("served_case_months") / all_case_months)
        .otherwise(None)
        .alias("coverage"),
    ]


def oblast_summary(
    case_months: pl.DataFrame | pl.LazyFrame, territories: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Per serving oblast over the whole period: people, case-months, money, coverage.

    `entitled_uah` is owed for served cases, `unmet_uah` would be owed for waiting ones, `need_uah`
    their sum; `coverage` is served case-months ÷ all case-months. With `territories`, adds
    `population` and `need_uah_per_capita`.
    """
    out = (
        case_months.lazy()
        .group_by("oblast_code")
        .agg(_totals())
        .with_columns(*_derived(), *_text_keys("oblast_code"))
        .sort("oblast_code")
        .collect()
    )
    if territories is not None and "population" in territories.columns:
        population = territories.group_by(pl.col("oblast_code").cast(pl.String)).agg(
            pl.col("population").sum()
        )
        out = out.join(population, on="oblast_code", how="left").with_columns(
            need_uah_per_capita=pl.col("need_uah").cast(pl.Float64) / pl.col("population")
        )
    return out


def hromada_summary(case_months: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Per serving hromada over the whole period (publish only through `suppress_small_cells`)."""
    return (
        case_months.lazy()
        .group_by("oblast_code", "hromada_code")
        .agg(_totals())
        .with_columns(*_derived(), *_text_keys("oblast_code", "hromada_code"))
        .sort("oblast_code", "hromada_code")
        .collect()
    )


def monthly_summary(
    case_months: pl.DataFrame | pl.LazyFrame, *, people: bool = True
) -> pl.DataFrame:
    """Per month: served and waiting case-months and money, country-wide; with `people`, the
    distinct recipients served and waiting too (the dearest part of it: the trend chart does
    without)."""
    return (
        case_months.lazy()
        .group_by("month")
        .agg(_totals(people=people))
        .with_columns(_derived())
        .sort("month")
        .collect()
    )


def region_flows(
    case_months: pl.DataFrame | pl.LazyFrame, territories: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Money of served cases from the recipient's registered oblast to the serving oblast.

    Columns `registered_oblast_code, oblast_code, recipients, state_uah`; the diagonal (people
    served in the oblast where they are registered) is kept, so the flows add up to the total.
    The registered oblast is `registered_oblast_code` when the case-months carry it, else looked
    up from `registered_hromada` in `territories`.
    """
    lazy = case_months.lazy()
    if "registered_oblast_code" not in lazy.collect_schema().names():
        if territories is None:
            raise ValueError("region flows: no registered_oblast_code, and no territories given")
        codes = lazy.collect_schema()["registered_hromada"]
        registered = territories.lazy().select(
            registered_hromada=pl.col("hromada_code").cast(codes, strict=False),
            registered_oblast_code="oblast_code",
        )
        lazy = lazy.join(registered, on="registered_hromada", how="left")
    return (
        lazy.filter(pl.col("funded"))
        .with_columns(  # shown as text: "unknown" is no territory code
            pl.col("registered_oblast_code").cast(pl.String).fill_null("unknown"),
            pl.col("oblast_code").cast(pl.String),
        )
        .group_by("registered_oblast_code", "oblast_code")
        .agg(pl.col("recipient_id").n_unique().alias("recipients"), pl.col("state_uah").sum())
        .sort("registered_oblast_code", "oblast_code")
        .collect()
    )


def oblast_flows(flows: pl.DataFrame) -> pl.DataFrame:
    """Served cases' money between oblasts from the entitlement `flows` frame (`engine.rollups`:
    `level, registered_code, serving_code, funded, state_uah`, per month), over the whole period,
    in the shape of `region_flows`."""
    return (
        flows.lazy()
        .filter((pl.col("level") == "oblast") & pl.col("funded"))
        .group_by(  # shown as text: "unknown" is no territory code
            pl.col("registered_code")
            .cast(pl.String)
            .fill_null("unknown")
            .alias("registered_oblast_code"),
            pl.col("serving_code").cast(pl.String).alias("oblast_code"),
        )
        .agg(pl.col("state_uah").sum())
        .sort("registered_oblast_code", "oblast_code")
        .collect()
    )


def headline_numbers(case_months: pl.DataFrame | pl.LazyFrame) -> dict[str, float | int | str]:
    """The run's totals in one dict: period, money, coverage, IDP share, and the counts of
    `engine.need.period_counts` (people, cases and case-months, served and waiting) — the same
    numbers the run summary and `mfr entitle` print."""
    row = (
        case_months.lazy()
        .select(
            pl.col("month").min().alias("first_month"),
            pl.col("month").max().alias("last_month"),
            *_totals(people=False),  # people are period_counts' (one definition, counted once)
            pl.col("gross_uah").filter(pl.col("funded")).sum().alias("gross_uah"),
            pl.col("copay_uah").filter(pl.col("funded")).sum().alias("copay_uah"),
        )
        .with_columns(_derived())
        .with_columns(
            idp_share=pl.when(pl.col("entitled_uah") > 0)
            .then(pl.col("idp_uah") / pl.col("entitled_uah"))
            .otherwise(None)
        )
        .collect()
        .row(0, named=True)
    )
    for key in ("first_month", "last_month"):
        row[key] = row[key].strftime("%Y-%m") if row[key] is not None else ""
    counts = period_counts(case_months)
    people = {"recipients": counts["people_served"], "waiting_recipients": counts["people_waiting"]}
    return row | people | counts
