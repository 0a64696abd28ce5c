"""Service providers located in hromadas, with valid 8-digit EDRPOU codes and plausible names."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

__all__ = ["ProviderIndex", "make_providers"]

_OWNERSHIP = np.array(["communal", "nonstate", "state", "individual"])
_OWNERSHIP_P = np.array([0.55, 0.25, 0.1, 0.1])
_CASES_PER_EXTRA_PROVIDER = 500.0

_CHARITY_NAMES = [
    "Карітас", "Надія", "Турбота", "Милосердя", "Добро", "Рука допомоги", "Джерело", "Світло",
    "Родина", "Крок назустріч", "Відродження", "Серце до серця", "Теплий дім", "Плече",
]  # fmt: skip
_STATE_NAMES = [
    "ДУ «Геріатричний пансіонат №{k}»",
    "ДЗ «Психоневрологічний інтернат №{k}»",
    "ДУ «Центр комплексної реабілітації №{k}»",
]


@dataclass(frozen=True)
class ProviderIndex:
    """Providers sorted by hromada: those of hromada h are rows offset[h] .. offset[h] + count[h] - 1."""

    table: pl.DataFrame
    offset: np.ndarray
    count: np.ndarray

    def pick(self, rng: np.random.Generator, hromada: np.ndarray) -> np.ndarray:
        """A random provider row of each given hromada (each must have one)."""
        return self.offset[hromada] + np.floor(
            rng.random(hromada.size) * self.count[hromada]
        ).astype(np.int64)


def edrpou_check_digit(body: np.ndarray) -> np.ndarray:
    """Control digit of 7-digit EDRPOU bodies (the State Statistics algorithm)."""
    digits = (body[:, None] // 10 ** np.arange(6, -1, -1)) % 10
    code = body * 10
    low = np.arange(1, 8)
    mid = np.array([7, 1, 2, 3, 4, 5, 6])
    weights = np.where(((code < 30_000_000) | (code > 60_000_000))[:, None], low, mid)
    check = (digits * weights).sum(axis=1) % 11
    retry = (digits * (weights + 2)).sum(axis=1) % 11
    check = np.where(check >= 10, retry, check)
    return np.where(check >= 10, 0, check)


def _genitive(name: pl.Expr) -> pl.Expr:
    # "Андріївська" -> "Андріївської громади"; single-unit cities keep their name: "м. Київ"
    return (
        pl.when(name.str.ends_with("а"))
        .then(name.str.replace(r"а$", "ої") + pl.lit(" громади"))
        .otherwise(pl.lit("м. ") + name)
    )


def make_providers(
    territories: pl.DataFrame,
    load: np.ndarray,
    rng: np.random.Generator,
    surnames: list[str],
    initials: list[str],
) -> ProviderIndex:
    """Providers in every hromada where people live: one, plus one per ~500 resident cases."""
    count = np.where(load > 0, 1 + rng.poisson(load / _CASES_PER_EXTRA_PROVIDER), 0)
    offset = np.concatenate([[0], np.cumsum(count)[:-1]])
    hromada = np.repeat(np.arange(territories.height), count)
    n = hromada.size
    ownership = _OWNERSHIP[np.searchsorted(np.cumsum(_OWNERSHIP_P), rng.random(n) * 0.999999)]
    stride = max(8_999_999 // max(n, 1), 1)
    body = 1_000_000 + np.arange(n) * stride + rng.integers(0, stride, n)
    body = rng.permutation(body)
    edrpou = body * 10 + edrpou_check_digit(body)

    table = (
        pl.DataFrame(
            {
                "provider_id": pl.int_range(1, n + 1, eager=True, dtype=pl.Int64)
                .cast(pl.String)
                .str.zfill(6),
                "edrpou": pl.Series(edrpou).cast(pl.String).str.zfill(8),
                "ownership": ownership,
                "hromada_code": territories["hromada_code"].gather(hromada),
                "_hromada_name": territories["hromada_name"].gather(hromada),
                "_k": rng.integers(1, 40, n),
                "_charity": np.asarray(_CHARITY_NAMES)[rng.integers(0, len(_CHARITY_NAMES), n)],
                "_state": np.asarray(_STATE_NAMES)[rng.integers(0, len(_STATE_NAMES), n)],
                "_surname": np.asarray(surnames)[rng.integers(0, len(surnames), n)],
                "_ini": np.asarray(initials)[rng.integers(0, len(initials), n)],
                "_ngo": rng.random(n) < 0.5,
            }
        )
        .with_columns(
            provider_id=pl.lit("P") + pl.col("provider_id"),
            name=pl.when(pl.col("ownership") == "communal")
            .then(
                pl.lit("КУ «Центр надання соціальних послуг» ") + _genitive(pl.col("_hromada_name"))
            )
            .when(pl.col("ownership") == "state")
            .then(pl.col("_state").str.replace("{k}", pl.col("_k").cast(pl.String), literal=True))
            .when(pl.col("ownership") == "nonstate")
            .then(
                pl.when(pl.col("_ngo")).then(pl.lit("ГО «")).otherwise(pl.lit("БФ «"))
                + pl.col("_charity")
                + pl.lit("»")
            )
            .otherwise(pl.lit("ФОП ") + pl.col("_surname") + pl.lit(" ") + pl.col("_ini")),
        )
        .select("provider_id", "edrpou", "name", "ownership", "hromada_code")
    )
    return ProviderIndex(table=table, offset=offset, count=count)
