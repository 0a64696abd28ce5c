"""Build the output frames from what the core wrote while pricing (`price_core(wide=True)`).

Nothing here prices anything. Numeric columns wrap the core's arrays without copies; every
dimension column is gathered by an integer key from a small dictionary of distinct values (the
cases, the hromadas and their raion and oblast, the providers and their ownership), all in one
parallel polars pass per frame. Dimensions are `pl.Enum` (`engine.columns.Dimensions`), case and
recipient ids 16-byte views into the dictionaries' buffers; no frame is joined on a string key.
Money is exact (`engine.columns`): Decimal(18, 2) for the rounded case-month amounts, Decimal(18, 4)
for the unrounded parts of a segment, and state = gross − co-payment exactly on every row.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.columns import Dimensions, decimal_series, kopiyky
from engine.dates import add_months, epoch_days
from engine.entitlements._core import PricedCore
from engine.entitlements._wide import Wide
from engine.rollups import CodeBook, Parts
from engine.segments import IndexedRegistry, registered_index

__all__ = [
    "CASE_MONTH_COLUMNS",
    "SEGMENT_COLUMNS",
    "Dictionaries",
    "case_months_frame",
    "code_book",
    "dictionaries",
    "dimensions",
    "distinct_cases",
    "parts",
    "per_case",
    "segments_frame",
    "territory_lists",
]

SEGMENT_COLUMNS = (
    "case_id", "recipient_id", "service_code", "service_group", "unit", "need_level", "month",
    "segment_from", "segment_to", "days", "days_in_month", "hromada_code", "raion_code",
    "oblast_code", "registered_hromada", "registered_oblast_code", "provider_id", "ownership",
    "disability_group", "age", "is_idp", "units", "tariff", "coef", "modifier", "cap_factor",
    "gross_uah", "copay_share", "copay_uah", "state_uah", "funded", "model_version",
)  # fmt: skip
CASE_MONTH_COLUMNS = (
    "case_id", "month", "funded", "gross_uah", "copay_uah", "state_uah", "case_months", "days",
    "recipient_id", "service_code", "service_group", "unit", "need_level", "disability_group", "age",
    "is_idp", "hromada_code", "raion_code", "oblast_code", "registered_hromada",
    "registered_oblast_code", "provider_id", "ownership",
)  # fmt: skip
_MONEY = ("gross_uah", "copay_uah", "state_uah")


def territory_lists(
    reg: IndexedRegistry, territories: pl.DataFrame | None
) -> tuple[list[str | None], list[str | None]]:
    """Raion and oblast code of each hromada index (None when not in the territories table)."""
    if territories is None:
        none: list[str | None] = [None] * len(reg.hromada_codes)
        return none, list(none)
    looked = pl.DataFrame({"hromada_code": reg.hromada_codes}).join(
        territories.select("hromada_code", "raion_code", "oblast_code").unique("hromada_code"),
        on="hromada_code",
        how="left",
        maintain_order="left",
    )
    return looked["raion_code"].to_list(), looked["oblast_code"].to_list()


def dimensions(reg: IndexedRegistry, territories: pl.DataFrame | None) -> Dimensions:
    """The Enum dtypes of this registry's outputs (`engine.columns.Dimensions`)."""
    return Dimensions.build(
        territories=territories,
        hromadas=reg.hromada_codes,
        services=reg.service_codes,
        service_groups=reg.service_groups,
        providers=reg.provider_ids,
    )


def per_case(reg: IndexedRegistry, oblast: list[str | None], dims: Dimensions) -> pl.DataFrame:
    """The attributes every output row of a case repeats, one row per case index."""
    registered = registered_index(reg)
    index = pl.select(pl.when(pl.lit(registered) >= 0).then(pl.lit(registered))).to_series()
    service = pl.Series(reg.service)
    return pl.DataFrame(
        {
            "case_id": reg.cases["case_id"],
            "recipient_id": reg.cases["recipient_id"],
            "service_code": pl.Series(reg.service_codes, dtype=dims.service).gather(service),
            "service_group": pl.Series(reg.service_groups, dtype=dims.service_group).gather(
                service
            ),
            "unit": pl.Series(reg.service_units, dtype=dims.unit).gather(service),
            "need_level": reg.cases["need_level"].cast(pl.Int64),
            "registered_hromada": pl.Series(reg.hromada_codes, dtype=dims.territory).gather(index),
            "registered_oblast_code": pl.Series(oblast, dtype=dims.territory).gather(index),
            "disability_group": reg.cases["disability_group"].cast(dims.disability_group),
            "is_idp": reg.cases["is_idp"],
        }
    )


@dataclass(frozen=True, eq=False)
class Dictionaries:
    """Distinct values that string columns are gathered from, by an integer key."""

    per_case: pl.DataFrame  # by case index
    by_hromada: dict[str, pl.Series]  # by serving hromada index (one past the last: unknown)
    by_provider: dict[str, pl.Series]  # by provider index (one past the last: none)


def dictionaries(
    reg: IndexedRegistry, raion: list[str | None], oblast: list[str | None], dims: Dimensions
) -> Dictionaries:
    return Dictionaries(
        per_case=per_case(reg, oblast, dims),
        by_hromada={
            "hromada_code": pl.Series([*reg.hromada_codes, None], dtype=dims.territory),
            "raion_code": pl.Series([*raion, None], dtype=dims.territory),
            "oblast_code": pl.Series([*oblast, None], dtype=dims.territory),
        },
        by_provider={
            "provider_id": pl.Series([*reg.provider_ids, None], dtype=dims.provider),
            "ownership": pl.Series([*reg.provider_ownership, None], dtype=dims.ownership),
        },
    )


def _gather(
    books: Dictionaries,
    case: np.ndarray,
    hromada: np.ndarray,
    provider: np.ndarray,
    names: Collection[str] | None = None,
) -> pl.DataFrame:
    """Every per-case, per-hromada and per-provider column (or those of `names`) for rows with
    these keys (uint32)."""
    keys = pl.DataFrame({"case": case, "hromada": hromada, "provider": provider})
    lookups = [(books.per_case.to_dict(), "case")]
    lookups += [(books.by_hromada, "hromada"), (books.by_provider, "provider")]
    return keys.select(
        pl.lit(values).gather(pl.col(key)).alias(name)
        for columns, key in lookups
        for name, values in columns.items()
        if names is None or name in names
    )


def _dates(days: np.ndarray) -> pl.Series:
    return pl.Series(days).cast(pl.Date)


def _nan_to_null(values: np.ndarray) -> pl.Series:
    """A factor not in force is NaN in the core and null in the output."""
    series = pl.Series(values)
    return series.fill_nan(None) if np.isnan(values).any() else series


def _age(age: np.ndarray, unknown: np.ndarray | None) -> pl.Series:
    """Ages as Int32, null where the birth date is unknown (`unknown` per row, None if none)."""
    series = pl.Series(age)
    if unknown is None or not unknown.any():
        return series
    return pl.select(pl.when(~pl.lit(pl.Series(unknown))).then(pl.lit(series))).to_series()


def _wide(core: PricedCore) -> Wide:
    if core.wide is None:
        raise ValueError("the output frames need price_core(..., wide=True)")
    return core.wide


def _parts_money(
    gross: np.ndarray, copay: np.ndarray, names: Collection[str] = _MONEY
) -> dict[str, pl.Series]:
    """A segment's unrounded money (those of `names`) as Decimal(18, 4): gross and co-payment to
    1/10,000 UAH, state = gross − co-payment exactly."""
    g, c = kopiyky(gross, 4), kopiyky(copay, 4)
    out = {
        name: decimal_series(units, name, 4)
        for name, units in (("gross_uah", g), ("copay_uah", c))
        if name in names
    }
    if "state_uah" in names:  # last: it overwrites the gross units (the decimals are copies)
        out["state_uah"] = decimal_series(np.subtract(g, c, out=g), "state_uah", 4)
    return out


def segments_frame(
    core: PricedCore,
    books: Dictionaries,
    version: str,
    *,
    columns: Sequence[str] = SEGMENT_COLUMNS,
    rows: np.ndarray | None = None,
    release: bool = False,
) -> pl.DataFrame:
    """One row per segment, every factor a column (`SEGMENT_COLUMNS`), in the core's order.

    `columns` (some of `SEGMENT_COLUMNS`, in that order) and `rows` (segment positions, ascending)
    build a part of that frame, the same values: only what is asked for is made (a forecast's
    history needs a dozen columns, an explanation a few cases). `release`: the core's wide segment
    arrays are let go as their columns are made (the last frame made of this pricing: the
    arrays and the frame are never both whole in memory)."""
    wide = _wide(core)
    w = wide.segments
    take: Callable[[str], np.ndarray] = w.pop if release and rows is None else w.__getitem__
    by_row = core.rows  # per-segment factors under a territorial scenario
    unknown = wide.unknown_birth

    def at(values: np.ndarray) -> np.ndarray:
        return values if rows is None else np.take(values, rows)

    def factor(name: str) -> np.ndarray:
        return take(name) if by_row is None else by_row[name]

    def age() -> pl.Series:
        return _age(at(take("age")), None if unknown is None else unknown[at(w["case"])])

    makers: dict[str, Callable[[], pl.Series]] = {
        "month": lambda: _dates(at(take("month"))),
        "segment_from": lambda: _dates(at(take("segment_from"))),
        "segment_to": lambda: _dates(at(take("segment_to"))),
        "days": lambda: pl.Series(at(take("days"))),
        "days_in_month": lambda: pl.Series(at(take("days_in_month"))),
        "age": age,
        "units": lambda: _nan_to_null(at(factor("units"))),
        "tariff": lambda: _nan_to_null(at(factor("tariff"))),
        "coef": lambda: pl.Series(at(take("coef"))),
        "modifier": lambda: _nan_to_null(at(factor("modifier"))),
        "cap_factor": lambda: pl.Series(at(take("cap_factor"))),
        "copay_share": lambda: pl.Series(at(take("copay_share"))),
        "funded": lambda: pl.Series(at(take("funded"))),
    }
    numbers = pl.DataFrame([make().alias(name) for name, make in makers.items() if name in columns])
    money = pl.DataFrame(
        _parts_money(at(core.segments["gross_uah"]), at(take("copay_uah")), columns)
        if any(c in columns for c in _MONEY)
        else {}
    )
    keys = at(take("case")), at(take("hromada")), at(take("provider"))
    strings = _gather(books, *keys, names=columns)
    del keys
    frame = pl.concat([f for f in (strings, numbers, money) if f.width], how="horizontal")
    if "model_version" in columns:
        frame = frame.with_columns(model_version=pl.lit(version, dtype=pl.Categorical))
    return frame.select([c for c in SEGMENT_COLUMNS if c in columns])


def _case_month_order(case: np.ndarray, month: np.ndarray, funded: np.ndarray) -> np.ndarray | None:
    """Order of case-months by (case, month, funded) without sorting; None when already in order.

    Case-months come out of the core by case (cases are numbered in case_id order) and month; only
    a waiting and a served row of the same case-month may be the wrong way round.
    """
    swap = np.flatnonzero(
        (case[1:] == case[:-1]) & (month[1:] == month[:-1]) & funded[:-1] & ~funded[1:]
    )
    if not len(swap):
        return None
    order = np.arange(len(case))
    order[swap], order[swap + 1] = swap + 1, swap
    return order


def distinct_cases(core: PricedCore) -> int:
    """How many cases have case-months (they come out of the core by case: one run per case)."""
    case = _wide(core).case_months["case"]
    return int(np.count_nonzero(case[1:] != case[:-1])) + int(len(case) > 0)


def case_months_frame(core: PricedCore, books: Dictionaries) -> pl.DataFrame:
    """One row per (case, month, funded): rounded totals and the case's attributes that month
    (serving hromada and provider of its last segment). Takes the case-month keys from the core."""
    wide = _wide(core)
    cm = {**wide.take_case_months(), **core.case_months}
    order = _case_month_order(cm["case"], cm["month"], cm["funded"])
    if order is not None:
        cm = {name: values[order] for name, values in cm.items()}
    month = cm["month"]
    starts = wide.month_day
    days_in_month = np.diff(np.r_[starts, _next_month(core)]).astype(np.int32)
    gross, copay, days = kopiyky(cm["gross_uah"]), kopiyky(cm["copay_uah"]), cm["days"]
    age = wide.month_serial[month] - wide.birth_serial[cm["case"]]
    age //= 12
    unknown = wide.unknown_birth
    numbers = pl.DataFrame(
        {
            "month": _dates(starts[month]),
            "funded": cm["funded"],
            "gross_uah": decimal_series(gross, "gross_uah"),
            "copay_uah": decimal_series(copay, "copay_uah"),
            "state_uah": decimal_series(gross - copay, "state_uah"),
            "case_months": days / days_in_month[month],
            "days": days.astype(np.int64),
            "age": _age(age, None if unknown is None else unknown[cm["case"]]),
        }
    )
    strings = _gather(books, cm["case"], cm["hromada"], cm["provider"])
    return pl.concat([strings, numbers], how="horizontal").select(CASE_MONTH_COLUMNS)


def _next_month(core: PricedCore) -> int:
    """First day after the period, in days since 1970-01-01."""
    last = core.months[-1]
    return epoch_days(add_months(last, 1))


def code_book(
    core: PricedCore,
    reg: IndexedRegistry,
    raion: list[str | None],
    oblast: list[str | None],
    dims: Dimensions,
) -> CodeBook:
    return CodeBook(
        dimensions=dims,
        months=core.months,
        hromada_codes=reg.hromada_codes,
        raion_of_hromada=raion,
        oblast_of_hromada=oblast,
        service_codes=reg.service_codes,
        ownership_of_provider=reg.provider_ownership,
    )


def parts(core: PricedCore) -> Parts:
    """The rounded parts the core wrote (taken from the core: freed once the caller drops them)."""
    p = _wide(core).take_parts()
    return Parts(**{name: p[name] for name in Parts.__dataclass_fields__})
