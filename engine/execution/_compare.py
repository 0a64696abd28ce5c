"""Simulated entitlements beside what was paid, at every level where both exist, gaps explained.

The comparison is built from the report's own rows up. Per service and oblast, the report's
coarsest territory level and period among its rows is the *base* (a service reported by hromada
and month in one oblast and by oblast and quarter in another has two bases); the simulation's
funded case-months (the state's share) are summed to exactly those cells, and both sides are then
added up the hierarchy: hromada → raion → oblast → national, month → quarter → year, service →
all services. A cell exists only where both sides are complete: an oblast reported as a whole has
no hromada cells, a quarter no months, and an "all services" cell needs every service of its
territory at that level. Only the report's span (its first to last period), services and oblasts
are compared: what the report does not cover is not called unpaid.

Recipients are counted per base cell (distinct people in the cell, as a report counts its rows)
and summed above it, on both sides alike: a person served in two hromadas counts in each.

Per cell: `gap_uah = paid_uah − sim_uah` (exact), `gap_pct = gap ÷ simulated`, and the gap split
into `people_uah + volume_uah + price_uah` (`_decompose`: Shapley, exact to the kopiyka). A cell is
`flagged` when |gap| ≥ `min_gap_uah` and |gap_pct| > `tolerance` (or nothing was simulated and
something paid); `dominant` names its largest part; `timing` marks a flagged month or quarter
whose year is not flagged (paid late or early, not missing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import polars as pl

from engine.columns import LEVELS, MONEY, NATIONAL_CODE, decimal_series, money_units
from engine.errors import InputFileError
from engine.execution._decompose import BASES, PARTS, shapley_split, split_kopiyky
from engine.execution._models import GRAINS
from engine.execution._read import Execution

__all__ = ["ALL_SERVICES", "COMPARISON_COLUMNS", "compare_totals"]

ALL_SERVICES = "all"
_LEVEL_RANK = {level: i for i, level in enumerate(LEVELS)}
_GRAIN_RANK = {grain: i for i, grain in enumerate(GRAINS)}
_BASE_KEYS = ["service_code", "oblast_code", "base_level", "base_grain", "territory", "period"]
_UNIT_SUSPECT = (300.0, 3000.0)  # paid ÷ simulated this far off: the amounts' unit is wrong
COMPARISON_COLUMNS = (
    *("level", "territory_code", "service_code", "grain", "period", "period_start"),
    *("sim_uah", "paid_uah", "gap_uah", "gap_pct"),
    *("sim_recipients", "paid_recipients", "sim_case_months", "paid_case_months"),
    *("people_uah", "volume_uah", "price_uah", "basis", "dominant", "flagged", "timing"),
    "programme_codes",
)


def compare_totals(
    case_months: pl.DataFrame,
    execution: Execution,
    territories: pl.DataFrame,
    *,
    tolerance: float = 0.05,
    min_gap_uah: float = 1000.0,
    check_units: bool = True,
) -> pl.DataFrame:
    """The comparison table (`COMPARISON_COLUMNS`, module docstring) of the simulated
    `case_months` (`Entitlements.case_months`) and the validated `execution` report.

    With `check_units`, a report whose total is about a thousand times the simulation's (or a
    thousandth of it) stops with an `InputFileError`: its amounts are in the wrong unit.

    >>> import engine
    >>> from engine.execution import load_programmes, read_execution
    >>> registry = engine.read_registry("data_samples/registry")
    >>> ent = engine.compute_entitlements(
    ...     registry, engine.load_funding_model("models/funding/baseline"),
    ...     engine.load_territories(), months=("2026-01", "2026-12"))
    >>> paid = read_execution("data_samples/execution/execution.csv",
    ...     load_programmes("models/programmes/social-services.yaml"), months=ent.months)
    >>> table = compare_totals(ent.case_months, paid, engine.load_territories())
    >>> year = table.filter((pl.col("level") == "national") & (pl.col("grain") == "year")
    ...     & (pl.col("service_code") == "all")).row(0, named=True)
    >>> year["gap_uah"] == year["people_uah"] + year["volume_uah"] + year["price_uah"]
    True
    """
    if not 0 <= tolerance < 10:
        raise ValueError(f"tolerance must be a share (0.05 = 5%), got {tolerance}")
    paid = execution.rows
    if paid.is_empty():
        raise InputFileError(
            "no valid row to compare (every row was quarantined)", path=execution.source_file
        )
    ancestors = _ancestors(territories)
    base = _bases(paid)
    first = paid["period_start"].min()
    last = paid["period_end"].max()
    assert isinstance(first, dt.date) and isinstance(last, dt.date)
    sim_cells = _sim_cells(case_months, paid, base, first, last)
    paid_cells = _paid_cells(paid, base, ancestors)
    cells = _joined(sim_cells, paid_cells, paid).join(
        ancestors.select("territory", "raion_code"), on="territory", how="left"
    )
    table = pl.concat(
        [
            _rollup(cells, level, grain, by_service)
            for level in LEVELS
            for grain in GRAINS
            for by_service in (True, False)
        ]
    )
    if check_units:
        _check_units(table, execution)
    table = _explained(table, tolerance, min_gap_uah)
    codes = paid.group_by("service_code").agg(
        programme_codes=pl.col("programme_code").unique().sort().str.join(", ")
    )
    table = table.join(codes, on="service_code", how="left")
    return _typed(table, territories)


# --- the two sides at the base cells ------------------------------------------------------------


def _ancestors(territories: pl.DataFrame) -> pl.DataFrame:
    """Every hromada, raion and oblast code with its raion (null for an oblast) and oblast."""
    t = territories
    return pl.concat(
        [
            t.select(territory="hromada_code", raion_code="raion_code", oblast_code="oblast_code"),
            t.select(territory="raion_code", raion_code="raion_code", oblast_code="oblast_code"),
            t.select(
                territory="oblast_code",
                raion_code=pl.lit(None, pl.String),
                oblast_code="oblast_code",
            ),
        ]
    ).unique("territory", keep="first", maintain_order=True)


def _bases(paid: pl.DataFrame) -> pl.DataFrame:
    """Per service × oblast of the report, its coarsest level and grain (as ranks)."""
    ranked = paid.with_columns(
        _level=pl.col("level").cast(pl.String).replace_strict(_LEVEL_RANK, return_dtype=pl.Int8),
        _grain=pl.col("grain").cast(pl.String).replace_strict(_GRAIN_RANK, return_dtype=pl.Int8),
    )
    return ranked.group_by("service_code", "oblast_code").agg(
        base_level=pl.col("_level").max(), base_grain=pl.col("_grain").max()
    )


def _base_of(frame: pl.DataFrame, base: pl.DataFrame, paid: pl.DataFrame) -> pl.DataFrame:
    """`frame` (with service and oblast) joined to its base; a service × oblast the report does
    not have takes the service's finest base elsewhere (what it pays nothing against)."""
    finest = base.group_by("service_code").agg(
        _level=pl.col("base_level").min(), _grain=pl.col("base_grain").min()
    )
    return (
        frame.join(base, on=["service_code", "oblast_code"], how="left")
        .join(finest, on="service_code", how="left")
        .with_columns(
            base_level=pl.coalesce("base_level", "_level"),
            base_grain=pl.coalesce("base_grain", "_grain"),
        )
        .drop("_level", "_grain")
    )


def _period_at(date: pl.Expr, grain: pl.Expr) -> pl.Expr:
    return (
        pl.when(grain == 0)
        .then(date)
        .when(grain == 1)
        .then(date.dt.truncate("3mo"))
        .otherwise(date.dt.truncate("1y"))
    )


def _sim_cells(
    case_months: pl.DataFrame,
    paid: pl.DataFrame,
    base: pl.DataFrame,
    first: dt.date,
    last: dt.date,
) -> pl.DataFrame:
    services = paid["service_code"].unique().implode()
    oblasts = paid["oblast_code"].unique().implode()
    sim = (
        case_months.lazy()
        .filter(pl.col("funded") & pl.col("month").is_between(first, last))
        .select(
            pl.col("service_code", "hromada_code", "raion_code", "oblast_code").cast(pl.String),
            "month",
            "recipient_id",
            "state_uah",
            "case_months",
        )
        .filter(pl.col("service_code").is_in(services) & pl.col("oblast_code").is_in(oblasts))
        .collect()
    )
    sim = _base_of(sim, base, paid)
    return (
        sim.with_columns(
            territory=pl.when(pl.col("base_level") == 0)
            .then(pl.col("hromada_code"))
            .when(pl.col("base_level") == 1)
            .then(pl.col("raion_code"))
            .otherwise(pl.col("oblast_code")),
            period=_period_at(pl.col("month"), pl.col("base_grain")),
        )
        .group_by(_BASE_KEYS)
        .agg(
            sim_uah=pl.col("state_uah").sum(),
            sim_recipients=pl.col("recipient_id").n_unique().cast(pl.Int64),
            sim_case_months=pl.col("case_months").sum(),
        )
    )


def _null_sum(column: str) -> pl.Expr:
    """A sum that is unknown when any of its parts is."""
    return pl.when(pl.col(column).null_count() == 0).then(pl.col(column).sum())


def _paid_cells(paid: pl.DataFrame, base: pl.DataFrame, ancestors: pl.DataFrame) -> pl.DataFrame:
    rows = paid.join(
        ancestors.select("territory", "raion_code"),
        left_on="territory_code",
        right_on="territory",
        how="left",
    ).join(base, on=["service_code", "oblast_code"], how="left")
    return (
        rows.with_columns(
            territory=pl.when(pl.col("base_level") == 0)
            .then(pl.col("territory_code"))
            .when(pl.col("base_level") == 1)
            .then(pl.col("raion_code"))
            .otherwise(pl.col("oblast_code")),
            period=_period_at(pl.col("period_start"), pl.col("base_grain")),
        )
        .group_by(_BASE_KEYS)
        .agg(
            paid_uah=pl.col("paid_uah").sum(),
            paid_recipients=_null_sum("recipients"),
            paid_case_months=_null_sum("case_months"),
        )
    )


def _joined(sim: pl.DataFrame, paid_cells: pl.DataFrame, paid: pl.DataFrame) -> pl.DataFrame:
    """Both sides per base cell; a side without a row had nothing (known where the report
    counts people or case-months for that service at all)."""
    counted = paid.group_by("service_code").agg(
        _has_people=pl.col("recipients").is_not_null().any(),
        _has_volume=pl.col("case_months").is_not_null().any(),
    )
    zero = pl.lit(0).cast(MONEY)
    return (
        sim.join(paid_cells, on=_BASE_KEYS, how="full", coalesce=True)
        .join(counted, on="service_code", how="left")
        .with_columns(
            sim_uah=pl.col("sim_uah").fill_null(zero),
            paid_uah=pl.col("paid_uah").fill_null(zero),
            sim_recipients=pl.col("sim_recipients").fill_null(0),
            sim_case_months=pl.col("sim_case_months").fill_null(0.0),
            paid_recipients=pl.when(pl.col("paid_uah").is_null() & pl.col("_has_people"))
            .then(0)
            .otherwise(pl.col("paid_recipients")),
            paid_case_months=pl.when(pl.col("paid_uah").is_null() & pl.col("_has_volume"))
            .then(0.0)
            .otherwise(pl.col("paid_case_months")),
        )
        .drop("_has_people", "_has_volume")
    )


# --- up the hierarchy ----------------------------------------------------------------------------


def _rollup(cells: pl.DataFrame, level: str, grain: str, by_service: bool) -> pl.DataFrame:
    """The cells of one level × grain, by service or for all services, where both sides are
    complete (module docstring)."""
    lv, gr = _LEVEL_RANK[level], _GRAIN_RANK[grain]
    group: list[str] = (["service_code"] if by_service else []) + (
        ["oblast_code"] if level != "national" else []
    )
    ok_level = pl.col("base_level").max() <= lv if level != "national" else pl.lit(True)
    ok = ok_level & (pl.col("base_grain").max() <= gr)
    chosen = cells.filter(ok.over(group) if group else ok)
    territory = {
        "hromada": pl.col("territory"),
        "raion": pl.col("raion_code"),
        "oblast": pl.col("oblast_code"),
        "national": pl.lit(NATIONAL_CODE),
    }[level]
    period = _period_at(pl.col("period"), pl.lit(gr))
    return (
        chosen.with_columns(
            territory_code=territory,
            service_code=pl.col("service_code") if by_service else pl.lit(ALL_SERVICES),
            period_start=period,
        )
        .group_by("territory_code", "service_code", "period_start")
        .agg(
            pl.col("sim_uah", "paid_uah", "sim_recipients", "sim_case_months").sum(),
            paid_recipients=_null_sum("paid_recipients"),
            paid_case_months=_null_sum("paid_case_months"),
        )
        .with_columns(level=pl.lit(level), grain=pl.lit(grain))
    )


def _check_units(table: pl.DataFrame, execution: Execution) -> None:
    top = table.filter(
        (pl.col("level") == "national")
        & (pl.col("service_code") == ALL_SERVICES)
        & (pl.col("grain") == "year")
    )
    sim, paid = float(top["sim_uah"].sum()), float(top["paid_uah"].sum())
    if sim <= 0 or paid <= 0:
        return
    low, high = _UNIT_SUSPECT
    ratio = paid / sim
    if low <= ratio <= high or low <= 1 / ratio <= high:
        wrong, right = ("UAH", "thousand UAH") if ratio > 1 else ("thousand UAH", "UAH")
        raise InputFileError(
            f"paid is {ratio:,.4g} times the simulated total: the amounts look like {wrong}, "
            f"not {right} as read ({execution.unit}); state the unit in the amount's header "
            "(e.g. 'Касові видатки, грн') or a unit column",
            path=execution.source_file,
            column="paid",
        )


# --- gaps explained --------------------------------------------------------------------------


def _explained(table: pl.DataFrame, tolerance: float, min_gap_uah: float) -> pl.DataFrame:
    sim_k = money_units(table["sim_uah"])
    paid_k = money_units(table["paid_uah"])
    gap_k = paid_k - sim_k
    people = [table["sim_recipients"].to_numpy(), table["paid_recipients"].to_numpy()]
    volume = [table["sim_case_months"].to_numpy(), table["paid_case_months"].to_numpy()]
    has_p = ~table["paid_recipients"].is_null().to_numpy()
    has_v = ~table["paid_case_months"].is_null().to_numpy()
    p0, p1 = (np.nan_to_num(np.asarray(a, dtype=np.float64)) for a in people)
    v0, v1 = (np.nan_to_num(np.asarray(a, dtype=np.float64)) for a in volume)
    m0, m1 = sim_k.astype(np.float64), paid_k.astype(np.float64)
    sides_ok = [(p, v, m) for p, v, m in ((p0, v0, m0), (p1, v1, m1))]
    people_ok = np.logical_and.reduce([(p > 0) | ((v == 0) & (m == 0)) for p, v, m in sides_ok])
    volume_ok = np.logical_and.reduce([(v > 0) | (m == 0) for _, v, m in sides_ok])
    amount_ok = np.logical_and.reduce([(p > 0) | (m == 0) for p, _, m in sides_ok])
    basis = np.select(
        [has_p & has_v & people_ok & volume_ok, has_v & volume_ok, has_p & amount_ok],
        [0, 1, 2],
        default=3,
    )
    parts = shapley_split(np.column_stack([p0, v0, m0]), np.column_stack([p1, v1, m1]), basis)
    present = ~np.isnan(parts)
    kopiyky = split_kopiyky(parts, gap_k)
    columns = [
        decimal_series(kopiyky[:, i], f"{name}_uah").set(pl.Series(~present[:, i]), None)
        for i, name in enumerate(PARTS)
    ]
    size = np.where(present, np.abs(kopiyky), -1)
    dominant = np.where((gap_k != 0) & present.any(axis=1), np.argmax(size, axis=1), len(PARTS))
    gap = decimal_series(gap_k, "gap_uah")
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(sim_k != 0, gap_k / np.where(sim_k != 0, sim_k, 1), np.nan)
    big = np.abs(gap_k) >= round(min_gap_uah * 100)
    flagged = big & (((sim_k == 0) & (paid_k != 0)) | (np.abs(np.nan_to_num(pct)) > tolerance))
    table = table.with_columns(
        gap,
        pl.Series("gap_pct", pct, nan_to_null=True),
        *columns,
        basis=pl.Series(BASES, dtype=pl.String).gather(basis),
        dominant=pl.Series((*PARTS, "none"), dtype=pl.String).gather(dominant),
        flagged=pl.Series(flagged, dtype=pl.Boolean),
    )
    return _timing(table)


def _timing(table: pl.DataFrame) -> pl.DataFrame:
    """A flagged month or quarter whose year is within tolerance: a payment's timing."""
    keys = ["level", "territory_code", "service_code"]
    years = table.filter(pl.col("grain") == "year").select(
        *keys, _year=pl.col("period_start").dt.year(), _year_flagged="flagged"
    )
    return (
        table.with_columns(_year=pl.col("period_start").dt.year())
        .join(years, on=[*keys, "_year"], how="left")
        .with_columns(
            timing=pl.col("flagged")
            & (pl.col("grain") != "year")
            & ~pl.col("_year_flagged").fill_null(True)
        )
        .drop("_year", "_year_flagged")
    )


def _label(grain: pl.Expr, start: pl.Expr) -> pl.Expr:
    return (
        pl.when(grain == "month")
        .then(start.dt.strftime("%Y-%m"))
        .when(grain == "quarter")
        .then(pl.format("{}-Q{}", start.dt.year(), start.dt.quarter()))
        .otherwise(start.dt.year().cast(pl.String))
    )


def _enum(values: Sequence[str]) -> pl.Enum:
    return pl.Enum(sorted(set(values)))


def _typed(table: pl.DataFrame, territories: pl.DataFrame) -> pl.DataFrame:
    codes = [NATIONAL_CODE]
    for column in ("hromada_code", "raion_code", "oblast_code"):
        codes += territories[column].drop_nulls().to_list()
    services = [ALL_SERVICES, *table["service_code"].drop_nulls().unique().to_list()]
    order = [
        pl.col("level").cast(pl.String).replace_strict(_LEVEL_RANK),
        pl.col("grain").cast(pl.String).replace_strict(_GRAIN_RANK),
    ]
    return (
        table.with_columns(
            pl.col("sim_uah", "paid_uah").cast(MONEY),
            level=pl.col("level").cast(pl.Enum(list(LEVELS))),
            territory_code=pl.col("territory_code").cast(_enum(codes)),
            service_code=pl.col("service_code").cast(_enum(services)),
            grain=pl.col("grain").cast(pl.Enum(list(GRAINS))),
            period=_label(pl.col("grain"), pl.col("period_start")),
            basis=pl.col("basis").cast(pl.Enum(list(BASES))),
            dominant=pl.col("dominant").cast(pl.Enum([*PARTS, "none"])),
        )
        .sort(
            [*order, "territory_code", "service_code", "period_start"],
            descending=[True, False, False, False, False],
        )
        .select(COMPARISON_COLUMNS)
    )
