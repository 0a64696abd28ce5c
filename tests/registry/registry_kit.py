"""A small valid extract, written in any format, encoding or style, for the registry tests.

`base_tables()` is the valid extract as typed frames; tests break one cell or add one row, write it
with `write_extract` and read it back with `read`. Row i of a table sits on source line i + 2.
The territories and services catalogue are small hand-made frames (real KATOTTG codes), so these
tests need nothing but themselves.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl

from engine.registry import read_registry
from engine.schemas import Registry

D = dt.date
EXTRACT_DATE = D(2024, 3, 31)
BILA_TSERKVA = "UA32020010000093088"
VOLODARKA = "UA32020030000029575"
NOVOBORIVKA = "UA18040330000027310"
BIBRKA = "UA46060010000049728"
KYIV = "UA80000000000093317"  # a city that is its own single hromada-level unit

TERRITORIES = pl.DataFrame(
    {
        "oblast_code": ["UA32000000000030281"] * 2
        + ["UA18000000000041385", "UA46000000000026241", KYIV],
        "raion_code": ["UA32020000000057002"] * 2
        + ["UA18040000000058965", "UA46060000000042587", KYIV],
        "hromada_code": [BILA_TSERKVA, VOLODARKA, NOVOBORIVKA, BIBRKA, KYIV],
    }
)
# four services of the bundled catalogue, one per unit
CATALOGUE = pl.DataFrame(
    {
        "service_code": ["015.1", "017.2", "002.0", "006.0"],
        "name_uk": [
            "Догляд вдома",
            "Стаціонарний догляд осіб з інвалідністю",
            "Консультування",
            "Соціальний супровід",
        ],
        "name_en": [
            "Home care",
            "Stationary care for persons with disabilities",
            "Counselling",
            "Social accompaniment",
        ],
        "unit": ["hour", "day", "visit", "month"],
        "group": ["care", "residential", "information_counselling", "accompaniment"],
    }
)


def base_tables() -> dict[str, pl.DataFrame]:
    """A valid extract: every rule passes, no location gaps."""
    return {
        "recipients": pl.DataFrame(
            {
                "recipient_id": ["R1", "R2", "R3"],
                "birth_date": [D(1950, 3, 1), D(1942, 11, 20), D(2015, 6, 30)],
                "sex": ["F", "M", "F"],
                "disability_group": ["none", "I", "child"],
                "is_idp": [False, True, False],
                "registered_hromada": [BILA_TSERKVA, NOVOBORIVKA, BIBRKA],
                "income_ratio": [1.5, 3.25, None],
            }
        ),
        "cases": pl.DataFrame(
            {
                "case_id": ["C1", "C2", "C3", "C4"],
                "recipient_id": ["R1", "R2", "R3", "R1"],
                "service_code": ["015.1", "017.2", "002.0", "006.0"],
                "need_level": [2, 3, 1, 1],
                "assessed_units": [40.5, None, 8.0, None],
                "start_date": [D(2023, 1, 1), D(2023, 6, 15), D(2024, 1, 10), D(2023, 3, 1)],
                "end_date": [None, D(2024, 2, 29), None, None],
                "status": ["served", "closed", "waiting", "served"],
            },
            schema_overrides={"end_date": pl.Date},
        ),
        "case_locations": pl.DataFrame(
            {
                "case_id": ["C1", "C1", "C2", "C3", "C4"],
                "hromada_code": [BILA_TSERKVA, KYIV, KYIV, BIBRKA, BILA_TSERKVA],
                "provider_id": ["P1", "P2", "P2", None, "P1"],
                "valid_from": [
                    D(2023, 1, 1),
                    D(2023, 8, 17),
                    D(2023, 6, 15),
                    D(2024, 1, 10),
                    D(2023, 3, 1),
                ],
                "valid_to": [D(2023, 8, 16), None, D(2024, 2, 29), None, None],
            },
            schema_overrides={"valid_to": pl.Date},
        ),
        "providers": pl.DataFrame(
            {
                "provider_id": ["P1", "P2"],
                "edrpou": ["12345678", "00123456"],
                "name": ["КУ «Центр надання соціальних послуг»", "ГО Турбота; Київ"],
                "ownership": ["communal", "nonstate"],
                "hromada_code": [BILA_TSERKVA, KYIV],
            }
        ),
        "services": CATALOGUE.head(4),
        "territory_status": pl.DataFrame(
            {
                "hromada_code": [NOVOBORIVKA, BIBRKA],
                "status": ["frontline", "mountain"],
                "valid_from": [D(2022, 2, 24), D(2020, 1, 1)],
                "valid_to": [D(2023, 12, 31), None],
            },
            schema_overrides={"valid_to": pl.Date},
        ),
    }


def set_cell(
    tables: dict[str, pl.DataFrame], table: str, row: int, column: str, value: Any
) -> dict:
    """A copy of `tables` with one cell replaced by raw text (the table becomes all-text)."""
    frame = tables[table].cast(pl.String)
    cells = frame[column].to_list()
    cells[row] = value
    return {**tables, table: frame.with_columns(pl.Series(column, cells, dtype=pl.String))}


def add_row(tables: dict[str, pl.DataFrame], table: str, **values: Any) -> dict:
    """A copy of `tables` with one more row (given as text) at the end of `table`."""
    frame = tables[table].cast(pl.String)
    row = pl.DataFrame({c: [values.get(c)] for c in frame.columns}, schema=frame.schema)
    return {**tables, table: pl.concat([frame, row])}


def write_extract(
    folder: Path,
    tables: dict[str, pl.DataFrame] | None = None,
    *,
    fmt: str = "csv",
    encoding: str = "utf-8",
    separator: str = ",",
    decimal_comma: bool = False,
    date_format: str = "%Y-%m-%d",
    extract_date: dt.date | None = EXTRACT_DATE,
) -> Path:
    """Write an extract folder (one file per table, or one workbook for fmt='workbook')."""
    tables = base_tables() if tables is None else tables
    folder.mkdir(parents=True, exist_ok=True)
    if extract_date is not None:
        (folder / "extract.yaml").write_text(f"extract_date: {extract_date.isoformat()}\n")
    if fmt == "workbook":
        import xlsxwriter

        with xlsxwriter.Workbook(folder / "registry.xlsx") as workbook:
            for name, frame in tables.items():
                frame.write_excel(workbook, worksheet=name, autofit=False)
        return folder
    for name, frame in tables.items():
        if fmt == "parquet":
            frame.write_parquet(folder / f"{name}.parquet")
        elif fmt == "xlsx":
            frame.write_excel(folder / f"{name}.xlsx", worksheet=name, autofit=False)
        else:
            text = frame.write_csv(
                separator=separator, date_format=date_format, decimal_comma=decimal_comma
            )
            (folder / f"{name}.csv").write_bytes(text.encode(encoding))
    return folder


def read(path: Path, **kwargs: Any) -> Registry:
    """`read_registry` with the test reference data."""
    return read_registry(path, territories=TERRITORIES, services_catalogue=CATALOGUE, **kwargs)


def only(registry: Registry, table: str | None = None) -> dict[str, Any]:
    """The single quarantine row (of `table`, when given); fails if there is not exactly one."""
    frame = registry.quarantine
    rows = (frame if table is None else frame.filter(pl.col("table") == table)).to_dicts()
    assert len(rows) == 1, registry.quarantine
    return rows[0]
