"""Need accounting: who is served, who waits, and how well need is covered, at every level, every month.

Pure: the entitlement step's `case_months` frame (grain `(case_id, month, funded)`, see the shared
contract) and the territories in, one long frame out, per level (hromada, raion, oblast, national),
territory and month:

- `served_cases`, `waiting_cases`: cases with a funded (served) / unfunded (waiting) case-month row
  at the territory in the month. A case that waits and is then served in the same month counts in
  both; a case counts at the hromada serving it at the end of the month (`case_months.hromada_code`),
  so counts add up across levels.
- `served_case_months`, `waiting_case_months`: Σ days ÷ days in month, served / waiting.
- `coverage`: served ÷ (served + waiting) case-months — the share of assessed need being met
  (null where nobody is assessed).
- `case_months_per_10k`, `waiting_per_10k`: case-months per 10,000 residents.
- `nonstate_share`: share of served case-months delivered by non-state providers (ownership
  `nonstate` or `individual`; `state` and `communal` are public).
- `idp_share`: share of assessed case-months (served + waiting) belonging to internally displaced
  people.
- `state_uah`, `state_uah_per_capita`: what the state owes for served cases, in total and per
  resident.

Every hromada of the territories appears every month (zeros where nobody is assessed), so a
dashboard shows gaps as gaps.

Types follow the case-months: territory codes keep their dtype (the entitlement step's territory
`pl.Enum`; the reference table's text codes are cast to it), `level` is an Enum of `NEED_LEVELS`,
and money is exact Decimal(18, 2) (`engine.columns`; the ratio per resident is a float).

>>> need = need_indicators(entitlements.case_months, load_territories())  # doctest: +SKIP
>>> need.filter(level="oblast").select("territory_name", "month", "coverage")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl

from engine.columns import MONEY

__all__ = [
    "COUNT_LABELS",
    "NEED_COLUMNS",
    "NEED_LEVELS",
    "NON_STATE_OWNERSHIPS",
    "counts_sentence",
    "need_indicators",
    "period_counts",
]

NEED_LEVELS = ("hromada", "raion", "oblast", "national")
_CODES = ("territory_code", "oblast_code")
NON_STATE_OWNERSHIPS = ("nonstate", "individual")
NATIONAL_CODE = "UA"
NATIONAL_NAME = "Україна"

# Case-months are summed as whole days (every row of a territory-month shares its month's length)
# and divided once at the end: integer sums are exact in any order, so the published floats are
# the same on every run and thread count, where a float sum's last digit follows the threads.
_DAY_SUMS = {
    "served_case_months": "served_days",
    "waiting_case_months": "waiting_days",
    "nonstate_case_months": "nonstate_days",
    "idp_case_months": "idp_days",
}
_SUMS = ("served_cases", "waiting_cases", *_DAY_SUMS.values(), "state_uah")
# (territory codes are shown as text here: they take the dtype of the case-months' codes)
NEED_COLUMNS: dict[str, pl.DataType] = {
    "level": pl.Enum(list(NEED_LEVELS)),
    "territory_code": pl.String(),
    "territory_name": pl.String(),
    "oblast_code": pl.String(),
    "month": pl.Date(),
    "population": pl.Int64(),
    "served_cases": pl.Int64(),
    "waiting_cases": pl.Int64(),
    "served_case_months": pl.Float64(),
    "waiting_case_months": pl.Float64(),
    "coverage": pl.Float64(),
    "case_months_per_10k": pl.Float64(),
    "waiting_per_10k": pl.Float64(),
    "nonstate_share": pl.Float64(),
    "idp_share": pl.Float64(),
    "state_uah": MONEY,
    "state_uah_per_capita": pl.Float64(),
}


def _hromada_month(case_months: pl.LazyFrame) -> pl.LazyFrame:
    funded = pl.col("funded")
    non_state = funded & pl.col("ownership").is_in(list(NON_STATE_OWNERSHIPS))
    # whole days where the case-months carry them (the engine's always do); a hand-built frame
    # without `days` is taken at its case-months times the month's length
    days = (
        pl.col("days").cast(pl.Int64)
        if "days" in case_months.collect_schema()
        else pl.col("case_months") * pl.col("month").dt.month_end().dt.day()
    )
    return case_months.group_by("hromada_code", "month").agg(
        served_cases=funded.sum().cast(pl.Int64),
        waiting_cases=(~funded).sum().cast(pl.Int64),
        served_days=days.filter(funded).sum(),
        waiting_days=days.filter(~funded).sum(),
        nonstate_days=days.filter(non_state).sum(),
        idp_days=days.filter(pl.col("is_idp")).sum(),
        # case-month amounts are exact decimals: so is their sum
        state_uah=pl.col("state_uah").filter(funded).cast(MONEY).sum().cast(MONEY),
    )


def _case_months_from_days() -> list[pl.Expr]:
    length = pl.col("month").dt.month_end().dt.day().cast(pl.Float64)
    return [
        (pl.col(total).cast(pl.Float64) / length).alias(name) for name, total in _DAY_SUMS.items()
    ]


def _places(case_months: pl.LazyFrame, territories: pl.DataFrame) -> pl.LazyFrame:
    """Every hromada with its raion, oblast, names and population; hromadas met only in the data
    (not in the territories) are kept, without names or population."""
    codes = case_months.collect_schema()["hromada_code"]  # the reference's text codes take it
    known = territories.lazy().select(
        pl.col("hromada_code").cast(codes),
        "hromada_name",
        pl.col("raion_code").cast(codes),
        "raion_name",
        pl.col("oblast_code").cast(codes),
        "oblast_name",
        pl.col("population").cast(pl.Int64),
    )
    unknown = (
        case_months.select("hromada_code", "raion_code", "oblast_code")
        .unique()
        .join(known.select("hromada_code"), on="hromada_code", how="anti")
    )
    return pl.concat([known, unknown], how="diagonal_relaxed")


def _ratios() -> list[pl.Expr]:
    assessed = pl.col("served_case_months") + pl.col("waiting_case_months")
    population = pl.col("population")
    has_people = population.is_not_null() & (population > 0)

    def share(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
        return pl.when(denominator > 0).then(numerator / denominator).otherwise(None)

    def per(numerator: pl.Expr, scale: float) -> pl.Expr:
        return pl.when(has_people).then(numerator * scale / population).otherwise(None)

    return [
        share(pl.col("served_case_months"), assessed).alias("coverage"),
        per(pl.col("served_case_months"), 10_000.0).alias("case_months_per_10k"),
        per(pl.col("waiting_case_months"), 10_000.0).alias("waiting_per_10k"),
        share(pl.col("nonstate_case_months"), pl.col("served_case_months")).alias("nonstate_share"),
        share(pl.col("idp_case_months"), assessed).alias("idp_share"),
        # a ratio per resident, not an amount paid: float
        per(pl.col("state_uah").cast(pl.Float64), 1.0).alias("state_uah_per_capita"),
    ]


def need_indicators(
    case_months: pl.DataFrame | pl.LazyFrame,
    territories: pl.DataFrame,
    *,
    months: Iterable[dt.date] | None = None,
) -> pl.DataFrame:
    """Need indicators per level × territory × month (columns: `NEED_COLUMNS`).

    `months` (first days) fixes the months reported; by default those present in `case_months`.

    >>> import engine
    >>> registry = engine.read_registry("data_samples/registry")
    >>> model = engine.load_funding_model("models/funding/baseline")
    >>> territories = engine.load_territories()
    >>> priced = engine.compute_entitlements(registry, model, territories, months=("2026-01", "2026-01"))
    >>> need = need_indicators(priced.case_months, territories)
    >>> need.filter(need["level"] == "national").select("served_cases", "waiting_cases").row(0)
    (581, 27)
    """
    cm = case_months.lazy()
    if months is None:
        month_list = cm.select(pl.col("month").unique()).collect().to_series()
    else:
        month_list = pl.Series("month", list(months), dtype=pl.Date())
    month_frame = pl.DataFrame({"month": month_list.cast(pl.Date())}).unique().lazy()
    if months is not None:
        cm = cm.filter(pl.col("month").is_in(month_list.implode()))

    grid = _places(cm, territories).join(month_frame, how="cross")
    base = (
        grid.join(_hromada_month(cm), on=["hromada_code", "month"], how="left")
        .with_columns(pl.col(c).fill_null(0) for c in _SUMS)
        .collect()
    )
    codes = base.schema["hromada_code"]
    levels = {
        "hromada": ("hromada_code", "hromada_name"),
        "raion": ("raion_code", "raion_name"),
        "oblast": ("oblast_code", "oblast_name"),
    }
    frames = []
    for level, (code, name) in levels.items():
        keys = [code, "oblast_code"] if code != "oblast_code" else [code]
        frames.append(
            base.group_by(*keys, "month")
            .agg(
                pl.col(name).drop_nulls().first().alias("territory_name"),
                pl.col("population").sum().alias("population"),
                *(pl.col(c).sum() for c in _SUMS),
            )
            .with_columns(level=pl.lit(level), territory_code=pl.col(code))
        )
    frames.append(
        base.group_by("month")
        .agg(pl.col("population").sum(), *(pl.col(c).sum() for c in _SUMS))
        .with_columns(
            level=pl.lit("national"),
            territory_code=pl.lit(NATIONAL_CODE).cast(codes),
            territory_name=pl.lit(NATIONAL_NAME),
            oblast_code=pl.lit(None, dtype=codes),
        )
    )
    order = {level: i for i, level in enumerate(NEED_LEVELS)}
    return (
        pl.concat(frames, how="diagonal_relaxed")
        .with_columns(
            # a sum over territories without a population estimate is unknown, not zero
            population=pl.when(pl.col("population") > 0).then(pl.col("population")),
        )
        .with_columns(_case_months_from_days())
        .with_columns(_ratios())
        .with_columns(_order=pl.col("level").replace_strict(order, return_dtype=pl.Int8))
        .sort("_order", pl.col("territory_code").cast(pl.String), "month")
        .select(pl.col(c).cast(codes if c in _CODES else t) for c, t in NEED_COLUMNS.items())
    )


# What each count of `period_counts` means, in the words every output uses
COUNT_LABELS = {
    "people_served": "people served (distinct recipients with a served case-month)",
    "people_waiting": "people waiting (distinct recipients with a waiting case-month)",
    "cases_served": "cases served (distinct cases with a served case-month)",
    "cases_waiting": "cases waiting (distinct cases with a waiting case-month)",
    "cases": "cases (distinct cases, served or waiting)",
    "served_case_months": "served case-months (days served ÷ days in the month, summed)",
    "waiting_case_months": "waiting case-months (days waiting ÷ days in the month, summed)",
}


def period_counts(case_months: pl.DataFrame | pl.LazyFrame) -> dict[str, float | int]:
    """The counts of a period, one definition for every output (report, run summary, CLI).

    A *person* is one recipient; a *case* is one service to one person (a person with two
    services is two cases); a *case-month* is one month of service (days ÷ days in the month).
    People and cases are counted once over the whole period of `case_months`: a case that waits
    and is then served counts once as served and once as waiting, and once in `cases`. Counts in
    one month are `need_indicators`' `served_cases` and `waiting_cases`. See `COUNT_LABELS`.

    >>> cm = pl.DataFrame({
    ...     "case_id": ["a", "a", "b", "c"], "recipient_id": ["p", "p", "p", "q"],
    ...     "funded": [False, True, True, False], "case_months": [0.5, 0.5, 1.0, 1.0],
    ... })
    >>> period_counts(cm)
    {'people_served': 1, 'people_waiting': 2, 'cases_served': 2, 'cases_waiting': 2, 'cases': 3, 'served_case_months': 1.5, 'waiting_case_months': 1.5}
    """
    funded = pl.col("funded")
    row = (
        case_months.lazy()
        .select(
            people_served=pl.col("recipient_id").filter(funded).n_unique(),
            people_waiting=pl.col("recipient_id").filter(~funded).n_unique(),
            cases_served=pl.col("case_id").filter(funded).n_unique(),
            cases_waiting=pl.col("case_id").filter(~funded).n_unique(),
            cases=pl.col("case_id").n_unique(),
            served_case_months=pl.col("case_months").filter(funded).sum().cast(pl.Float64),
            waiting_case_months=pl.col("case_months").filter(~funded).sum().cast(pl.Float64),
        )
        .collect()
        .row(0, named=True)
    )
    return {k: float(v) if k.endswith("case_months") else int(v) for k, v in row.items()}


def counts_sentence(counts: dict[str, float | int]) -> str:
    """The counts of `period_counts` as the one sentence every output prints.

    >>> counts_sentence({"cases_served": 1069, "people_served": 950, "cases_waiting": 73,
    ...                  "people_waiting": 73, "cases": 1092})
    '1,069 cases served (950 people), 73 cases waiting (73 people), 1,092 cases in all'
    """
    return (
        f"{counts['cases_served']:,} cases served ({counts['people_served']:,} people), "
        f"{counts['cases_waiting']:,} cases waiting ({counts['people_waiting']:,} people), "
        f"{counts['cases']:,} cases in all"
    )
