"""Find the table files of an extract and read each one into a frame of raw values.

CSV is decoded once (`_encoding`: UTF-8, UTF-8 with BOM, UTF-16 with BOM as Excel's "Unicode text",
CP1251 or KOI8-U), its line ends may be LF, CRLF or CR, its separator is detected on the header line,
its record structure is found on the bytes (`_csv`), and every column is read as a string. Parquet
keeps its own types and XLSX is read as strings; typing happens later, in `_normalise`.

Every frame gets `source_line` (Int64): the 1-based line of the row in its file with the header as
line 1. For CSV that is the line the record starts on (quoted fields may span lines). For XLSX it is
the sheet row. Parquet has no lines: row index + 2 is used so that the same data yields the same
line numbers whatever the format.

Every record is kept. A blank record (a blank or whitespace-only line, a line of separators, an
empty sheet row) is not a row: it is marked `BLANK_LINE` in `source_problem` and `_normalise`
reports it as a warning; a malformed record carries its reason there and is quarantined.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from engine.errors import InputFileError
from engine.registry._contract import REGISTRY_TABLE_NAMES
from engine.registry._csv import BLANK_LINE, PLACEHOLDER, structure
from engine.registry._encoding import decode_to_utf8

__all__ = [
    "BLANK_LINE",
    "SOURCE_LINE",
    "SOURCE_PROBLEM",
    "RawTable",
    "read_table_file",
    "read_tables",
]

SOURCE_LINE = "source_line"
# Present only when some record has a problem of structure: per row null, BLANK_LINE, or why the
# row is malformed (see `_csv`).
SOURCE_PROBLEM = "source_problem"
_RESERVED = (SOURCE_LINE, SOURCE_PROBLEM)
_CSV_SUFFIXES = (".csv", ".tsv", ".txt")
_TABLE_SUFFIXES = (*_CSV_SUFFIXES, ".parquet", ".xlsx")
_SEPARATORS = (";", ",", "\t", "|")
_SNIFF_CHARS = 64 * 1024
_ZIP_MAGIC = b"PK"  # an .xlsx workbook is a ZIP archive (its damage is for calamine to name)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # an Excel 97-2003 .xls workbook


@dataclass(frozen=True)
class RawTable:
    """One table as read: raw values (strings for CSV/XLSX) plus `source_line`."""

    name: str
    source_file: str
    frame: pl.DataFrame
    kind: str  # "csv", "parquet" or "xlsx"


def read_tables(path: Path) -> dict[str, RawTable]:
    """Read every registry table of the extract at `path` (a folder, or one .xlsx workbook)."""
    path = Path(path)
    if not path.exists():
        raise InputFileError("extract not found", path=path)
    if path.is_file():
        if path.suffix.lower() != ".xlsx":
            raise InputFileError(
                "an extract is a folder of table files or one .xlsx workbook", path=path
            )
        return _read_workbook(path)
    files = _table_files(path)
    missing = [name for name in REGISTRY_TABLE_NAMES if name not in files]
    if missing and len(missing) == len(REGISTRY_TABLE_NAMES):
        workbooks = sorted(p for p in path.iterdir() if p.suffix.lower() == ".xlsx")
        if len(workbooks) == 1:
            return _read_workbook(workbooks[0])
    if missing:
        wanted = "|".join(s.lstrip(".") for s in _TABLE_SUFFIXES)
        raise InputFileError(f"missing table file {missing[0]}.{{{wanted}}}", path=path)
    return {name: _read_file(name, file) for name, file in files.items()}


def _table_files(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for file in sorted(folder.iterdir()):
        name, suffix = file.stem.lower(), file.suffix.lower()
        if name not in REGISTRY_TABLE_NAMES or suffix not in _TABLE_SUFFIXES or not file.is_file():
            continue
        if name in found:
            raise InputFileError(
                f"two files for table '{name}' ({found[name].name}, {file.name}); keep one",
                path=folder,
            )
        found[name] = file
    return found


def read_table_file(name: str, file: Path) -> RawTable:
    """One table file (CSV, Parquet or one-sheet XLSX) read as raw values, as an extract's are."""
    return _read_file(name, file)


def _read_file(name: str, file: Path) -> RawTable:
    suffix = file.suffix.lower()
    if suffix == ".parquet":
        return RawTable(name, str(file), _read_parquet(file), "parquet")
    if suffix == ".xlsx":
        return RawTable(name, str(file), _read_sheet(file, sheet=None), "xlsx")
    return RawTable(name, str(file), _read_csv(file), "csv")


# --- CSV -------------------------------------------------------------------------------------


def _read_csv(file: Path) -> pl.DataFrame:
    text_bytes = decode_to_utf8(file.read_bytes(), file)
    if not text_bytes or text_bytes.isspace():  # no copy of the file, unlike strip()
        raise InputFileError("file is empty", path=file)
    if b"\n" not in text_bytes and b"\r" in text_bytes:  # classic Mac line ends: CR only
        text_bytes = text_bytes.replace(b"\r", b"\n")
    head = text_bytes[:_SNIFF_CHARS].decode("utf-8", errors="ignore")
    separator = _detect_separator(head)
    try:
        header = next(csv.reader(io.StringIO(head, newline=""), delimiter=separator))
    except csv.Error as exc:
        raise InputFileError(f"unreadable header: {exc}", path=file, line=1) from None
    _check_header(header, file)
    layout = structure(text_bytes, separator, str(file))
    try:
        frame = pl.read_csv(
            layout.data,
            separator=separator,
            infer_schema=False,
            has_header=True,
            quote_char='"' if layout.quoted else None,
            empty_string_is_null=True,
            truncate_ragged_lines=True,  # a ragged row is quarantined by its problem, not fatal
        )
    except pl.exceptions.PolarsError as exc:
        raise InputFileError(f"cannot parse CSV: {_first_line(exc)}", path=file) from None
    if frame.height != layout.lines.size:  # our record structure and polars' must agree
        raise InputFileError(
            f"cannot parse CSV: {frame.height} rows parsed, {layout.lines.size} records found",
            path=file,
        )
    frame = _clean_header(frame, file)
    if layout.stray_quotes:
        frame = frame.with_columns(
            pl.col(pl.String).str.replace_all(PLACEHOLDER, '"', literal=True)
        )
    frame = frame.with_columns(pl.Series(SOURCE_LINE, layout.lines, dtype=pl.Int64))
    if layout.problems is None:
        return frame
    return frame.with_columns(layout.problems.alias(SOURCE_PROBLEM))


def _detect_separator(head: str) -> str:
    """The separator is the candidate found most often on the header line (names hold none)."""
    header = head.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in _SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else ","


# --- Parquet and XLSX ----------------------------------------------------------------------------


def _read_parquet(file: Path) -> pl.DataFrame:
    if file.stat().st_size == 0:
        raise InputFileError("file is empty", path=file)
    try:
        frame = pl.read_parquet(file)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputFileError(f"unreadable Parquet file: {_first_line(exc)}", path=file) from None
    return _with_source_line(_clean_header(frame, file))


def _read_workbook(file: Path) -> dict[str, RawTable]:
    _check_workbook(file, file)
    try:
        import fastexcel

        sheets = {name.strip().lower(): name for name in fastexcel.read_excel(file).sheet_names}
    except (
        Exception
    ) as exc:  # fastexcel raises its own hierarchy; any failure is an unreadable file
        raise InputFileError(f"unreadable XLSX workbook: {_first_line(exc)}", path=file) from None
    missing = [name for name in REGISTRY_TABLE_NAMES if name not in sheets]
    if missing:
        raise InputFileError(f"workbook has no sheet '{missing[0]}'", path=file)
    return {
        name: RawTable(name, f"{file}[{sheets[name]}]", _read_sheet(file, sheets[name]), "xlsx")
        for name in REGISTRY_TABLE_NAMES
    }


def _read_sheet(file: Path, sheet: str | None) -> pl.DataFrame:
    where = f"{file}[{sheet}]" if sheet else file
    if file.stat().st_size == 0:
        raise InputFileError("file is empty", path=where)
    _check_workbook(file, where)
    try:
        frame = pl.read_excel(
            file,
            sheet_name=sheet,
            engine="calamine",
            infer_schema_length=0,  # every cell as text; typing is ours
            drop_empty_rows=False,  # keep row positions so the sheet row number is exact
            raise_if_empty=False,
        )
    except (
        Exception
    ) as exc:  # fastexcel raises its own hierarchy; any failure is an unreadable file
        raise InputFileError(f"unreadable XLSX: {_first_line(exc)}", path=where) from None
    if frame.width == 0:
        raise InputFileError("sheet is empty", path=where)
    return _with_source_line(_clean_header(frame, where))


def _check_workbook(file: Path, where: str | Path) -> None:
    """Say what a file named .xlsx really is, rather than pass on the ZIP reader's complaint."""
    with file.open("rb") as handle:
        start = handle.read(4096)
    if start.startswith(_ZIP_MAGIC):
        return
    if start.startswith(_OLE_MAGIC):
        what = "an old Excel 97-2003 .xls workbook; save it as .xlsx (or export it to .csv)"
    elif b"\x00" not in start and _is_text(start):
        what = "it looks like a text/CSV file; rename it to .csv"
    else:
        what = "not a ZIP archive as every .xlsx is; export the table again"
    raise InputFileError(f"not an Excel workbook ({what})", path=where)


def _is_text(start: bytes) -> bool:
    printable = sum(b >= 0x20 or b in (0x09, 0x0A, 0x0D) for b in start)
    return printable >= 0.95 * len(start)


# --- shared ------------------------------------------------------------------------------------


def _check_header(header: list[str], file: str | Path) -> list[str]:
    names = [name.replace("\ufeff", "").strip().lower() for name in header]
    seen: set[str] = set()
    for name in names:
        if name in seen and name:
            raise InputFileError("duplicate column in header", path=file, column=name, line=1)
        seen.add(name)
    for reserved in _RESERVED:
        if reserved in seen:
            raise InputFileError("reserved column name in header", path=file, column=reserved)
    return names


def _clean_header(frame: pl.DataFrame, file: str | Path) -> pl.DataFrame:
    names = _check_header(frame.columns, file)
    frame = frame.rename(dict(zip(frame.columns, names, strict=True)))
    # a trailing separator yields an unnamed, empty column: drop it silently
    return frame.drop([n for n in frame.columns if not n and frame[n].null_count() == frame.height])


def _with_source_line(frame: pl.DataFrame) -> pl.DataFrame:
    """Row index + 2 as the line; a row with no value (an empty sheet row) is marked blank."""
    frame = frame.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + 2).alias(SOURCE_LINE))
    data_cols = [c for c in frame.columns if c != SOURCE_LINE]
    if not data_cols:
        return frame
    blank = pl.all_horizontal(_empty(c, frame.schema[c]) for c in data_cols)
    if not frame.select(blank.any()).item():
        return frame
    return frame.with_columns(pl.when(blank).then(pl.lit(BLANK_LINE)).alias(SOURCE_PROBLEM))


def _empty(column: str, dtype: pl.DataType) -> pl.Expr:
    """A cell with nothing in it: null, or text of white space only. A number, date or boolean
    holds something whenever it is not null, so it is not cast to text (a full pass per column)."""
    if dtype.is_numeric() or dtype.is_temporal() or dtype == pl.Boolean:
        return pl.col(column).is_null()
    return pl.col(column).cast(pl.String).str.strip_chars().fill_null("") == ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
