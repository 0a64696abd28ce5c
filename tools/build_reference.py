"""Build `data_samples/reference/territories.csv` from the KATOTTG codifier extract.

Re-runnable and deterministic:

    .venv/bin/python tools/build_reference.py [--source ../shared/reference] [--out data_samples/reference]

Inputs: `katottg_hromadas.csv` and `katottg_regions.csv` (the codifier as published, names with
trailing spaces) and `oblast_population.csv` (our table of regional population totals, English
names and the regional centre of each oblast; its sources are in the reference README).

Population rule (documented in `data_samples/reference/README.md`): the regional centre's hromada
gets its stated approximate population; the rest of the oblast total is spread over the oblast's
other hromadas with weight 3 for a raion-centre hromada (its name is the raion's name in the
feminine form, e.g. raion "Бахчисарайський" -> hromada "Бахчисарайська") and weight 1 otherwise,
rounded to whole persons by the largest-remainder method so every oblast sums exactly to its total.
Kyiv and Sevastopol are single-unit regions: one row each, oblast = raion = hromada.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "reference"
DEFAULT_OUT = REPO / "data_samples" / "reference"

_RAION_CENTRE_WEIGHT = 3
COLUMNS = [
    "oblast_code",
    "oblast_name",
    "oblast_name_en",
    "raion_code",
    "raion_name",
    "hromada_code",
    "hromada_name",
    "population",
]


def _strip_all(df: pl.DataFrame) -> pl.DataFrame:
    # The codifier pads names with spaces (and may use doubled inner spaces); normalise once here.
    return df.with_columns(
        pl.col(c).str.strip_chars().str.replace_all(r"\s+", " ") for c in df.columns
    )


def _largest_remainder(df: pl.DataFrame, total: str, weight: str, group: str) -> pl.Series:
    """Whole-person shares of `total` proportional to `weight` within `group`, summing exactly."""
    raw = pl.col(total) * pl.col(weight) / pl.col(weight).sum().over(group)
    out = (
        df.with_row_index("_i")
        .with_columns(_raw=raw)
        .with_columns(_floor=pl.col("_raw").floor().cast(pl.Int64))
        .with_columns(
            _deficit=(pl.col(total) - pl.col("_floor").sum().over(group)),
            _rank=(pl.col("_raw") - pl.col("_floor"))
            .rank("ordinal", descending=True)
            .over(group, order_by="hromada_code"),
        )
        .with_columns(
            population=pl.col("_floor") + (pl.col("_rank") <= pl.col("_deficit")).cast(pl.Int64)
        )
        .sort("_i")
    )
    return out["population"]


def build_territories(source: Path, oblast_table: Path) -> pl.DataFrame:
    hromadas = _strip_all(pl.read_csv(source / "katottg_hromadas.csv", infer_schema=False))
    regions = _strip_all(pl.read_csv(source / "katottg_regions.csv", infer_schema=False))
    totals = pl.read_csv(oblast_table, infer_schema=False).with_columns(
        total=pl.col("population_thousands").cast(pl.Int64) * 1000,
        centre_pop=pl.col("centre_population_thousands").cast(pl.Int64) * 1000,
    )
    if regions.height != 27 or set(regions["oblast_code"]) != set(totals["oblast_code"]):
        raise SystemExit("katottg_regions.csv and oblast_population.csv disagree on the 27 regions")

    cities = regions.filter(pl.col("level") == "city_special").select(
        "oblast_code",
        "oblast_name",
        raion_code=pl.col("oblast_code"),
        raion_name=pl.col("oblast_name"),
        hromada_code=pl.col("oblast_code"),
        hromada_name=pl.col("oblast_name"),
    )
    df = (
        pl.concat([hromadas, cities])
        .join(totals, on="oblast_code", how="left", validate="m:1")
        .with_columns(
            is_raion_centre=pl.col("raion_name").str.replace(r"ий$", "а") == pl.col("hromada_name"),
        )
        .with_columns(
            is_centre=pl.col("is_raion_centre")
            & (pl.col("hromada_name") == pl.col("centre_hromada"))
        )
    )
    found = df.group_by("oblast_code").agg(
        pl.col("is_centre").sum(), pl.col("centre_hromada").first()
    )
    missing = found.filter((pl.col("is_centre") != 1) & pl.col("centre_hromada").is_not_null())
    if missing.height:
        raise SystemExit(f"regional centre not found uniquely: {missing.rows()}")

    df = df.with_columns(_single=pl.len().over("oblast_code") == 1)
    single = pl.col("_single")
    df = df.with_columns(
        _remainder=pl.col("total") - pl.col("centre_pop").fill_null(0),
        _weight=pl.when(pl.col("is_centre") | single)
        .then(0)
        .when(pl.col("is_raion_centre"))
        .then(_RAION_CENTRE_WEIGHT)
        .otherwise(1),
    )
    rest = _largest_remainder(
        df.filter(pl.col("_weight") > 0), "_remainder", "_weight", "oblast_code"
    )
    df = pl.concat(
        [
            df.filter(pl.col("_weight") > 0).with_columns(population=rest),
            df.filter(pl.col("_weight") == 0).with_columns(
                population=pl.when(single).then(pl.col("total")).otherwise(pl.col("centre_pop"))
            ),
        ]
    )
    return df.select(COLUMNS).sort("oblast_code", "raion_code", "hromada_code")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    territories = build_territories(args.source, args.out / "oblast_population.csv")
    args.out.mkdir(parents=True, exist_ok=True)
    territories.write_csv(args.out / "territories.csv")
    print(f"wrote {args.out / 'territories.csv'}: {territories.height} rows")


if __name__ == "__main__":
    main()
