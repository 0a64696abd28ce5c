"""Benchmark of the entitlement core: segmentation + pricing + case-month totals.

Synthetic registries are generated directly with numpy (real KATOTTG hromadas and the real services
catalogue; random cases, moves, waiting periods and territory statuses), sized so the 12 priced
months yield about the requested number of segments. Generation is setup and is not timed.

Two workloads:
- `setup_engine`: the engine's vectorised path (`index_registry` + `price_core`), from the typed
  `Registry` to priced segments and rounded case-month totals.
- `setup_pandas`: a straightforward pandas implementation of the same §5 rules a user would write
  (a loop over cases, a day-walk over each location, `.loc` lookups of the dated tables).

`run(sizes)` runs the engine at every size and pandas at the smallest, each in a fresh process, and
checks on the smallest size that both give the same totals to the kopiyka.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from engine.bench import BenchResult, run_isolated

__all__ = [
    "MONTHS",
    "engine_totals",
    "pandas_case_months",
    "run",
    "setup_engine",
    "setup_pandas",
    "synthetic_registry",
]

MONTHS = ("2024-07", "2025-06")
_SEGMENTS_PER_CASE = 9.0  # measured on the generator below; refined by a pilot in `synthetic_registry`
_EPOCH = dt.date(1970, 1, 1)


def _day(value: str) -> int:
    return (dt.date.fromisoformat(value) - _EPOCH).days


def _generate(n_cases: int, seed: int) -> object:
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
    loc_waiting = np.concatenate([np.ones(waits.sum(), bool), np.zeros(n_cases + moves.sum(), bool)])
    keep = (loc_to < 0) | (loc_from <= loc_to)
    n_providers = 20_000
    provider = rng.integers(0, n_providers, len(loc_case))

    def dates(values: np.ndarray) -> pl.Series:
        return pl.Series(values.astype(np.int32)).cast(pl.Date)

    def ids(prefix: str, values: np.ndarray) -> pl.Series:
        return pl.select(pl.lit(prefix) + pl.Series(values).cast(pl.String).str.zfill(9)).to_series()

    n_status = len(hromadas) // 4
    status_h = rng.choice(len(hromadas), n_status, replace=False)
    status = rng.choice(["frontline", "mountain", "rural", "occupied"], n_status, p=[0.35, 0.15, 0.45, 0.05])
    status_from = rng.integers(_day("2022-01-01"), _day("2025-06-01"), n_status)
    recipients = pl.DataFrame(
        {
            "recipient_id": ids("R", case_idx),
            "birth_date": dates(rng.integers(_day("1930-01-01"), _day("2020-01-01"), n_cases)),
            "sex": rng.choice(["F", "M"], n_cases),
            "disability_group": rng.choice(["none", "I", "II", "III", "child"], n_cases, p=[0.5, 0.1, 0.2, 0.1, 0.1]),
            "is_idp": rng.random(n_cases) < 0.15,
            "registered_hromada": hromadas[rng.integers(0, len(hromadas), n_cases)],
            "income_ratio": np.where(rng.random(n_cases) < 0.2, np.nan, rng.lognormal(0.3, 0.6, n_cases)),
        }
    ).with_columns(pl.col("income_ratio").fill_nan(None))
    cases = pl.DataFrame(
        {
            "case_id": ids("C", case_idx),
            "recipient_id": ids("R", case_idx),
            "service_code": codes[service],
            "need_level": rng.integers(1, 4, n_cases),
            "assessed_units": np.where(rng.random(n_cases) < 0.5, np.nan, rng.integers(5, 120, n_cases).astype(float)),
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


def synthetic_registry(n_segments: int, seed: int = 0) -> tuple[object, pl.DataFrame]:
    """A synthetic `Registry` (and territories) yielding about `n_segments` segments over MONTHS."""
    from engine.entitlements import price_core
    from engine.params import load_funding_model
    from engine.segments import index_registry, month_range

    pilot, territories = _generate(20_000, seed + 1)
    model = load_funding_model(_model_path())
    core = price_core(index_registry(pilot, territories), model, month_range(*MONTHS))  # type: ignore[arg-type]
    per_case = len(core.segments["case"]) / 20_000
    return _generate(max(1, round(n_segments / per_case)), seed)  # type: ignore[return-value]


def _model_path() -> str:
    import engine

    from pathlib import Path

    return str(Path(engine.__file__).resolve().parents[1] / "models" / "funding" / "baseline")


def engine_totals(registry: object, territories: pl.DataFrame) -> tuple[int, dict[str, float]]:
    """Segments count and totals of the engine's core on `registry`."""
    from engine.entitlements import price_core
    from engine.params import load_funding_model
    from engine.segments import index_registry, month_range

    model = load_funding_model(_model_path())
    core = price_core(index_registry(registry, territories), model, month_range(*MONTHS))  # type: ignore[arg-type]
    cm = core.case_months
    return len(core.segments["case"]), {
        "gross_uah": float(cm["gross_uah"].sum()),
        "copay_uah": float(cm["copay_uah"].sum()),
        "case_months_rows": float(len(cm["case"])),
    }


def setup_engine(size: int, seed: int) -> Callable[[], str]:
    from engine.entitlements import price_core
    from engine.params import load_funding_model
    from engine.segments import index_registry, month_range

    registry, territories = synthetic_registry(size, seed)
    model = load_funding_model(_model_path())
    months = month_range(*MONTHS)

    def work() -> str:
        core = price_core(index_registry(registry, territories), model, months)  # type: ignore[arg-type]
        n = len(core.segments["case"])
        return f"{n:,} segments, {len(core.case_months['case']):,} case-months"

    return work


def setup_pandas(size: int, seed: int) -> Callable[[], str]:
    from engine.params import load_funding_model

    registry, _ = synthetic_registry(size, seed)
    model = load_funding_model(_model_path())

    def work() -> str:
        frame = pandas_case_months(registry, model)
        return f"{len(frame):,} case-months"

    return work


def pandas_case_months(registry: object, model: object):  # noqa: ANN201 - returns a pandas frame
    """The straightforward implementation: loop over cases and walk each location day by day."""
    from engine.bench._pandas_rules import case_months_by_rows

    return case_months_by_rows(registry, model, MONTHS)


def run(sizes: Sequence[int] = (1_000_000, 10_000_000), seed: int = 0) -> list[BenchResult]:
    """Engine at every size, pandas at the smallest, each in a fresh process; totals cross-checked."""
    from engine.bench._pandas_rules import check_same_totals

    results = [
        run_isolated(
            "engine.bench.entitlements:setup_engine",
            area="entitlements",
            case="engine",
            size=size,
            unit="segments",
            seed=seed,
        )
        for size in sizes
    ]
    smallest = min(sizes)
    results.append(
        run_isolated(
            "engine.bench.entitlements:setup_pandas",
            area="entitlements",
            case="pandas rows",
            size=smallest,
            unit="segments",
            seed=seed,
        )
    )
    check_same_totals(smallest, seed)
    return results
