"""Write registry tables as an extract folder: one file per table plus `extract.yaml`.

Formats: Parquet, CSV (clean: UTF-8, `,`, ISO dates) and XLSX (one workbook per table). `messy=True`
writes CSV the way real extracts arrive from Excel: CP1251, `;` separators, decimal commas,
`dd.mm.yyyy` dates and CRLF line ends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from engine.errors import ConfigError

__all__ = ["EXTRACT_FORMATS", "format_csv_text", "write_csv_text", "write_extract"]

EXTRACT_FORMATS = ("parquet", "csv", "xlsx")
_XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header
_MESSY_ENCODING = "cp1251"


def format_csv_text(df: pl.DataFrame, *, messy: bool) -> pl.DataFrame:
    """Every column as the text a CSV file would hold (nulls stay null = empty field).

    Messy text uses `dd.mm.yyyy` dates and decimal commas; booleans are `true`/`false` in both.
    """
    exprs = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if dtype == pl.Date:
            col = col.dt.to_string("%d.%m.%Y" if messy else "%Y-%m-%d")
        elif dtype.is_float():
            col = col.cast(pl.String)
            if messy:
                col = col.str.replace(".", ",", literal=True)
        elif dtype == pl.Boolean:
            col = pl.when(col).then(pl.lit("true")).when(~col).then(pl.lit("false"))
        else:
            col = col.cast(pl.String)
        exprs.append(col.alias(name))
    return df.select(exprs)


def write_csv_text(df: pl.DataFrame, path: Path, *, messy: bool) -> None:
    """Write a frame (typed or already text) as clean UTF-8 CSV or messy CP1251 CSV."""
    text = format_csv_text(df, messy=messy).write_csv(
        separator=";" if messy else ",",
        line_terminator="\r\n" if messy else "\n",
        null_value="",
    )
    path.write_bytes(text.encode(_MESSY_ENCODING if messy else "utf-8"))


def _latest_date(tables: Mapping[str, pl.DataFrame]) -> dt.date:
    latest = [
        df[c].max()
        for df in tables.values()
        for c in ("start_date", "valid_from")
        if c in df.columns and df.schema[c] == pl.Date
    ]
    found = [d for d in latest if isinstance(d, dt.date)]
    if not found:
        raise ConfigError("extract_date not given and no start_date/valid_from column to infer it")
    return max(found)


def write_extract(
    tables: Mapping[str, pl.DataFrame],
    out_dir: str | Path,
    format: str = "parquet",
    *,
    messy: bool = False,
    extract_date: dt.date | None = None,
) -> list[Path]:
    """Write each table to `out_dir/<table>.<ext>` and `extract.yaml`; returns the paths written.

    `extract_date` defaults to the latest start/valid_from date in the tables.
    """
    if format not in EXTRACT_FORMATS:
        raise ConfigError(
            f"unknown extract format {format!r}; use one of {', '.join(EXTRACT_FORMATS)}"
        )
    if messy and format != "csv":
        raise ConfigError("messy output is CSV only (use --format csv)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, df in tables.items():
        path = out / f"{name}.{format}"
        if format == "parquet":
            df.write_parquet(path)
        elif format == "csv":
            write_csv_text(df, path, messy=messy)
        else:
            if df.height > _XLSX_MAX_ROWS:
                raise ConfigError(
                    f"table {name} has {df.height} rows, more than an Excel sheet holds; "
                    "use --format parquet or csv"
                )
            df.write_excel(path, worksheet=name, autofilter=False)
        written.append(path)
    when = extract_date or _latest_date(tables)
    meta = out / "extract.yaml"
    meta.write_text(
        "# Registry extract: the date it was taken (dates after it are errors).\n"
        f"extract_date: {when.isoformat()}\n",
        encoding="utf-8",
    )
    written.append(meta)
    return written
