"""Find the table files of an extract and read each one into a frame of raw values.

CSV is decoded once (UTF-8, UTF-8 with BOM, UTF-16 with BOM as Excel's "Unicode text", or CP1251),
its separator is detected on the header line, and every column is read as a string. Parquet keeps its
own types and XLSX is read as strings; typing happens later, in `_normalise`.

Every frame gets `source_line` (Int64): the 1-based line of the row in its file with the header as
line 1. For CSV that is the row index + 2, corrected for quoted fields that span several lines (the
embedded newlines of earlier rows are added back). For XLSX it is the sheet row. Parquet has no lines:
row index + 2 is used so that the same data yields the same line numbers whatever the format.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from engine.errors import InputFileError
from engine.schemas import REGISTRY_TABLES

__all__ = ["RawTable", "read_tables"]

SOURCE_LINE = "source_line"
_CSV_SUFFIXES = (".csv", ".tsv", ".txt")
_TABLE_SUFFIXES = (*_CSV_SUFFIXES, ".parquet", ".xlsx")
_SEPARATORS = (";", ",", "\t", "|")
_SNIFF_CHARS = 64 * 1024


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
    missing = [name for name in REGISTRY_TABLES if name not in files]
    if missing and len(missing) == len(REGISTRY_TABLES):
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
        if name not in REGISTRY_TABLES or suffix not in _TABLE_SUFFIXES or not file.is_file():
            continue
        if name in found:
            raise InputFileError(
                f"two files for table '{name}' ({found[name].name}, {file.name}); keep one",
                path=folder,
            )
        found[name] = file
    return found


def _read_file(name: str, file: Path) -> RawTable:
    suffix = file.suffix.lower()
    if suffix == ".parquet":
        return RawTable(name, str(file), _read_parquet(file), "parquet")
    if suffix == ".xlsx":
        return RawTable(name, str(file), _read_sheet(file, sheet=None), "xlsx")
    return RawTable(name, str(file), _read_csv(file), "csv")


# --- CSV -------------------------------------------------------------------------------------


def _read_csv(file: Path) -> pl.DataFrame:
    data = file.read_bytes()
    text_bytes = _decode_to_utf8(data, file)
    if not text_bytes.strip():
        raise InputFileError("file is empty", path=file)
    head = text_bytes[:_SNIFF_CHARS].decode("utf-8", errors="ignore")
    separator = _detect_separator(head)
    _check_header(next(csv.reader(io.StringIO(head), delimiter=separator)), file)
    try:
        frame = pl.read_csv(
            text_bytes,
            separator=separator,
            infer_schema=False,
            has_header=True,
            quote_char='"',
            empty_string_is_null=True,
        )
    except pl.exceptions.PolarsError as exc:
        raise _csv_structure_error(file, text_bytes, separator, exc) from None
    frame = _clean_header(frame, file)
    newlines = text_bytes.count(b"\n") + (0 if text_bytes.endswith(b"\n") else 1)
    return _with_source_line(frame, embedded_newlines=newlines != frame.height + 1)


def _decode_to_utf8(data: bytes, file: Path) -> bytes:
    """Decode once and hand polars UTF-8 bytes; name the line and byte of anything undecodable."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        _strict_decode(data, "utf-8", file)
        return data
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _strict_decode(data, "utf-16", file).encode("utf-8")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputFileError(
            f"byte {nul} is NUL: not a text file (or UTF-16 without a byte-order mark)",
            path=file,
            line=data.count(b"\n", 0, nul) + 1,
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if _mostly_utf8(data):  # a UTF-8 file with a corrupt byte, not CP1251
            raise _undecodable(file, data, exc.start, "utf-8") from None
        return _strict_decode(data, "cp1251", file).encode("utf-8")
    return data


def _mostly_utf8(data: bytes) -> bool:
    """True when most non-ASCII bytes form UTF-8 sequences (lead byte + continuation byte).

    In UTF-8 Ukrainian nearly every non-ASCII byte does; in CP1251 only the rare pairs where a
    capital letter meets і, ї, є or ґ do.
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    high = int(np.count_nonzero(raw >= 0x80))
    lead = (raw[:-1] >= 0xC2) & (raw[:-1] <= 0xF4)
    continuation = (raw[1:] >= 0x80) & (raw[1:] <= 0xBF)
    return high > 0 and 2 * int(np.count_nonzero(lead & continuation)) > high // 2


def _strict_decode(data: bytes, encoding: str, file: Path) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise _undecodable(file, data, exc.start, encoding) from None


def _undecodable(file: Path, data: bytes, position: int, encoding: str) -> InputFileError:
    line = data.count(b"\n", 0, position) + 1
    return InputFileError(
        f"undecodable byte 0x{data[position]:02x} at byte offset {position} "
        f"(read as {encoding}; expected UTF-8, UTF-8 with BOM or CP1251)",
        path=file,
        line=line,
    )


def _detect_separator(head: str) -> str:
    """The separator is the candidate found most often on the header line (names hold none)."""
    header = head.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in _SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else ","


def _csv_structure_error(file: Path, data: bytes, separator: str, exc: Exception) -> InputFileError:
    """Locate the first ragged record; this runs only on the error path, so a Python scan is fine."""
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=separator)
    width = None
    for record in reader:
        if width is None:
            width = len(record)
        elif len(record) > width:
            return InputFileError(
                f"row has {len(record)} fields but the header has {width}",
                path=file,
                line=reader.line_num,
            )
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputFileError(f"cannot parse CSV: {first}", path=file)


# --- Parquet and XLSX ----------------------------------------------------------------------------


def _read_parquet(file: Path) -> pl.DataFrame:
    if file.stat().st_size == 0:
        raise InputFileError("file is empty", path=file)
    try:
        frame = pl.read_parquet(file)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputFileError(f"unreadable Parquet file: {_first_line(exc)}", path=file) from None
    return _with_source_line(_clean_header(frame, file), embedded_newlines=False)


def _read_workbook(file: Path) -> dict[str, RawTable]:
    try:
        import fastexcel

        sheets = {name.strip().lower(): name for name in fastexcel.read_excel(file).sheet_names}
    except (
        Exception
    ) as exc:  # fastexcel raises its own hierarchy; any failure is an unreadable file
        raise InputFileError(f"unreadable XLSX workbook: {_first_line(exc)}", path=file) from None
    missing = [name for name in REGISTRY_TABLES if name not in sheets]
    if missing:
        raise InputFileError(f"workbook has no sheet '{missing[0]}'", path=file)
    return {
        name: RawTable(name, f"{file}[{sheets[name]}]", _read_sheet(file, sheets[name]), "xlsx")
        for name in REGISTRY_TABLES
    }


def _read_sheet(file: Path, sheet: str | None) -> pl.DataFrame:
    where = f"{file}[{sheet}]" if sheet else file
    if file.stat().st_size == 0:
        raise InputFileError("file is empty", path=where)
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
    return _with_source_line(_clean_header(frame, where), embedded_newlines=False)


# --- shared ------------------------------------------------------------------------------------


def _check_header(header: list[str], file: str | Path) -> list[str]:
    names = [name.replace("\ufeff", "").strip().lower() for name in header]
    seen: set[str] = set()
    for name in names:
        if name in seen and name:
            raise InputFileError("duplicate column in header", path=file, column=name, line=1)
        seen.add(name)
    if SOURCE_LINE in seen:
        raise InputFileError("reserved column name in header", path=file, column=SOURCE_LINE)
    return names


def _clean_header(frame: pl.DataFrame, file: str | Path) -> pl.DataFrame:
    names = _check_header(frame.columns, file)
    frame = frame.rename(dict(zip(frame.columns, names, strict=True)))
    # a trailing separator yields an unnamed, empty column: drop it silently
    return frame.drop([n for n in frame.columns if not n and frame[n].null_count() == frame.height])


def _with_source_line(frame: pl.DataFrame, *, embedded_newlines: bool) -> pl.DataFrame:
    line = pl.int_range(pl.len(), dtype=pl.Int64) + 2
    if embedded_newlines:
        # a quoted field spanning k lines pushes every later row down by k
        text_cols = [c for c, t in frame.schema.items() if t == pl.String]
        per_row = pl.sum_horizontal(
            pl.col(c).str.count_matches("\n").fill_null(0).cast(pl.Int64) for c in text_cols
        )
        line = line + per_row.cum_sum().shift(1, fill_value=0)
    frame = frame.with_columns(line.alias(SOURCE_LINE))
    # blank lines (a CSV blank line, an empty sheet row) are not records
    data_cols = [c for c in frame.columns if c != SOURCE_LINE]
    if not data_cols:
        return frame
    return frame.filter(~pl.all_horizontal(pl.col(data_cols).is_null()))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
