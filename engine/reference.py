"""Reference data bundled with the engine: KATOTTG territories with population, and the services catalogue.

Both tables live as CSV in `data_samples/reference/` (how they were built and from which sources is in
that folder's README). Loading is strict: a missing column or a wrong type is an `InputFileError`
naming the file and column.

>>> territories = load_territories()
>>> territories.filter(pl.col("oblast_name_en") == "Kyiv City")["hromada_code"].item()
'UA80000000000093317'
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from engine.errors import InputFileError

__all__ = [
    "REFERENCE_DIR",
    "SERVICES_SCHEMA",
    "TERRITORIES_SCHEMA",
    "load_services",
    "load_territories",
]

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "data_samples" / "reference"

TERRITORIES_SCHEMA: dict[str, pl.DataType] = {
    "oblast_code": pl.String(),
    "oblast_name": pl.String(),
    "oblast_name_en": pl.String(),
    "raion_code": pl.String(),
    "raion_name": pl.String(),
    "hromada_code": pl.String(),
    "hromada_name": pl.String(),
    "population": pl.Int64(),
}

SERVICES_SCHEMA: dict[str, pl.DataType] = {
    "service_code": pl.String(),
    "name_uk": pl.String(),
    "name_en": pl.String(),
    "unit": pl.String(),
    "group": pl.String(),
}


def _read_strict(path: Path, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    if not path.is_file():
        raise InputFileError("reference file not found", path=path)
    raw = pl.read_csv(path, infer_schema=False)
    missing = [c for c in schema if c not in raw.columns]
    if missing:
        raise InputFileError("required column missing", path=path, column=missing[0])
    out = raw.select(pl.col(c).str.strip_chars() for c in schema)
    for name, dtype in schema.items():
        if dtype == pl.String():
            continue
        cast = out[name].cast(dtype, strict=False)
        bad = cast.is_null() & out[name].is_not_null()
        if bad.any():
            line = int(bad.arg_true()[0]) + 2  # header is line 1
            raise InputFileError(
                f"value {out[name][line - 2]!r} is not {dtype}", path=path, column=name, line=line
            )
        out = out.with_columns(cast)
    return out


def load_territories(path: Path | None = None) -> pl.DataFrame:
    """KATOTTG hromadas with raion, oblast and population (one row per hromada).

    Columns: `oblast_code, oblast_name, oblast_name_en, raion_code, raion_name, hromada_code,
    hromada_name, population`. Kyiv and Sevastopol are single-unit regions (oblast = raion =
    hromada code).

    >>> territories = load_territories()
    >>> territories.height, territories["oblast_code"].n_unique()
    (1774, 27)
    """
    return _read_strict(path or REFERENCE_DIR / "territories.csv", TERRITORIES_SCHEMA)


def load_services(path: Path | None = None) -> pl.DataFrame:
    """The services catalogue: `service_code, name_uk, name_en, unit, group` (~27 services).

    >>> services = load_services()
    >>> services.filter(services["service_code"] == "015.1").row(0)
    ('015.1', 'Догляд вдома', 'Home care', 'hour', 'care')
    """
    return _read_strict(path or REFERENCE_DIR / "services.csv", SERVICES_SCHEMA)
