"""Synthetic personal identifiers, as real registry extracts carry them (for privacy tests only).

`add_personal_identifiers` appends `rnokpp` (a 10-digit tax number with a valid check digit that
encodes the birth date and sex, as the real one does: 5 digits of the birth date, 4 serial digits
whose last is odd for men, a check digit; unique, as the real ones are), `full_name`, `phone` and
`passport`. None of these may pass ingestion; they exist so the privacy step can be shown to drop or
hash them, and the benefits extract's join to be matched on them.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from engine.synth._names import (
    FEMALE_NAMES,
    FEMALE_PATRONYMICS,
    MALE_NAMES,
    MALE_PATRONYMICS,
    SURNAMES,
    SURNAMES_FEMALE,
)

__all__ = ["PII_COLUMNS", "add_personal_identifiers", "rnokpp_check_digit"]

PII_COLUMNS = ("rnokpp", "full_name", "phone", "passport")

_RNOKPP_WEIGHTS = np.array([-1, 5, 7, 9, 4, 6, 10, 5, 7])
_RNOKPP_EPOCH = dt.date(1899, 12, 31)  # day 1 of the tax number's date part is 1900-01-01
_OPERATORS = np.array(["50", "66", "67", "68", "73", "93", "95", "96", "97", "98", "99"])
_PASSPORT_SERIES = np.array(["МК", "ВА", "КВ", "ЕН", "СО", "АМ", "ТТ", "НЕ"])
_SERIALS = (
    5_000  # 4 serial digits, the last one's parity fixed by sex: 5,000 per birth date and sex
)


def rnokpp_check_digit(first9: np.ndarray) -> np.ndarray:
    """Check digit of 9-digit RNOKPP prefixes (given as integers)."""
    digits = (first9[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    return ((digits * _RNOKPP_WEIGHTS).sum(axis=1) % 11) % 10


def _unique_serials(
    preferred: np.ndarray, group: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """`preferred` serials (0 ≤ s < 5,000) made unique within each `group` (birth date and sex).

    The first holder of a serial keeps it (an extract without collisions is unchanged); every
    later holder draws again, all of them at once, until none collides (a draw collides with the
    chance that the group's serials are taken, about 1 in 400 at 1 M people: two or three rounds)."""
    _, sizes = np.unique(group, return_counts=True)
    if sizes.size and int(sizes.max()) > _SERIALS // 2:  # beyond, drawing would take long
        raise ValueError(f"more than {_SERIALS // 2:,} people share a birth date and sex")
    serial = preferred.astype(np.int64)
    for _ in range(100):
        code = group * _SERIALS + serial
        order = np.argsort(code, kind="stable")
        later = order[np.r_[False, code[order][1:] == code[order][:-1]]]
        if not later.size:
            return serial
        serial[later] = rng.integers(0, _SERIALS, later.size)
    raise AssertionError("serials still collide after 100 draws")  # pragma: no cover


def _pick(rng: np.random.Generator, values: list[str], size: int) -> np.ndarray:
    return np.asarray(values)[rng.integers(0, len(values), size)]


def add_personal_identifiers(
    recipients: pl.DataFrame, seed: int = 0, *, as_of: dt.date = dt.date(2026, 10, 31)
) -> pl.DataFrame:
    """`recipients` plus the columns in `PII_COLUMNS` (deterministic for a seed).

    About 2% have no tax number (refused on religious grounds), children under 14 have no passport,
    and a tenth have no phone (ages are taken at `as_of`). Phones come in the mixed formats that hand-typed registries hold.
    """
    rng = np.random.default_rng(seed)
    n = recipients.height
    female = (recipients["sex"] == "F").to_numpy()
    day_part = (
        recipients.select((pl.col("birth_date") - pl.lit(_RNOKPP_EPOCH)).dt.total_days())
        .to_series()
        .to_numpy()
    )
    serial = rng.integers(0, 1000, n)
    parity = rng.integers(0, 5, n)
    # drawn as before (the same numbers where they do not collide), then made unique per birth
    # date and sex by a generator of their own (the draws below stay those of the seed)
    group = day_part.astype(np.int64) * 2 + female
    unique = _unique_serials(serial * 5 + parity, group, np.random.default_rng([seed, 10]))
    sex_digit = 2 * (unique % 5) + np.where(female, 0, 1)  # odd for men
    first9 = day_part.astype(np.int64) * 10_000 + (unique // 5) * 10 + sex_digit
    rnokpp = first9 * 10 + rnokpp_check_digit(first9)

    father = rng.integers(0, len(MALE_PATRONYMICS), n)
    surname_idx = rng.integers(0, len(SURNAMES), n)
    surname = np.where(
        female, np.asarray(SURNAMES_FEMALE)[surname_idx], np.asarray(SURNAMES)[surname_idx]
    )
    given = np.where(female, _pick(rng, FEMALE_NAMES, n), _pick(rng, MALE_NAMES, n))
    patronymic = np.where(
        female, np.asarray(FEMALE_PATRONYMICS)[father], np.asarray(MALE_PATRONYMICS)[father]
    )

    operator = _OPERATORS[rng.integers(0, _OPERATORS.size, n)]
    number = rng.integers(0, 10_000_000, n)
    style = rng.integers(0, 3, n)
    ages = recipients.select(
        (pl.lit(as_of) - pl.col("birth_date")).dt.total_days() / 365.25
    ).to_series()

    extra = pl.DataFrame(
        {
            "_rnokpp": rnokpp,
            "_no_rnokpp": rng.random(n) < 0.02,
            "full_name": pl.Series(surname) + " " + pl.Series(given) + " " + pl.Series(patronymic),
            "_op": operator,
            "_num": pl.Series(number).cast(pl.String).str.zfill(7),
            "_style": style,
            "_no_phone": rng.random(n) < 0.1,
            "_id_card": rng.random(n) < 0.6,
            "_card": pl.Series(rng.integers(0, 1_000_000_000, n)).cast(pl.String).str.zfill(9),
            "_series": _PASSPORT_SERIES[rng.integers(0, _PASSPORT_SERIES.size, n)],
            "_book": pl.Series(rng.integers(0, 1_000_000, n)).cast(pl.String).str.zfill(6),
            "_child": (ages < 14).to_numpy(),
        }
    ).select(
        rnokpp=pl.when(~pl.col("_no_rnokpp")).then(pl.col("_rnokpp").cast(pl.String).str.zfill(10)),
        full_name=pl.col("full_name"),
        phone=pl.when(pl.col("_no_phone"))
        .then(None)
        .when(pl.col("_style") == 0)
        .then(pl.concat_str(pl.lit("+380"), "_op", "_num"))
        .when(pl.col("_style") == 1)
        .then(
            pl.concat_str(
                pl.lit("+38 (0"),
                "_op",
                pl.lit(") "),
                pl.col("_num").str.slice(0, 3),
                pl.lit("-"),
                pl.col("_num").str.slice(3, 2),
                pl.lit("-"),
                pl.col("_num").str.slice(5, 2),
            )
        )
        .otherwise(pl.concat_str(pl.lit("0"), "_op", "_num")),
        passport=pl.when(pl.col("_child"))
        .then(None)
        .when(pl.col("_id_card"))
        .then(pl.col("_card"))
        .otherwise(pl.col("_series") + pl.col("_book")),
    )
    return pl.concat([recipients, extra], how="horizontal")
