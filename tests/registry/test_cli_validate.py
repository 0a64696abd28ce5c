"""`mfr validate` end to end: exit codes, the printed summary, and what is written to --out."""

from __future__ import annotations

import polars as pl
from registry_kit import base_tables, set_cell

from engine.cli import main
from engine.errors import ExitCode

TABLE_FILES = {f"{t}.parquet" for t in base_tables()}


def test_clean_extract_exits_zero_and_writes_everything(extract, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["validate", str(extract()), "--out", str(out)]) == ExitCode.OK
    printed = capsys.readouterr().out
    assert "no row quarantined" in printed
    assert "recipients" in printed and "extract date 2024-03-31" in printed
    assert {p.name for p in out.iterdir()} == TABLE_FILES | {
        "quarantine.parquet",
        "warnings.parquet",
        ".mfr-output.json",  # the marker listing the files mfr wrote
    }
    assert pl.read_parquet(out / "cases.parquet").height == 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no staging left


def test_over_threshold_exits_with_its_code(extract, tmp_path, capsys):
    folder = extract(set_cell(base_tables(), "recipients", 1, "sex", "X"))
    out = tmp_path / "out"
    assert main(["validate", str(folder), "--out", str(out)]) == ExitCode.QUARANTINE_OVER_THRESHOLD
    captured = capsys.readouterr()
    assert "invalid_value" in captured.out and "sex" in captured.out
    error = captured.err.strip().splitlines()
    assert len(error) == 1 and "above the threshold 1.00%" in error[0]
    assert "Traceback" not in captured.err
    # the quarantine is written for the operator to read; no table goes downstream
    assert {p.name for p in out.iterdir()} == {
        "quarantine.parquet",
        "warnings.parquet",
        ".mfr-output.json",
    }
    quarantine = pl.read_parquet(out / "quarantine.parquet")
    assert quarantine.select("table", "source_line", "rule", "column").row(0) == (
        "recipients",
        3,
        "invalid_value",
        "sex",
    )


def test_quarantine_accepted_or_within_threshold_exits_zero(extract, tmp_path):
    folder = extract(set_cell(base_tables(), "recipients", 1, "sex", "X"))
    out = tmp_path / "out"
    assert main(["validate", str(folder), "--out", str(out), "--accept-quarantine"]) == 0
    assert pl.read_parquet(out / "recipients.parquet")["recipient_id"].to_list() == ["R1", "R3"]
    assert main(["validate", str(folder), "--threshold", "0.5"]) == ExitCode.OK


def test_bad_file_exits_with_its_code_and_writes_nothing(extract, tmp_path, capsys):
    folder = extract()
    (folder / "cases.csv").write_bytes(b"")
    out = tmp_path / "out"
    assert main(["validate", str(folder), "--out", str(out)]) == ExitCode.BAD_INPUT_FILE
    err = capsys.readouterr().err
    assert err == f"error: {folder / 'cases.csv'}: file is empty\n"
    assert not out.exists()


def test_extract_date_option_overrides_the_extract(extract, capsys):
    folder = extract()  # extract.yaml says 2024-03-31; case C3 starts on 2024-01-10
    code = main(["validate", str(folder), "--extract-date", "2023-12-31"])
    assert code == ExitCode.QUARANTINE_OVER_THRESHOLD
    printed = capsys.readouterr().out
    assert "extract date 2023-12-31" in printed and "future_date" in printed


def test_bad_options_are_configuration_errors(extract, capsys):
    folder = extract()
    assert main(["validate", str(folder), "--extract-date", "31.12.2024"]) == ExitCode.BAD_CONFIG
    assert main(["validate", str(folder), "--threshold", "5"]) == ExitCode.BAD_CONFIG
    err = capsys.readouterr().err
    assert "--extract-date must be YYYY-MM-DD" in err and "--threshold" in err


def test_a_rerun_replaces_only_the_files_validate_wrote(extract, tmp_path):
    out, folder = tmp_path / "out", str(extract())
    out.mkdir()
    (out / "notes.parquet").write_bytes(b"the user's")
    # a folder mfr did not write is refused; with --overwrite the user's file stays
    assert main(["validate", folder, "--out", str(out)]) == ExitCode.BAD_CONFIG
    assert main(["validate", folder, "--out", str(out), "--overwrite"]) == ExitCode.OK
    assert main(["validate", folder, "--out", str(out)]) == ExitCode.OK
    assert (out / "notes.parquet").read_bytes() == b"the user's"
    assert (out / "quarantine.parquet").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extract0", "out"]
