"""Fuzzing `mfr validate` with mutated extracts: never a crash, every record accounted for.

Each case is a small valid extract (`registry_kit`) broken in a few ways at random (fixed seed):
cell-level changes written by the kit (open-end sentinel dates, implausible and two-digit-year
dates, very long text) and byte-level ones on the written files (flipped bytes, deleted
separators, stray quotes, CR or CRLF line ends, bare CRs, blank, whitespace and separator-only
lines, duplicated, joined and truncated lines). Whatever the damage:

* the exit code is 0 or 3 (a one-line error naming a file of the extract), never 1, and no
  traceback reaches stderr;
* every record of every table is valid, quarantined or reported as a blank line, and the count of
  records agrees with Python's `csv` module unless the engine quarantined the table's malformed
  rows (a stray quote or bare CR, where CSV readers themselves disagree).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
import yaml
from registry_kit import EXTRACT_DATE, base_tables, set_cell, write_extract

from engine.cli import main
from engine.errors import ExitCode
from engine.schemas import REGISTRY_TABLES

SEED = 20261202
CASES = 60
SAMPLE_CASES = 40
SOURCE = "source_line"
BLANK_RULE = "blank_lines"  # the warning naming how many blank records a table had
MALFORMED_RULE = "malformed_row"  # the quarantine rule of a row whose structure is broken


@dataclass(frozen=True)
class Style:
    encoding: str
    separator: str


STYLES = (Style("utf-8", ","), Style("cp1251", ";"), Style("utf-8-sig", ";"))
END_DATES = {"cases": "end_date", "case_locations": "valid_to", "territory_status": "valid_to"}
START_DATES = {
    "recipients": "birth_date",
    "cases": "start_date",
    "case_locations": "valid_from",
}
ODD_DATES = ("9999-12-31", "9999-01-01", "2099-12-31", "31.12.9999")
BAD_DATES = ("01.01.1800", "01.01.0001", "0001-01-01", "1.1.24", "24-01-01", "1899-12-31")


# --- mutations ---------------------------------------------------------------------------------

Cells = dict[str, pl.DataFrame]
ByteMutation = Callable[[bytes, random.Random, bytes], bytes]


def _cell_mutation(tables: Cells, rng: random.Random) -> Cells:
    kind = rng.choice(("end", "start", "long"))
    if kind == "end":
        table = rng.choice(sorted(END_DATES))
        row = rng.randrange(tables[table].height)
        return set_cell(tables, table, row, END_DATES[table], rng.choice(ODD_DATES))
    if kind == "start":
        table = rng.choice(sorted(START_DATES))
        row = rng.randrange(tables[table].height)
        return set_cell(tables, table, row, START_DATES[table], rng.choice(BAD_DATES))
    row = rng.randrange(tables["providers"].height)
    return set_cell(tables, "providers", row, "name", "Центр " * rng.choice((1_000, 20_000)))


def _data_line_span(data: bytes, rng: random.Random) -> tuple[int, int] | None:
    """Start and end (exclusive, before its LF) of a random line after the header."""
    starts = [m.end() for m in re.finditer(b"\n", data) if m.end() < len(data)]
    if not starts:
        return None
    start = rng.choice(starts)
    end = data.find(b"\n", start)
    return start, len(data) if end < 0 else end


def _at_random_point(data: bytes, rng: random.Random, insert: bytes) -> bytes:
    span = _data_line_span(data, rng)
    if span is None:
        return data
    at = rng.randint(span[0], span[1])
    return data[:at] + insert + data[at:]


def _flip_byte(data: bytes, rng: random.Random, sep: bytes) -> bytes:
    at = rng.randrange(len(data))
    return data[:at] + bytes([rng.randrange(1, 256)]) + data[at + 1 :]


def _delete_separator(data: bytes, rng: random.Random, sep: bytes) -> bytes:
    span = _data_line_span(data, rng)
    if span is None:
        return data
    line = data[span[0] : span[1]]
    places = [i for i, b in enumerate(line) if b == sep[0]]
    if not places:
        return data
    at = span[0] + rng.choice(places)
    return data[:at] + data[at + 1 :]


def _stray_quote(data: bytes, rng: random.Random, sep: bytes) -> bytes:
    return _at_random_point(data, rng, b'"')


def _bare_cr(data: bytes, rng: random.Random, sep: bytes) -> bytes:
    span = _data_line_span(data, rng)
    if span is None or span[1] - span[0] < 2:
        return data
    at = rng.randint(span[0] + 1, span[1] - 1)  # inside the line, never next to its LF
    return data[:at] + b"\r" + data[at:]


def _cr_line_ends(data: bytes, rng: random.Random, sep: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r")


def _crlf_line_ends(data: bytes, rng: random.Random, sep: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _insert_line(content: bytes) -> ByteMutation:
    def mutate(data: bytes, rng: random.Random, sep: bytes) -> bytes:
        lines = data.split(b"\n")
        at = rng.randint(1, len(lines))
        filler = content.replace(b",", sep)
        return b"\n".join([*lines[:at], filler, *lines[at:]])

    return mutate


def _duplicate_line(data: bytes, rng: random.Random, sep: bytes) -> bytes:
    lines = data.split(b"\n")
    at = rng.randrange(1, len(lines)) if len(lines) > 1 else 0
    return b"\n".join([*lines[: at + 1], lines[at], *lines[at + 1 :]])


def _join_lines(data: bytes, rng: random.Random, sep: bytes) -> bytes:
    span = _data_line_span(data, rng)
    if span is None or span[1] >= len(data):
        return data
    return data[: span[1]] + data[span[1] + 1 :]


def _truncate(data: bytes, rng: random.Random, sep: bytes) -> bytes:
    header_end = data.find(b"\n")
    return data[: rng.randint(header_end + 1, len(data))] if header_end > 0 else data


def _long_field(data: bytes, rng: random.Random, sep: bytes) -> bytes:
    return _at_random_point(data, rng, b"x" * rng.choice((5_000, 100_000)))


BYTE_MUTATIONS: tuple[ByteMutation, ...] = (
    _flip_byte,
    _delete_separator,
    _stray_quote,
    _bare_cr,
    _cr_line_ends,
    _crlf_line_ends,
    _insert_line(b""),
    _insert_line(b"   "),
    _insert_line(b" \t "),
    _insert_line(b",,,,"),
    _duplicate_line,
    _join_lines,
    _truncate,
    _long_field,
)


def _mutant(folder: Path, rng: random.Random, tables: Cells | None, when: dt.date) -> Style:
    """Write a mutated copy of the kit extract (or of `tables`) into `folder`."""
    style = rng.choice(STYLES)
    cells = base_tables() if tables is None else tables
    for _ in range(rng.choice((0, 0, 1, 2))):
        cells = _cell_mutation(cells, rng)
    write_extract(
        folder, cells, encoding=style.encoding, separator=style.separator, extract_date=when
    )
    sep = style.separator.encode()
    for _ in range(rng.choice((1, 1, 2, 3))):
        file = folder / f"{rng.choice(sorted(REGISTRY_TABLES))}.csv"
        file.write_bytes(rng.choice(BYTE_MUTATIONS)(file.read_bytes(), rng, sep))
    return style


# --- the invariants ----------------------------------------------------------------------------


def _csv_records(file: Path, separator: str) -> int:
    """Records after the header as Python's csv module counts them ([] for a blank line too).

    Latin-1 maps every byte to one character, so the separators, quotes and line ends of any of the
    8-bit encodings and of UTF-8 sit where they are in the bytes.
    """
    text = file.read_bytes().decode("latin-1")
    previous = csv.field_size_limit(len(text) + 1)  # a mutant's long field exceeds the default
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
        return max(sum(1 for _ in reader) - 1, 0)
    finally:
        csv.field_size_limit(previous)


def _check_accounting(extract: Path, out: Path, style: Style) -> dict[str, int]:
    """Per table: records = valid + quarantined + blank; returns the malformed rows per table."""
    quarantine = pl.read_parquet(out / "quarantine.parquet")
    warnings = pl.read_parquet(out / "warnings.parquet")
    malformed: dict[str, int] = {}
    for table in REGISTRY_TABLES:
        valid = pl.read_parquet(out / f"{table}.parquet").height
        rejected = quarantine.filter(pl.col("table") == table)
        quarantined = rejected[SOURCE].n_unique()
        blanks = warnings.filter((pl.col("table") == table) & (pl.col("rule") == BLANK_RULE))
        blank = sum(int(v) for v in blanks["value"])
        lines = pl.concat(
            [rejected[SOURCE].unique(), pl.read_parquet(out / f"{table}.parquet")[SOURCE]]
        )
        assert lines.n_unique() == lines.len(), f"{table}: a line both valid and quarantined"
        assert lines.is_null().sum() == 0 and (lines >= 2).all(), f"{table}: a row without a line"
        malformed[table] = rejected.filter(pl.col("rule") == MALFORMED_RULE).height
        if malformed[table]:
            continue  # a stray quote or bare CR: CSV readers differ on what the records are
        records = _csv_records(extract / f"{table}.csv", style.separator)
        assert valid + quarantined + blank == records, (
            f"{table}: {records} records, {valid} valid + {quarantined} quarantined + {blank} blank"
        )
    return malformed


def _validate(extract: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["validate", str(extract), "--out", str(out), "--accept-quarantine"])
    return code, capsys.readouterr().err


def _campaign(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    cases: int,
    tables: Cells | None,
    when: dt.date = EXTRACT_DATE,
) -> dict[str, int]:
    rng = random.Random(SEED)
    outcomes = {"ok": 0, "refused": 0, "malformed": 0}
    for case in range(cases):
        extract, out = tmp_path / f"extract{case}", tmp_path / f"out{case}"
        style = _mutant(extract, rng, tables, when)
        code, err = _validate(extract, out, capsys)
        where = f"case {case}: {err.strip()}"
        assert code in (ExitCode.OK, ExitCode.BAD_INPUT_FILE), where
        assert "Traceback" not in err and "internal error" not in err, where
        if code == ExitCode.BAD_INPUT_FILE:
            # logged warnings may precede it; the error itself is one line naming the file
            errors = [line for line in err.splitlines() if line.startswith("error:")]
            assert len(errors) == 1 and str(extract) in errors[0], where
            outcomes["refused"] += 1
        else:
            malformed = _check_accounting(extract, out, style)
            outcomes["ok"] += 1
            outcomes["malformed"] += sum(malformed.values()) > 0
        shutil.rmtree(extract)
        shutil.rmtree(out, ignore_errors=True)
    return outcomes


def test_mutated_extracts_never_crash_and_every_record_is_accounted_for(tmp_path, capsys):
    outcomes = _campaign(tmp_path, capsys, CASES, tables=None)
    # the campaign is only worth its name if most damage is read and some is refused
    assert outcomes["ok"] >= CASES // 2, outcomes
    assert outcomes["malformed"] >= 3, outcomes
    assert outcomes["refused"] >= 1, outcomes


@pytest.mark.slow
def test_mutated_copies_of_the_sample_extract(tmp_path, capsys, sample_extract):
    tables = {
        name: pl.read_csv(
            sample_extract / f"{name}.csv",
            separator=";",
            infer_schema=False,
            encoding="cp1251",
        )
        for name in REGISTRY_TABLES
    }
    meta = yaml.safe_load((sample_extract / "extract.yaml").read_text(encoding="utf-8"))
    outcomes = _campaign(tmp_path, capsys, SAMPLE_CASES, tables, meta["extract_date"])
    assert outcomes["ok"] >= SAMPLE_CASES // 2, outcomes
