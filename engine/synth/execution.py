"""A synthetic budget-execution report: what a treasury would show as paid, with planted gaps.

The report starts from the simulation itself — the funded case-months of an extract priced under a
funding model, summed per hromada × service × period (month or quarter) — and then plants three
gaps of known size and kind, recorded in a small YAML beside the report:

- **people**: one hromada paid for 30% more recipients than the registry holds (it under-reports
  its recipients to the registry); money and case-months grow with them, per person nothing
  changes;
- **price**: one service paid at its previous tariff (the value before the one in force), for every
  recipient and case-month the registry has;
- **timing**: one quarter of one service paid late: 60% of its money and case-months are paid in
  the next quarter, so the year's total is right and both quarters are wrong.

The hromada and services are chosen so the plants never share a cell: the hromada has none of the
two services' cases. With `plant=False` the report equals the simulation (to the kopiyka).

    >>> import engine
    >>> registry = engine.read_registry("data_samples/registry")
    >>> model = engine.load_funding_model("models/funding/baseline")
    >>> ent = engine.compute_entitlements(
    ...     registry, model, engine.load_territories(), months=("2026-01", "2026-09"))
    >>> report, planted = synthetic_execution(ent.case_months, model.table("tariff"))
    >>> [g["kind"] for g in planted["gaps"]]
    ['people', 'price', 'timing']
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from engine.columns import money_units

__all__ = [
    "PEOPLE_FACTOR",
    "TIMING_DEFERRED",
    "synthetic_execution",
    "write_execution",
    "write_for_extract",
]

PEOPLE_FACTOR = 1.3
TIMING_DEFERRED = 0.6
_HEADERS = {
    "period": "Період",
    "territory_code": "Код КАТОТТГ",
    "programme_code": "КПКВК",
    "name": "Назва програми",
    "paid": "Касові видатки, тис. грн",
    "recipients": "Кількість отримувачів",
    "case_months": "Кейс-місяці",
}
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def _cells(case_months: pl.DataFrame, grain: str) -> pl.DataFrame:
    """Funded simulation per hromada × service × period: kopiyky, distinct people, case-months."""
    period = pl.col("month") if grain == "month" else pl.col("month").dt.truncate("3mo")
    cells = (
        case_months.filter(pl.col("funded"))
        .with_columns(
            pl.col("hromada_code", "oblast_code", "service_code").cast(pl.String), period=period
        )
        .group_by("hromada_code", "oblast_code", "service_code", "period")
        .agg(
            pl.col("state_uah").sum(),
            recipients=pl.col("recipient_id").n_unique().cast(pl.Int64),
            case_months=pl.col("case_months").sum(),
        )
        .sort("period", "hromada_code", "service_code")
    )
    return cells.with_columns(
        kopiyky=pl.Series(money_units(cells["state_uah"]), dtype=pl.Int64)
    ).drop("state_uah")


def _previous_tariffs(tariffs: pl.DataFrame, first: dt.date) -> dict[str, tuple[float, float]]:
    """Per service: (tariff in force on `first`, the value before it), where there is one."""
    out: dict[str, tuple[float, float]] = {}
    ordered = tariffs.filter(pl.col("valid_from") <= first).sort("service_code", "valid_from")
    for service, rows in ordered.group_by("service_code", maintain_order=True):
        values = rows["value"].to_list()
        if len(values) >= 2 and values[-1] and values[-2] and values[-1] != values[-2]:
            out[str(service[0])] = (float(values[-1]), float(values[-2]))
    return out


def _choose(cells: pl.DataFrame, tariffs: pl.DataFrame, first: dt.date) -> dict[str, Any]:
    volume = (
        cells.group_by("service_code")
        .agg(pl.col("case_months").sum())
        .sort("case_months", "service_code", descending=[True, False])
    )
    ranked = volume["service_code"].to_list()
    top = ranked[0]
    changed = _previous_tariffs(tariffs, first)
    price = next((s for s in ranked if s != top and s in changed), None)
    if price is None:
        raise ValueError("no service with an earlier tariff to plant a price gap on")
    late = next(s for s in ranked if s not in (top, price))
    busy = cells.group_by("hromada_code").agg(
        clean=~pl.col("service_code").is_in([price, late]).any(),
        people=pl.col("recipients").sum(),
        has_top=(pl.col("service_code") == top).any(),
    )
    hromada = (
        busy.filter(pl.col("clean") & pl.col("has_top"))
        .sort("people", "hromada_code", descending=[True, False])["hromada_code"]
        .first()
    )
    quarters = cells["period"].dt.truncate("3mo").unique().sort().to_list()
    if len(quarters) < 2:
        raise ValueError("a late quarter needs at least two quarters in the report's months")
    return {
        "hromada": hromada,
        "price": price,
        "tariffs": changed[price],
        "late": late,
        "quarter": quarters[-2],
    }


def synthetic_execution(
    case_months: pl.DataFrame,
    tariffs: pl.DataFrame,
    *,
    programmes: pl.DataFrame | None = None,
    grain: str = "quarter",
    plant: bool = True,
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The report (contract names: `period`, `territory_code`, `programme_code`, `name`,
    `paid_uah` exact, `recipients`, `case_months`) and the record of what was planted.

    `case_months` are an extract's priced case-months over the report's months; `tariffs` the
    funding model's tariff table (`FundingModel.table("tariff")`); `programmes` a mapping's table
    (default: `models/programmes/social-services.yaml`'s codes, through `load_programmes`).
    """
    if grain not in ("month", "quarter"):
        raise ValueError(f"grain must be month or quarter, got {grain!r}")
    if programmes is None:
        from engine.execution._programmes import load_programmes

        root = Path(__file__).resolve().parents[2]
        programmes = load_programmes(root / "models/programmes/social-services.yaml").table
    cells = _cells(case_months, grain)
    first = cells["period"].min()
    assert isinstance(first, dt.date)
    record: dict[str, Any] = {"grain": grain, "gaps": []}
    if plant:
        chosen = _choose(cells, tariffs, first)
        cells = _planted(cells, chosen)
        now, before = chosen["tariffs"]
        quarter = chosen["quarter"]
        record["gaps"] = [
            {
                "kind": "people",
                "part": "people",
                "territory_code": chosen["hromada"],
                "service_code": "all",
                "factor": PEOPLE_FACTOR,
                "what": "the hromada paid for 30% more recipients than the registry holds",
            },
            {
                "kind": "price",
                "part": "price",
                "territory_code": "UA",
                "service_code": chosen["price"],
                "tariff_in_force": now,
                "tariff_paid": before,
                "what": "the service was paid at its previous tariff",
            },
            {
                "kind": "timing",
                "part": "volume",
                "territory_code": "UA",
                "service_code": chosen["late"],
                "period": f"{quarter.year}-Q{(quarter.month - 1) // 3 + 1}",
                "deferred_share": TIMING_DEFERRED,
                "what": "60% of the quarter was paid in the next quarter (the year is right)",
            },
        ]
    codes = programmes.sort("valid_from").unique("service_code", keep="first", maintain_order=True)
    report = cells.join(
        codes.select("service_code", programme_code="code", name="name"),
        on="service_code",
        how="left",
    )
    from engine.columns import decimal_series

    report = report.with_columns(
        decimal_series(report["kopiyky"].to_numpy(), "paid_uah"),
        territory_code="hromada_code",
    ).select(
        "period",
        "territory_code",
        "programme_code",
        "name",
        "paid_uah",
        "recipients",
        "case_months",
    )
    return report, record


def _planted(cells: pl.DataFrame, chosen: dict[str, Any]) -> pl.DataFrame:
    kop, people, volume = pl.col("kopiyky"), pl.col("recipients"), pl.col("case_months")
    # people: more recipients in one hromada, per-person money and volume unchanged
    in_h = pl.col("hromada_code") == chosen["hromada"]
    more = (people.cast(pl.Float64) * PEOPLE_FACTOR).round(0).cast(pl.Int64)
    scale = more.cast(pl.Float64) / people.cast(pl.Float64)
    cells = cells.with_columns(
        kopiyky=pl.when(in_h)
        .then((kop.cast(pl.Float64) * scale).round(0).cast(pl.Int64))
        .otherwise(kop),
        case_months=pl.when(in_h).then(volume * scale).otherwise(volume),
        recipients=pl.when(in_h).then(more).otherwise(people),
    )
    # price: the previous tariff for one service
    now, before = chosen["tariffs"]
    is_price = pl.col("service_code") == chosen["price"]
    cells = cells.with_columns(
        kopiyky=pl.when(is_price)
        .then((kop.cast(pl.Float64) * (before / now)).round(0).cast(pl.Int64))
        .otherwise(kop)
    )
    # timing: a share of one quarter of one service paid three months later
    late = (pl.col("service_code") == chosen["late"]) & (
        pl.col("period").dt.truncate("3mo") == chosen["quarter"]
    )
    deferred = cells.filter(late).with_columns(
        period=pl.col("period").dt.offset_by("3mo"),
        kopiyky=kop - (kop.cast(pl.Float64) * (1 - TIMING_DEFERRED)).round(0).cast(pl.Int64),
        case_months=volume * TIMING_DEFERRED,
    )
    cells = cells.with_columns(
        kopiyky=pl.when(late)
        .then((kop.cast(pl.Float64) * (1 - TIMING_DEFERRED)).round(0).cast(pl.Int64))
        .otherwise(kop),
        case_months=pl.when(late).then(volume * (1 - TIMING_DEFERRED)).otherwise(volume),
    )
    keys = ["hromada_code", "oblast_code", "service_code", "period"]
    merged = (
        pl.concat([cells, deferred.with_columns(_deferred=pl.lit(True))], how="diagonal")
        .group_by(keys)
        .agg(
            pl.col("kopiyky", "case_months").sum(),
            # the people of a cell are its own; a cell made of deferred money only counts those
            recipients=pl.when(pl.col("_deferred").is_null().any())
            .then(pl.col("recipients").filter(pl.col("_deferred").is_null()).first())
            .otherwise(pl.col("recipients").first()),
        )
    )
    return merged.sort("period", "hromada_code", "service_code")


def _period_text(period: pl.Expr, grain: str) -> pl.Expr:
    if grain == "month":
        return period.dt.strftime("%m.%Y")
    roman = period.dt.quarter().replace_strict(_ROMAN, return_dtype=pl.String)
    return pl.format("{} квартал {}", roman, period.dt.year())


def write_execution(
    report: pl.DataFrame,
    record: dict[str, Any],
    folder: Path,
    *,
    extra_rows: list[dict[str, Any]] | None = None,
) -> list[Path]:
    """Write `execution.csv` the way treasury exports come (CP1251, `;`, decimal commas, amounts
    in thousands of UAH with five decimals, so kopiyky survive, Ukrainian headers) and
    `execution_planted.yaml`. `extra_rows` (already in the file's words) are appended, for planted
    bad rows. Returns the paths written."""
    grain = record.get("grain", "quarter")
    kopiyky = pl.Series("k", money_units(report["paid_uah"]), dtype=pl.Int64)
    text = report.with_columns(
        period=_period_text(pl.col("period"), grain),
        # thousands of UAH with five decimals: whole kopiyky, written with a decimal comma
        paid=pl.format(
            "{},{}",
            pl.lit(kopiyky) // 100_000,
            (pl.lit(kopiyky) % 100_000).cast(pl.String).str.zfill(5),
        ),
        # full precision: the report's volume is the simulation's, to the last digit
        case_months=pl.col("case_months").cast(pl.String).str.replace(".", ",", literal=True),
        recipients=pl.col("recipients").cast(pl.String),
    ).select(list(_HEADERS))
    if extra_rows:
        text = pl.concat([text, pl.DataFrame(extra_rows, schema=text.schema)])
    csv_text = text.rename(_HEADERS).write_csv(separator=";", line_terminator="\r\n")
    folder.mkdir(parents=True, exist_ok=True)
    report_path = folder / "execution.csv"
    report_path.write_bytes(csv_text.encode("cp1251"))
    record_path = folder / "execution_planted.yaml"
    header = "# The gaps planted in execution.csv (engine.synth.execution): what mfr validate-totals finds.\n"
    record_path.write_text(header + yaml.safe_dump(record, allow_unicode=True, sort_keys=False))
    return [report_path, record_path]


def write_for_extract(
    tables: dict[str, pl.DataFrame],
    model: Path,
    folder: Path,
    *,
    extract_date: dt.date,
    territories: pl.DataFrame | None = None,
) -> list[Path]:
    """Price a generated extract (`generate_registry`'s tables) under the funding model at
    `model` over the complete quarters of the extract's year and write its execution report with
    planted gaps into `folder` (`mfr generate --execution MODEL`)."""
    from engine.entitlements import compute_entitlements
    from engine.params import load_funding_model
    from engine.reference import load_territories
    from engine.schemas import REGISTRY_TABLES, Registry

    first = dt.date(extract_date.year, 1, 1)
    quarters = (extract_date.month - (0 if _last_day(extract_date) else 1)) // 3
    if quarters < 2:
        from engine.errors import ConfigError

        raise ConfigError(
            f"an execution report with a late quarter needs two complete quarters of "
            f"{extract_date.year} before the extract date {extract_date}"
        )
    last = dt.date(extract_date.year, 3 * quarters, 1)
    t = {name: tables[name] for name in REGISTRY_TABLES}
    registry = Registry(
        recipients=t["recipients"],
        cases=t["cases"],
        case_locations=t["case_locations"],
        providers=t["providers"],
        services=t["services"],
        territory_status=t["territory_status"],
        extract_date=extract_date,
    )
    funding = load_funding_model(model)
    territories = load_territories() if territories is None else territories
    priced = compute_entitlements(registry, funding, territories, months=(first, last))
    report, record = synthetic_execution(priced.case_months, funding.table("tariff"))
    record = {"months": f"{first:%Y-%m}..{last:%Y-%m}", "funding_model": funding.version, **record}
    return write_execution(report, record, folder)


def _last_day(date: dt.date) -> bool:
    return (date + dt.timedelta(days=1)).day == 1
