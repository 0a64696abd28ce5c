"""Benchmark of entitlements: the pricing core, and the full API that builds every output frame.

Synthetic registries are generated directly with numpy (not `engine.synth`: the real KATOTTG
hromadas and services catalogue, random cases with moves, waiting periods, assessed volumes,
incomes and territory statuses; IDPs registered elsewhere), sized so the 12 priced months
(2024-07 to 2025-06, with tariff changes on 2025-01-01 and 2025-03-10) yield about the requested
number of segments. Generation is setup and is not timed.

Workloads, each timed in a fresh process by `engine.bench.run_isolated`:
- `setup_engine`: `price_core` on the indexed registry: segmentation, every factor, the monthly
  cap, co-payment and the rounded case-month totals (what the wide output frames are built from);
- `setup_engine_full`: the whole `compute_entitlements`, from the registry to the four output frames
  (the wide `segments` and `case_months` with the contract's string columns, rollups and flows):
  what a pipeline run pays;
- `setup_pandas`: a straightforward pandas implementation of the same §5 rules a user would write
  (`iterrows` over locations, a day-by-day walk, dictionary lookups of the dated parameters); it
  checks itself against the engine's case-months, to the kopiyka, and fails if any differs.

`run(sizes)` runs what users run (`mfr entitle` beside the DuckDB SQL, `engine.bench.cli_path`) and
the core at every size, and pandas once. Each in-process note gives the workload's CPU time (all
threads) beside its wall time: the machine may be shared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from engine.bench import BenchResult, run_isolated
from engine.dates import epoch_days, month_range, parse_date

if TYPE_CHECKING:
    from engine.params import FundingModel
    from engine.schemas import Registry

__all__ = [
    "MONTHS",
    "compare_case_months",
    "pandas_case_months",
    "ratio_lines",
    "run",
    "setup_engine",
    "setup_engine_full",
    "setup_pandas",
    "synthetic_registry",
]

MONTHS = ("2024-07", "2025-06")
_SEGMENTS_PER_CASE = (
    9.0  # measured on the generator below; refined by a pilot in `synthetic_registry`
)


def _day(value: str) -> int:
    return epoch_days(parse_date(value))


def _generate(n_cases: int, seed: int) -> tuple[Registry, pl.DataFrame]:
    from engine.reference import load_services, load_territories
    from engine.schemas import Registry

    rng = np.random.default_rng(seed)
    territories = load_territories()
    services = load_services()
    hromadas = territories["hromada_code"].to_numpy()
    codes = services["service_code"].to_numpy()
    weights = np.where(codes == "015.1", 20.0, 1.0)
    weights[np.isin(codes, ["017.1", "017.2"])] = 3.0
    service = rng.choice(len(codes), n_cases, p=weights / weights.sum())

    start = rng.integers(_day("2023-01-01"), _day("2025-05-01"), n_cases)
    closes = rng.random(n_cases) < 0.4
    end = np.where(closes, start + rng.integers(30, 700, n_cases), -1)
    home = rng.integers(0, len(hromadas), n_cases)
    moves = rng.random(n_cases) < 0.2
    waits = rng.random(n_cases) < 0.08
    last = np.where(end >= 0, end, _day("2025-12-31"))
    span = np.maximum(last - start, 2)
    wait_end = start + (rng.random(n_cases) * span * 0.3).astype(np.int64)
    move_day = start + (span * rng.uniform(0.35, 0.95, n_cases)).astype(np.int64)
    move_to = rng.integers(0, len(hromadas), n_cases)

    # locations: [waiting piece], first served piece, [second served piece after a move]
    case_idx = np.arange(n_cases)
    served_from = np.where(waits, wait_end + 1, start)
    first_to = np.where(moves, move_day - 1, end)
    loc_case = np.concatenate([case_idx[waits], case_idx, case_idx[moves]])
    loc_h = np.concatenate([home[waits], home, move_to[moves]])
    loc_from = np.concatenate([start[waits], served_from, move_day[moves]])
    loc_to = np.concatenate([wait_end[waits], first_to, end[moves]])
    loc_waiting = np.concatenate(
        [np.ones(waits.sum(), bool), np.zeros(n_cases + moves.sum(), bool)]
    )
    keep = (loc_to < 0) | (loc_from <= loc_to)
    n_providers = 20_000
    provider = rng.integers(0, n_providers, len(loc_case))

    def dates(values: np.ndarray) -> pl.Series:
        return pl.Series(values.astype(np.int32)).cast(pl.Date)

    def ids(prefix: str, values: np.ndarray) -> pl.Series:
        return pl.select(
            pl.lit(prefix) + pl.Series(values).cast(pl.String).str.zfill(9)
        ).to_series()

    n_status = len(hromadas) // 4
    status_h = rng.choice(len(hromadas), n_status, replace=False)
    status = rng.choice(
        ["frontline", "mountain", "rural", "occupied"], n_status, p=[0.35, 0.15, 0.45, 0.05]
    )
    status_from = rng.integers(_day("2022-01-01"), _day("2025-06-01"), n_status)
    is_idp = rng.random(n_cases) < 0.15
    recipients = pl.DataFrame(
        {
            "recipient_id": ids("R", case_idx),
            "birth_date": dates(rng.integers(_day("1930-01-01"), _day("2020-01-01"), n_cases)),
            "sex": rng.choice(["F", "M"], n_cases),
            "disability_group": rng.choice(
                ["none", "I", "II", "III", "child"], n_cases, p=[0.5, 0.1, 0.2, 0.1, 0.1]
            ),
            "is_idp": is_idp,
            # internally displaced people are registered elsewhere; others where they are served
            "registered_hromada": hromadas[
                np.where(is_idp, rng.integers(0, len(hromadas), n_cases), home)
            ],
            "income_ratio": np.where(
                rng.random(n_cases) < 0.2, np.nan, rng.lognormal(0.3, 0.6, n_cases)
            ),
        }
    ).with_columns(pl.col("income_ratio").fill_nan(None))
    cases = pl.DataFrame(
        {
            "case_id": ids("C", case_idx),
            "recipient_id": ids("R", case_idx),
            "service_code": codes[service],
            "need_level": rng.integers(1, 4, n_cases),
            "assessed_units": np.where(
                rng.random(n_cases) < 0.5, np.nan, rng.integers(5, 120, n_cases).astype(float)
            ),
            "start_date": dates(start),
            "end_date": dates(np.where(end >= 0, end, 0)),
            "status": np.where(closes, "closed", "served"),
        }
    ).with_columns(
        pl.col("assessed_units").fill_nan(None),
        pl.when(pl.Series(end >= 0)).then(pl.col("end_date")).alias("end_date"),
    )
    case_locations = pl.DataFrame(
        {
            "case_id": ids("C", loc_case[keep]),
            "hromada_code": hromadas[loc_h[keep]],
            "provider_id": ids("P", provider[keep]),
            "valid_from": dates(loc_from[keep]),
            "valid_to": dates(np.where(loc_to[keep] >= 0, loc_to[keep], 0)),
        }
    ).with_columns(
        pl.when(pl.Series(~loc_waiting[keep])).then(pl.col("provider_id")).alias("provider_id"),
        pl.when(pl.Series(loc_to[keep] >= 0)).then(pl.col("valid_to")).alias("valid_to"),
    )
    providers = pl.DataFrame(
        {
            "provider_id": ids("P", np.arange(n_providers)),
            "edrpou": pl.Series(np.arange(n_providers) + 10_000_000).cast(pl.String),
            "name": ids("Provider ", np.arange(n_providers)),
            "ownership": rng.choice(["state", "communal", "nonstate", "individual"], n_providers),
            "hromada_code": hromadas[rng.integers(0, len(hromadas), n_providers)],
        }
    )
    territory_status = pl.DataFrame(
        {
            "hromada_code": hromadas[status_h],
            "status": status,
            "valid_from": dates(status_from),
            "valid_to": pl.Series([None] * n_status, dtype=pl.Date),
        }
    )
    registry = Registry(
        recipients=recipients,
        cases=cases,
        case_locations=case_locations,
        providers=providers,
        services=services,
        territory_status=territory_status,
        extract_date=dt.date(2025, 6, 30),
    )
    return registry, territories


def synthetic_registry(n_segments: int, seed: int = 0) -> tuple[Registry, pl.DataFrame]:
    """A synthetic `Registry` (and territories) yielding about `n_segments` segments over MONTHS."""
    from engine.entitlements import price_core
    from engine.params import load_funding_model
    from engine.segments import index_registry

    pilot_cases = min(20_000, max(200, n_segments // 50))
    pilot, territories = _generate(pilot_cases, seed + 1)
    model = load_funding_model(_model_path())
    core = price_core(index_registry(pilot, territories), model, month_range(*MONTHS))
    per_case = core.n_segments / pilot_cases
    return _generate(max(1, round(n_segments / per_case)), seed)


def _model_path() -> str:
    from pathlib import Path

    import engine

    return str(Path(engine.__file__).resolve().parents[1] / "models" / "funding" / "baseline")


def _with_cpu(work: Callable[[], str]) -> Callable[[], str]:
    """`work` whose note starts with the CPU seconds (user + system, every thread) it took."""
    import time

    def timed() -> str:
        start = time.process_time()
        note = work()
        return f"cpu {time.process_time() - start:.2f} s; {note}"

    return timed


def setup_engine(size: int, seed: int) -> Callable[[], str]:
    """The engine's core: segmentation, pricing and case-month totals from the indexed registry."""
    import gc

    from engine.entitlements import price_core
    from engine.params import load_funding_model
    from engine.segments import index_registry

    registry, territories = synthetic_registry(size, seed)
    model = load_funding_model(_model_path())
    months = month_range(*MONTHS)
    indexed = index_registry(registry, territories)
    del registry
    gc.collect()

    def work() -> str:
        core = price_core(indexed, model, months)
        n = core.n_segments
        return f"{n:,} segments, {len(core.case_months['last']):,} case-months"

    return _with_cpu(work)


def setup_engine_full(size: int, seed: int) -> Callable[[], str]:
    """`compute_entitlements` from the registry: core, wide frames, rollups and flows. The frames
    are held until the end, so the peak includes them."""
    import gc

    from engine.entitlements import compute_entitlements
    from engine.params import load_funding_model

    registry, territories = synthetic_registry(size, seed)
    model = load_funding_model(_model_path())
    gc.collect()

    def work() -> str:
        ent = compute_entitlements(registry, model, territories, months=MONTHS)
        return (
            f"{ent.segments.height:,} segments, {ent.case_months.height:,} case-months, "
            f"{ent.rollups.height:,} rollup and {ent.flows.height:,} flow rows"
        )

    return _with_cpu(work)


def setup_pandas(size: int, seed: int) -> Callable[[], str]:
    """The pandas row-logic version; the engine's case-months (computed here, untimed) check it."""
    from engine.entitlements import compute_entitlements
    from engine.params import load_funding_model

    registry, territories = synthetic_registry(size, seed)
    model = load_funding_model(_model_path())
    expected = compute_entitlements(registry, model, territories, months=MONTHS).case_months

    def work() -> str:
        frame = pandas_case_months(registry, model, MONTHS)
        mismatch = compare_case_months(expected, frame)
        if mismatch:
            raise AssertionError(f"pandas and engine disagree: {mismatch}")
        return f"{len(frame):,} case-months, identical to the engine's to the kopiyka"

    return _with_cpu(work)


def compare_case_months(engine: pl.DataFrame, pandas_frame: Any) -> str:
    """'' when both give the same rounded amounts for the same (case, month, funded), else why."""
    keys = ["case_id", "month", "funded"]
    if len(pandas_frame) == 0 or engine.height == 0:
        same = len(pandas_frame) == engine.height
        return "" if same else f"{engine.height} engine rows vs {len(pandas_frame)} pandas rows"
    other = pl.from_pandas(pandas_frame).with_columns(pl.col("month").cast(pl.Date))
    left = engine.select(*keys, "gross_uah", "copay_uah", "state_uah", "days")
    joined = left.join(other, on=keys, how="full", suffix="_pd", coalesce=True)
    if joined.height != left.height or joined.height != other.height:
        return f"{left.height} engine rows vs {other.height} pandas rows ({joined.height} joined)"
    for column in ("gross_uah", "copay_uah", "state_uah", "days"):
        bad = joined.filter((pl.col(column) - pl.col(f"{column}_pd")).abs() > 1e-6)
        if bad.height:
            return f"{bad.height} rows differ in {column}, e.g. {bad.row(0, named=True)}"
    return ""


def _intervals(table: pl.DataFrame, dims: Sequence[str]) -> dict[tuple, list[tuple]]:
    """Parameter values as {dimension values: [(from, to, value), ...]} for plain-Python lookups."""
    out: dict[tuple, list[tuple]] = {}
    for row in table.iter_rows(named=True):
        out.setdefault(tuple(row[d] for d in dims), []).append(
            (row["valid_from"], row["valid_to"], row["value"])
        )
    return out


def _at(
    intervals: dict[tuple, list[tuple]], key: tuple, day: dt.date, default: float | None = None
):
    for start, end, value in intervals.get(key, ()):
        if start <= day and (end is None or day <= end):
            return value
    return default


def pandas_case_months(registry: Registry, model: FundingModel, months: tuple[str, str]) -> Any:  # noqa: PLR0915
    """The straightforward implementation of DESIGN.md §5: a row loop over locations and a day-walk
    over each, looking every parameter up day by day, then the cap, co-payment and rounding per
    case-month. Returns a pandas frame: case_id, month, funded, gross/copay/state_uah, days."""
    import calendar
    import math

    import pandas as pd

    reg, mdl = registry, model
    if mdl.adjustments.height:
        raise ValueError("the pandas reference does not implement territorial scenario changes")
    month_list = month_range(*months)
    period_start = month_list[0]
    period_end = month_list[-1].replace(
        day=calendar.monthrange(month_list[-1].year, month_list[-1].month)[1]
    )
    cases = reg.cases.to_pandas().merge(reg.recipients.to_pandas(), on="recipient_id", how="left")
    cases = cases.merge(reg.services.to_pandas(), on="service_code", how="left")
    locations = reg.case_locations.to_pandas().merge(cases, on="case_id", how="inner")
    statuses = reg.territory_status.to_pandas()
    status_by_hromada: dict[str, list[tuple]] = {}
    for _, st in statuses.iterrows():
        end = None if pd.isna(st["valid_to"]) else st["valid_to"].date()
        status_by_hromada.setdefault(st["hromada_code"], []).append(
            (st["status"], st["valid_from"].date(), end)
        )
    p = {
        name: _intervals(mdl.table(name), mdl.parameter(name).dimensions) for name in mdl.parameters
    }
    defaults = {name: mdl.default(name) for name in mdl.parameters}

    def coefficient(hromada: str, day: dt.date) -> float:
        product, seen = 1.0, set()
        for status, start, end in status_by_hromada.get(hromada, ()):
            if start <= day and (end is None or day <= end) and status not in seen:
                seen.add(status)
                coef = _at(p["territory_coef"], (status,), day, defaults["territory_coef"])
                product *= 1.0 if coef is None else coef
        cap = _at(p["territory_coef_cap"], (), day)
        return product if cap is None else min(product, cap)

    def copay_share(income: float, day: dt.date) -> float:
        if income is None or (isinstance(income, float) and math.isnan(income)):
            return _at(p["unknown_income_band"], (), day, 0.0)
        share, bound = 0.0, -1.0
        for (lower,), spans in p["copay_bands"].items():
            value = _at({(): spans}, (), day)
            if value is not None and bound < lower <= income:
                share, bound = value, lower
        return share

    totals: dict[tuple, list[float]] = {}
    for _, loc in locations.iterrows():
        first = max(loc["valid_from"].date(), loc["start_date"].date(), period_start)
        last_dates = [period_end]
        for column in ("valid_to", "end_date"):
            if not pd.isna(loc[column]):
                last_dates.append(loc[column].date())
        last = min(last_dates)
        funded = loc["provider_id"] is not None and not (isinstance(loc["provider_id"], float))
        service, level, unit = loc["service_code"], int(loc["need_level"]), loc["unit"]
        assessed = None if pd.isna(loc["assessed_units"]) else float(loc["assessed_units"])
        day = first
        while day <= last:
            month = day.replace(day=1)
            days_in_month = calendar.monthrange(day.year, day.month)[1]
            tariff = _at(p["tariff"], (service,), day)
            modifier = _at(
                p["modifier"], (loc["disability_group"], loc["group"]), day, defaults["modifier"]
            )
            units: float | None
            if unit == "month":
                units = 1.0
            else:
                norm = _at(p["norm_units"], (service, level), day)
                most = _at(p["max_units"], (service, level), day)
                wanted = assessed if assessed is not None else norm
                units = None if wanted is None or most is None else min(wanted, most)
            gross = 0.0
            if tariff is not None and modifier is not None and units is not None:
                price = tariff if unit == "day" else tariff * units / days_in_month
                gross = price * coefficient(loc["hromada_code"], day) * modifier
            entry = totals.setdefault((loc["case_id"], month, funded), [0.0, 0.0, 0])
            entry[0] += gross
            entry[1] += gross * copay_share(loc["income_ratio"], day)
            entry[2] += 1
            day += dt.timedelta(days=1)

    def kopiyky(value: float) -> float:
        return math.floor(abs(value) * 100.0 * (1.0 + 1e-11) + 0.5) / 100.0

    service_of = dict(zip(cases.case_id, cases.service_code, strict=True))
    rows = []
    for (case_id, month, funded), (gross, copay, days) in totals.items():
        service = service_of[case_id]
        cap = _at(p.get("monthly_cap", {}), (service,), month, defaults.get("monthly_cap"))
        factor = cap / gross if cap is not None and gross > cap else 1.0
        g, c = kopiyky(gross * factor), kopiyky(copay * factor)
        rows.append(
            {"case_id": case_id, "month": pd.Timestamp(month), "funded": funded,
             "gross_uah": g, "copay_uah": c, "state_uah": g - c, "days": days}
        )  # fmt: skip
    return pd.DataFrame(
        rows, columns=["case_id", "month", "funded", "gross_uah", "copay_uah", "state_uah", "days"]
    )


def run(
    sizes: Sequence[int] = (1_000_000, 10_000_000),
    seed: int = 0,
    *,
    quick: bool = False,
    pandas_size: int = 100_000,
) -> list[BenchResult]:
    """What users run and its rivals, each in a fresh process: `mfr entitle` and the DuckDB SQL on
    the same extracts (messy CSV and Parquet; `engine.bench.cli_path`) at every size, the pricing
    core alone at every size, and the pandas row logic at `pandas_size` (which checks itself
    against the engine's case-months to the kopiyka and fails if they differ)."""
    from engine.bench import cli_path

    if quick:
        sizes, pandas_size = (50_000,), 5_000
    results = cli_path.run(sizes, seed)
    for size in sizes:
        results.append(
            run_isolated(
                "engine.bench.entitlements:setup_engine",
                area="entitlements",
                case="engine core",
                size=size,
                unit="segments",
                seed=seed,
            )
        )
    results.append(
        run_isolated(
            "engine.bench.entitlements:setup_pandas",
            area="entitlements",
            case="pandas rows",
            size=pandas_size,
            unit="segments",
            seed=seed,
        )
    )
    return results


def ratio_lines(results: Sequence[BenchResult]) -> list[str]:
    """Engine over the DuckDB SQL per extract, and over pandas rows (`cli_path.ratio_lines`)."""
    from engine.bench import cli_path

    return cli_path.ratio_lines(results)
