"""Monthly need series from the entitlement step, and forecast need priced in hryvnias.

`demand_series(segments)` turns priced segments (the entitlement contract) into one row per
month × hromada × service — the bottom level of the forecasting hierarchy oblast > raion > hromada
crossed with service group > service:

- `case_months_served`: Σ days / days in month over funded segments (a case served all month = 1);
- `case_months_waiting`: the same over unfunded segments (assessed, not yet served: unmet need);
- `new_cases`: cases whose first segment starts in the month, counted where that segment is. The
  first month of the data is null: a case open before the window looks new there (left-censored);
- `state_uah`, `unmet_state_uah`: the state's share of the entitlement, served and waiting.

Every hromada × service gets every month from its first segment to the last month of the data (zeros
where nothing happened), so each is a complete series that starts when the service started there.

`price_forecast(forecast, history, model)` prices forecast case-months: a hromada × service's price
per case-month is its recent money per case-month expressed in tariff units — each past month's
amount divided by that month's tariff (so tariff changes inside the base window do not blur it) —
times the tariff in force on the forecast month's first day:

    price(f) = Σ_m money_m / tariff(m)  /  Σ_m case_months_m  ×  tariff(f)     (m: last 12 months)

Where a hromada × service had no case-months in the base window the service's average over all
hromadas is used (`price_basis` says which); where the service had none anywhere, there is no
price to use: need 0, `price_basis` "no history". A service whose tariff has ended is no longer financed
per case: its need is 0 and `price_basis` is "not financed". Other parameters (coefficients,
co-payment) enter through the base window's amounts, as they were.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from engine.errors import InputFileError

if TYPE_CHECKING:
    from engine.params import FundingModel

__all__ = [
    "DEMAND_TARGETS",
    "TERRITORY_KEYS",
    "demand_series",
    "need_claims",
    "price_forecast",
]

TERRITORY_KEYS = ("oblast_code", "raion_code", "hromada_code", "service_group", "service_code")
DEMAND_TARGETS = ("case_months_served", "case_months_waiting", "new_cases", "state_uah")
_SEGMENT_COLUMNS = (
    *("case_id", "service_code", "service_group", "month", "segment_from", "days"),
    *("days_in_month", "hromada_code", "raion_code", "oblast_code", "state_uah", "funded"),
)


def demand_series(segments: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Monthly need per hromada × service from priced segments (see the module docstring)."""
    seg = segments.lazy()
    missing = [c for c in _SEGMENT_COLUMNS if c not in seg.collect_schema().names()]
    if missing:
        raise InputFileError(f"segments lack column(s) {missing}", column=missing[0])
    seg = seg.select(_SEGMENT_COLUMNS).with_columns(
        (pl.col("days") / pl.col("days_in_month")).alias("_cm"), pl.col("month").cast(pl.Date)
    )
    served = pl.col("funded")
    cells = seg.group_by("month", "hromada_code", "service_code").agg(
        pl.col("_cm").filter(served).sum().alias("case_months_served"),
        pl.col("_cm").filter(~served).sum().alias("case_months_waiting"),
        pl.col("state_uah").filter(served).sum().alias("state_uah"),
        pl.col("state_uah").filter(~served).sum().alias("unmet_state_uah"),
    )
    first = (
        seg.sort("segment_from", "case_id")
        .group_by("case_id")
        .agg(pl.col("month", "hromada_code", "service_code").first())
        .group_by("month", "hromada_code", "service_code")
        .agg(pl.len().cast(pl.Float64).alias("new_cases"))
    )
    pairs = seg.group_by("hromada_code", "service_code").agg(
        pl.col("raion_code", "oblast_code", "service_group").first(),
        pl.col("month").min().alias("_first"),
    )
    span = seg.select(
        pl.col("month").min().alias("lo"), pl.col("month").max().alias("hi")
    ).collect()
    if span["lo"][0] is None:
        return _empty()
    months = pl.LazyFrame({"month": pl.date_range(span["lo"][0], span["hi"][0], "1mo", eager=True)})
    keys = ["month", "hromada_code", "service_code"]
    out = (
        pairs.join(months, how="cross")
        .filter(pl.col("month") >= pl.col("_first"))
        .join(cells, on=keys, how="left")
        .join(first, on=keys, how="left")
        .with_columns(pl.col(*DEMAND_TARGETS, "unmet_state_uah").fill_null(0.0))
        .with_columns(
            pl.when(pl.col("month") == span["lo"][0])
            .then(None)
            .otherwise(pl.col("new_cases"))
            .alias("new_cases")
        )
        .select("month", *TERRITORY_KEYS, *DEMAND_TARGETS, "unmet_state_uah")
        .sort("hromada_code", "service_code", "month")
    )
    return out.collect()


def _empty() -> pl.DataFrame:
    schema = {"month": pl.Date, **dict.fromkeys(TERRITORY_KEYS, pl.String)}
    schema |= dict.fromkeys((*DEMAND_TARGETS, "unmet_state_uah"), pl.Float64)
    return pl.DataFrame(schema=schema)


def _tariff_on(tariff: pl.DataFrame, dates: pl.DataFrame, date_col: str) -> pl.DataFrame:
    """The tariff of each (service_code, date) row in force on that date (null if none)."""
    return (
        dates.join(tariff, on="service_code", how="left")
        .filter(
            pl.col("valid_from").is_null()
            | (
                (pl.col("valid_from") <= pl.col(date_col))
                & (pl.col("valid_to").is_null() | (pl.col(date_col) <= pl.col("valid_to")))
            )
        )
        .select("service_code", date_col, pl.col("value").alias("tariff"))
        .unique(["service_code", date_col], keep="first")
    )


def price_forecast(
    forecast: pl.DataFrame,
    history: pl.DataFrame,
    model: FundingModel,
    *,
    base_months: int = 12,
    value_cols: tuple[str, ...] = ("mean", "lo_80", "hi_80", "lo_95", "hi_95"),
) -> pl.DataFrame:
    """Forecast need in UAH per hromada × service × month (see the module docstring).

    `forecast`: bottom-level rows with `hromada_code, service_code, ds` and case-month columns
    (`value_cols` present are priced into `need_uah`, `need_uah_lo_80`, ...); `history`: the
    output of `demand_series`. Returns the territory keys, `month`, `case_months`, `price_uah`,
    `price_basis` and the need columns, ready to be the claims of an allocation (`need_claims`).
    """
    tariff = model.table("tariff").select("service_code", "valid_from", "valid_to", "value")
    last = history.select(pl.col("month").max()).item()
    if last is None:
        raise InputFileError("no demand history to price the forecast from")
    first_base = _months_before(last, base_months - 1)
    base = history.filter(pl.col("month") >= first_base).with_columns(
        (pl.col("state_uah") + pl.col("unmet_state_uah")).alias("_money"),
        (pl.col("case_months_served") + pl.col("case_months_waiting")).alias("_cm"),
    )
    base_tariff = _tariff_on(tariff, base.select("service_code", "month").unique(), "month")
    base = base.join(base_tariff, on=["service_code", "month"], how="left")
    base = base.filter(pl.col("tariff") > 0).with_columns(
        (pl.col("_money") / pl.col("tariff")).alias("_units")
    )
    per_pair = base.group_by("hromada_code", "service_code").agg(
        pl.col("_units").sum(), pl.col("_cm").sum()
    )
    per_service = base.group_by("service_code").agg(
        pl.when(pl.col("_cm").sum() > 0)  # 0/0 would be NaN: no case-months means no price
        .then(pl.col("_units").sum() / pl.col("_cm").sum())
        .alias("_svc_rate")
    )
    if "mean" not in forecast.columns:
        raise InputFileError("forecast lacks the 'mean' column to price", column="mean")
    present = [c for c in value_cols if c in forecast.columns]
    rows = forecast.select(
        *[c for c in TERRITORY_KEYS if c in forecast.columns], pl.col("ds").alias("month"), *present
    )
    rows_tariff = _tariff_on(tariff, rows.select("service_code", "month").unique(), "month")
    rows = rows.join(rows_tariff, on=["service_code", "month"], how="left")
    rows = (
        rows.join(per_pair, on=["hromada_code", "service_code"], how="left")
        .join(per_service, on="service_code", how="left")
        .with_columns(
            pl.when(pl.col("_cm") > 0)
            .then(pl.col("_units") / pl.col("_cm"))
            .otherwise(pl.col("_svc_rate"))
            .alias("_rate"),
            pl.when(pl.col("tariff").is_null() | (pl.col("tariff") <= 0))
            .then(pl.lit("not financed"))
            .when(pl.col("_cm") > 0)
            .then(pl.lit("hromada"))
            .when(pl.col("_svc_rate").is_not_null())
            .then(pl.lit("service mean"))
            .otherwise(pl.lit("no history"))
            .alias("price_basis"),
        )
        .with_columns(
            pl.when(pl.col("price_basis").is_in(["hromada", "service mean"]))
            .then(pl.col("_rate") * pl.col("tariff"))
            .otherwise(0.0)
            .alias("price_uah")
        )
    )
    need = [
        (pl.col(c) * pl.col("price_uah")).alias("need_uah" if c == "mean" else f"need_uah_{c}")
        for c in present
    ]
    keys = [c for c in TERRITORY_KEYS if c in rows.columns]
    return (
        rows.with_columns(*need)
        .select(
            *keys,
            "month",
            pl.col("mean").alias("case_months"),
            "price_uah",
            "price_basis",
            *[e.meta.output_name() for e in need],
        )
        .sort(*keys, "month")
    )


def _months_before(month: dt.date, k: int) -> dt.date:
    index = month.year * 12 + month.month - 1 - k
    return dt.date(index // 12, index % 12 + 1, 1)


def need_claims(priced: pl.DataFrame) -> pl.DataFrame:
    """Priced forecast as allocation claims: `claim_uah` (= `need_uah`) plus the keys."""
    keys = [c for c in (*TERRITORY_KEYS, "month") if c in priced.columns]
    return priced.select(*keys, pl.col("need_uah").alias("claim_uah"))
