"""What the commands print when stdout is not a terminal (a pipe, a file, cron).

Full values, never cut at 80 columns; `--json` for one plain JSON document; long steps print a line
when they start and when they end, so a job's log shows where it is.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import polars as pl
import pytest
from rich.table import Table

from engine.cli import main
from engine.cli._console import WIDE, console_for

ALLOCATION = Path(__file__).parent / "allocation"
CLAIMS = ALLOCATION / "data" / "case_months.csv"
POLICY = ALLOCATION / "policies" / "good.yaml"


def test_a_console_off_a_terminal_cuts_nothing() -> None:
    out = io.StringIO()
    console = console_for(out)
    assert console.width == WIDE
    table = Table(title="a wide table")
    for column in ("oblast", "envelope", "claims", "allocated", "shortfall", "coverage"):
        table.add_column(column)
    table.add_row("Дніпропетровська", *["14,017,682.17"] * 4, "97.3%")
    console.print(table)
    printed = out.getvalue()
    assert "…" not in printed and "14,017,682.17" in printed and "coverage" in printed
    assert "\x1b[" not in printed  # no colour codes in a log


def test_allocate_prints_full_values_or_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["allocate", str(CLAIMS), "--policy", str(POLICY)]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    printed = capsys.readouterr().out
    assert "…" not in printed  # rich cuts a cell that does not fit 80 columns with "…"
    assert main([*args, "--out", str(tmp_path / "b"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)  # the whole of stdout is one JSON document
    assert summary["written_to"] == str(tmp_path / "b")
    on_disk = json.loads((tmp_path / "b" / "summary.json").read_text(encoding="utf-8"))
    assert summary["allocated_uah"] == on_disk["allocated_uah"]


def _series(path: Path) -> None:
    months = [dt.date(2023 + (m // 12), m % 12 + 1, 1) for m in range(36)]
    pl.DataFrame(
        {
            "unique_id": ["a"] * 36 + ["b"] * 36,
            "ds": months * 2,
            "y": [10.0 + (i % 5) for i in range(36)] + [3.0 + (i % 3) for i in range(36)],
        }
    ).write_csv(path)


def test_forecast_prints_progress_lines_off_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "series.csv"
    _series(source)
    args = ["forecast", "--series", str(source), "--horizon", "3", "--backtest-windows", "0"]
    assert main([*args, "--out", str(tmp_path / "f")]) == 0
    printed = capsys.readouterr()
    assert "mfr forecast: forecasting series.csv …" in printed.out
    assert re.search(r"mfr forecast: forecasting series.csv done in \d+\.\d s", printed.out)
    assert printed.err == ""  # stderr stays for the one error line
    assert main([*args, "--out", str(tmp_path / "g"), "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)  # no progress lines inside the JSON
    assert meta["horizon"] == 3 and meta["bottom_series"] == 2


def test_run_prints_a_line_per_step_off_a_terminal(
    tmp_path: Path, repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = (repo_root / "pipelines" / "nightly.yaml").read_text(encoding="utf-8")
    spec = spec.replace("name: nightly", f"name: nightly\nroot: {repo_root}", 1)
    spec = re.sub(r"(\s)out/", rf"\g<1>{tmp_path}/out/", spec)
    spec = re.sub(r"steps: \[.*\]", "steps: [validate]", spec)
    (tmp_path / "nightly.yaml").write_text(spec, encoding="utf-8")
    assert main(["run", str(tmp_path / "nightly.yaml")]) == 0
    printed = capsys.readouterr()
    assert re.search(r"^\d\d:\d\d:\d\d validate …$", printed.out, re.M)
    assert re.search(r"^\d\d:\d\d:\d\d validate succeeded in \d+\.\d s$", printed.out, re.M)
    assert printed.err == ""
