"""The record structure of a CSV file, found with numpy over its bytes before polars parses it.

Every line after the header is a record unless a quoted field carries it over (RFC 4180). A record is
*malformed* when it has a stray quote (a quote that neither opens a field nor closes one, or one left
open), a bare carriage return (CR not followed by LF: other CSV readers end the row there), or a
number of fields other than the header's. A malformed record stays a row — its line is quarantined
with the reason (`malformed_row`) — so every line of the file is accounted for: rows read = valid
+ quarantined. Stray quotes are made literal (the NUL byte stands in for them while polars parses;
NUL never reaches here, `_encoding` refuses it) so one bad quote cannot swallow the lines after it.

The work is vectorised: positions of quotes, separators, LF and CR, matched with `searchsorted`.
Only lines with a stray quote cost a pass each over the quote positions, and there are few.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.errors import InputFileError

__all__ = ["BLANK_LINE", "PLACEHOLDER", "Structure", "structure"]

PLACEHOLDER = "\x00"  # stands in for a stray quote while polars parses; put back afterwards
BLANK_LINE = "blank line"
_QUOTE, _LF, _CR = 0x22, 0x0A, 0x0D
_NONE = np.zeros(0, dtype=np.int64)
_EMPTY = b" \t\r\n\x0b\x0c"
_EMPTY_TEXT = _EMPTY.decode()
_FINE, _STRAY_QUOTE, _BARE_CR, _RAGGED, _BLANK = 0, 1, 2, 3, 4
_REASONS = {
    _STRAY_QUOTE: "a stray quote (a quote must open or close a field)",
    _BARE_CR: "a bare carriage return (CR) inside the row; other CSV readers split it there",
}
_MAX_STRAY_QUOTE_LINES = 200  # beyond that '"' is not this file's quote character


@dataclass(frozen=True)
class Structure:
    """What polars needs to parse the file, and per data record its line and any fault."""

    data: bytes  # stray quotes replaced by PLACEHOLDER
    quoted: bool  # the file has quoted fields: parse with '"' as the quote character
    stray_quotes: bool  # PLACEHOLDER bytes must be turned back into quotes
    lines: np.ndarray  # 1-based line of each data record (header = line 1)
    problems: pl.Series | None  # per data record: BLANK_LINE, why it is malformed, or null


def structure(data: bytes, separator: str, file: str) -> Structure:
    """The records of `data` (LF or CRLF line ends) with separator `separator`.

    A file without a quote character (most extracts) has one record per line: polars splits it
    into lines and counts each line's fields in one parallel pass (`_unquoted`). Otherwise the
    quotes are resolved on the bytes (`_quoted`)."""
    if data.find(b'"') < 0:
        return _unquoted(data, separator)
    return _quoted(data, separator, file)


def _unquoted(data: bytes, separator: str) -> Structure:
    """Every line is a record: fields, blank lines and bare CRs found by polars on the lines.

    NUL never reaches here (`_encoding` refuses it), so as the separator it keeps a line whole;
    polars drops the CR of a CRLF line end, so a CR left inside a line is a bare one."""
    line = pl.col("line")
    stats = (
        pl.read_csv(
            data,
            has_header=False,
            separator="\x00",
            quote_char=None,
            infer_schema=False,
            new_columns=["line"],
        )
        .lazy()
        .select(
            fields=(line.str.count_matches(separator, literal=True).fill_null(0) + 1),
            bare_cr=line.str.contains("\r", literal=True).fill_null(False),
            blank=line.is_null() | (line.str.strip_chars(_EMPTY_TEXT + separator) == ""),
        )
        .collect()
    )
    fields = stats["fields"].cast(pl.Int64).to_numpy()
    code = np.where(fields != fields[0], _RAGGED, _FINE).astype(np.int8)
    code[stats["bare_cr"].to_numpy()] = _BARE_CR
    if data.endswith(b"\r"):  # polars drops a CR that ends the file, as if a CRLF's
        code[-1] = _BARE_CR
    blank = stats["blank"].to_numpy().copy()
    blank[0] = False  # the header is judged by its own checks
    code[blank] = _BLANK
    return Structure(
        data=data,
        quoted=False,
        stray_quotes=False,
        lines=np.arange(2, fields.size + 1, dtype=np.int64),
        problems=_problems(code[1:], fields[1:], int(fields[0])),
    )


def _quoted(data: bytes, separator: str, file: str) -> Structure:
    """The records of a file with quote characters, found on its bytes."""
    raw = np.frombuffer(data, dtype=np.uint8)
    sep = ord(separator)
    # bytes.find is a memchr: a file without quotes or CRs skips their passes
    quotes = np.flatnonzero(raw == _QUOTE) if data.find(b'"') >= 0 else _NONE
    active, stray_lines = _resolve_quotes(raw, quotes, sep, file)
    newlines = np.flatnonzero(raw == _LF)
    ends = newlines[_outside(active, newlines)]  # LFs that end a record
    ends_at_eof = bool(ends.size) and ends[-1] == raw.size - 1
    # without a final line end, the last record runs to the end of the file
    last_end = ends if ends_at_eof else np.append(ends, raw.size)
    starts = np.concatenate([[0], last_end[:-1] + 1])
    # 0-based line of each record's start (without quoted fields every line is a record)
    start_lines = np.searchsorted(newlines, starts) if active.size else np.arange(starts.size)
    seps = np.flatnonzero(raw == sep)
    seps = seps[_outside(active, seps)]
    fields = np.diff(np.searchsorted(seps, last_end), prepend=0) + 1
    code = np.where(fields != fields[0], _RAGGED, _FINE).astype(np.int8)
    if data.find(b"\r") >= 0:
        crs = np.flatnonzero(raw == _CR)
        bare = crs[(crs + 1 >= raw.size) | (raw[np.minimum(crs + 1, raw.size - 1)] != _LF)]
        code[np.searchsorted(last_end, bare)] = _BARE_CR
    code[np.searchsorted(start_lines, stray_lines, side="right") - 1] = _STRAY_QUOTE
    if code[0] == _STRAY_QUOTE:
        raise InputFileError("stray quote in the header", path=file, line=1)
    # a blank record holds nothing but separators and white space; few records are that short
    length = last_end - starts
    short = np.flatnonzero(length <= 2 * fields[0] + 8)
    blank = [
        int(i)
        for i in short[short > 0]
        if not data[starts[i] : last_end[i]].strip(_EMPTY + separator.encode())
    ]
    code[blank] = _BLANK
    stray = np.setdiff1d(quotes, active, assume_unique=True)
    if stray.size:
        buffer = raw.copy()
        buffer[stray] = 0
        data = buffer.tobytes()
    return Structure(
        data=data,
        quoted=active.size > 0,
        stray_quotes=stray.size > 0,
        lines=start_lines[1:].astype(np.int64) + 1,
        problems=_problems(code[1:], fields[1:], int(fields[0])),
    )


def _problems(code: np.ndarray, fields: np.ndarray, width: int) -> pl.Series | None:
    """Per data record the reason it is blank or malformed (null if neither); None if none is."""
    faulty = np.flatnonzero(code != _FINE)
    if faulty.size == 0:
        return None
    reasons = [
        BLANK_LINE
        if c == _BLANK
        else _REASONS[c]
        if c != _RAGGED
        else f"row has {n} fields but the header has {width}"
        for c, n in zip(code[faulty].tolist(), fields[faulty].tolist(), strict=True)
    ]
    problems = pl.Series("problem", [None] * code.size, dtype=pl.String)
    return problems.scatter(faulty, pl.Series(reasons, dtype=pl.String))


def _outside(active: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Mask of `positions` outside quoted fields: an even number of active quotes before them."""
    if active.size == 0:
        return np.ones(positions.size, dtype=bool)
    return np.searchsorted(active, positions) % 2 == 0


def _resolve_quotes(
    raw: np.ndarray, quotes: np.ndarray, separator: int, file: str
) -> tuple[np.ndarray, np.ndarray]:
    """The quotes that open, close or escape (`""`) a quoted field, and the lines of stray ones.

    Quotes alternate open / close. An opening quote follows a separator, a line end, the start of
    the file or (an escaped `""`) the closing quote just before it; a closing quote precedes a
    separator, a line end, the end of the file or the opening quote just after it. The first quote
    breaking that makes every quote of its line literal, and the rest is looked at again.
    """
    newlines = np.flatnonzero(raw == _LF)
    active = quotes
    stray_lines: list[int] = []
    boundary = np.array([separator, _LF, _CR], dtype=np.uint8)
    while active.size:
        k = np.arange(active.size)
        before = raw[np.maximum(active - 1, 0)]
        after = raw[np.minimum(active + 1, raw.size - 1)]
        prev_quote = np.concatenate([[-2], active[:-1]])
        next_quote = np.concatenate([active[1:], [-2]])
        opens_ok = (active == 0) | np.isin(before, boundary) | (prev_quote == active - 1)
        closes_ok = (active == raw.size - 1) | np.isin(after, boundary) | (next_quote == active + 1)
        ok = np.where(k % 2 == 0, opens_ok, closes_ok)
        if active.size % 2:  # a quote left open at the end of the file
            ok[-1] = False
        bad = np.flatnonzero(~ok)
        if bad.size == 0:
            break
        line = int(np.searchsorted(newlines, active[bad[0]]))
        if len(stray_lines) >= _MAX_STRAY_QUOTE_LINES:
            raise InputFileError(
                f"more than {_MAX_STRAY_QUOTE_LINES} lines with a stray quote (the first at line "
                f"{stray_lines[0] + 1}): the file's fields are not quoted with '\"'",
                path=file,
            )
        stray_lines.append(line)
        start = newlines[line - 1] + 1 if line > 0 else 0
        end = newlines[line] if line < newlines.size else raw.size
        active = active[(active < start) | (active >= end)]
    return active, np.array(sorted(set(stray_lines)), dtype=np.int64)
