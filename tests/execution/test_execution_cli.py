"""`mfr validate-totals` and `mfr generate --execution` end to end: bad inputs are quarantine
rows or one line and an exit code, never a traceback."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from execution_kit import BASELINE, EXECUTION, SAMPLE

from engine.cli import main
from engine.errors import ExitCode

HEADER = "Період;Код КАТОТТГ;КПКВК;Касові видатки, тис. грн;Кількість отримувачів;Кейс-місяці"


def _run(report: Path, *extra: str) -> list[str]:
    return [
        "validate-totals",
        str(report),
        "--extract",
        str(SAMPLE),
        "--model",
        str(BASELINE),
        *extra,
    ]


def _one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("error:", "internal error"))]
    assert len(errors) == 1 and errors[0].startswith("error: "), err
    assert "Traceback" not in err
    return errors[0]


def test_the_sample_shows_its_planted_gaps(tmp_path: Path, capsys, planted) -> None:
    out = tmp_path / "out"
    assert main(_run(EXECUTION, "--out", str(out))) == ExitCode.OK
    text = capsys.readouterr().out
    assert "1,729 rows read, 1,725 valid, 4 quarantined; amounts in thousand UAH (header)" in text
    for rule in ("unknown_code (2)", "outside_run (1)", "unparseable_value (1)"):
        assert f"quarantined {rule}" in text
    assert "Budget execution 2026 (2026-Q1..2026-Q3): paid" in text
    assert "cells beyond tolerance" in text
    price = next(g for g in planted["gaps"] if g["kind"] == "price")
    assert f"national UA Ukraine × {price['service_code']} 2026:" in text
    assert "mostly volume (timing: the year is within tolerance)" in text
    table = pl.read_parquet(out / "comparison.parquet")
    assert table["flagged"].any() and (out / "execution_quarantine.parquet").is_file()


def _report(tmp_path: Path, lines: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "execution.csv"
    path.write_bytes(("\r\n".join([header, *lines]) + "\r\n").encode("cp1251"))
    return path


GOOD = [f"I квартал 2026;UA05020030000031457;0813104.0{i};1,0;1;3" for i in (1, 3)]


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("I квартал 2026;UA05020030000031457;0819999.01;1,0;1;3", "unknown_code"),
        ("I квартал 2026;UA99000000000000000;0813104.03;1,0;1;3", "unknown_code"),
        ("I квартал 2027;UA05020030000031457;0813104.02;1,0;1;3", "outside_run"),
    ],
)
def test_a_bad_row_beyond_the_threshold_exits_4_after_naming_it(
    tmp_path: Path, capsys, line: str, shown: str
) -> None:
    report = _report(tmp_path, [*GOOD, line])
    assert main(_run(report)) == ExitCode.QUARANTINE_OVER_THRESHOLD
    captured = capsys.readouterr()
    assert f"quarantined {shown} (1), e.g. line 4" in captured.out
    assert "above the threshold" in _one_line_error(captured.err)
    assert main(_run(report, "--accept-quarantine")) == ExitCode.OK
    assert "accepted by the operator" in capsys.readouterr().out


def test_amounts_in_the_wrong_unit_exit_3_in_one_line(tmp_path: Path, capsys) -> None:
    # whole UAH under a header that says thousands
    table = pl.read_csv(EXECUTION, separator=";", encoding="cp1251", infer_schema=False)
    amount = "Касові видатки, тис. грн"
    table = table.head(1725).with_columns(
        pl.col(amount).str.replace(",", ".", literal=True).cast(pl.Float64).mul(1000).round(2)
        .cast(pl.String).str.replace(".", ",", literal=True)
    )  # fmt: skip
    path = tmp_path / "uah.csv"
    path.write_bytes(table.write_csv(separator=";").encode("cp1251"))
    assert main(_run(path)) == ExitCode.BAD_INPUT_FILE
    line = _one_line_error(capsys.readouterr().err)
    assert str(path) in line and "column 'paid'" in line and "look like UAH" in line


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("period;territory_code;paid\n2026-Q1;UA05020030000031457;1\n", "missing required column"),
        ("", "file is empty"),
        ("period;paid, млн грн\n2026-Q1;1\n", "unknown unit"),
    ],
)
def test_an_unusable_file_exits_3_in_one_line(
    tmp_path: Path, capsys, content: str, words: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    assert main(_run(path)) == ExitCode.BAD_INPUT_FILE
    assert words in _one_line_error(capsys.readouterr().err)


def test_a_missing_report_and_bad_options_are_one_line(tmp_path: Path, capsys) -> None:
    assert main(_run(tmp_path / "none.csv")) == ExitCode.BAD_INPUT_FILE
    assert "budget-execution report not found" in _one_line_error(capsys.readouterr().err)
    assert main(_run(EXECUTION, "--tolerance", "-1")) == ExitCode.BAD_CONFIG
    assert "--tolerance" in _one_line_error(capsys.readouterr().err)
    bad_mapping = tmp_path / "p.yaml"
    bad_mapping.write_text("unit: USD\ncodes: {}\n", encoding="utf-8")
    assert main(_run(EXECUTION, "--programmes", str(bad_mapping))) == ExitCode.BAD_CONFIG
    assert "line 1" in _one_line_error(capsys.readouterr().err)


def test_generate_writes_an_execution_report_with_its_plant(tmp_path: Path, capsys) -> None:
    out = tmp_path / "extract"
    argv = [
        "generate",
        "-n",
        "3000",
        "--seed",
        "5",
        "--out",
        str(out),
        "--execution",
        str(BASELINE),
    ]
    assert main(argv) == ExitCode.OK
    assert (out / "execution.csv").is_file() and (out / "execution_planted.yaml").is_file()
    capsys.readouterr()
    assert (
        main(
            [
                "validate-totals",
                str(out / "execution.csv"),
                "--extract",
                str(out),
                "--model",
                str(BASELINE),
            ]
        )
        == ExitCode.OK
    )
    text = capsys.readouterr().out
    assert "0 quarantined" in text and "timing: the year is within tolerance" in text
