"""Benchmark of what users run: `mfr entitle` from an extract on disk, beside DuckDB SQL.

For each size (segments over `MONTHS`) and format (messy CP1251 CSV, Parquet), an extract is written
by `mfr generate` into a cache folder (`$TMPDIR/mfr-bench-extracts/<format>-<recipients>-<seed>`, so
a rerun reuses it), then, each in a fresh process whose wall time and peak resident memory are
measured (`os.wait4`: that child's own `ru_maxrss`):

- `mfr entitle EXTRACT --model models/funding/baseline --months … --out DIR`: reading, validation,
  segments, prices, case-months, rollups and flows written as Parquet — the command as users run it;
- `engine/bench/sql.py` (run as a script: no engine code is imported): the same rules in set-based
  DuckDB SQL on the same files, writing the same outputs.

After both ran, their `case_months.parquet` are joined on (case_id, month, funded) and compared to the
kopiyka (gross, co-payment, state, days); any difference or missing row is reported and marks the
result as failed, so `mfr bench` exits non-zero.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from engine.bench import BenchResult

__all__ = [
    "MONTHS",
    "SEGMENTS_PER_RECIPIENT",
    "compare_outputs",
    "ensure_extract",
    "measure",
    "run",
    "run_pair",
]

MONTHS = ("2021-01", "2026-10")  # the synthetic extract's history up to its extract date
SEGMENTS_PER_RECIPIENT = 12.7  # measured on `mfr generate` extracts over MONTHS
_ROOT = Path(__file__).resolve().parents[2]
_MODEL = _ROOT / "models" / "funding" / "baseline"
_SQL_SCRIPT = Path(__file__).resolve().parent / "sql.py"
_KEYS = ["case_id", "month", "funded"]
_AMOUNTS = ("gross", "copay", "state")


def _mfr() -> list[str]:
    script = Path(sys.executable).parent / "mfr"
    return [str(script)] if script.exists() else [sys.executable, "-m", "engine"]


def measure(command: Sequence[str]) -> tuple[float, float, str, float]:
    """Run `command` in a fresh process: wall seconds, peak resident MB, its stdout and the CPU
    seconds it used (user + system, all threads: on a shared machine wall time includes waiting)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(list(command), stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command[:3])} … exited {process.returncode}: {stderr[-2000:]}"
        )
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, usage.ru_maxrss / 1024, stdout, cpu  # ru_maxrss is in KB on Linux


def ensure_extract(recipients: int, seed: int, fmt: str, cache: Path | None = None) -> Path:
    """A `mfr generate` extract (messy CSV or Parquet), generated once and then reused."""
    root = cache or Path(tempfile.gettempdir()) / "mfr-bench-extracts"
    folder = root / f"{fmt}-{recipients}-{seed}"
    if (folder / "extract.yaml").exists():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(folder, ignore_errors=True)  # an interrupted generation left no extract.yaml
    options = ["--format", "csv", "--messy"] if fmt == "csv" else ["--format", "parquet"]
    command = [*_mfr(), "generate", "--out", str(folder), "-n", str(recipients)]
    subprocess.run([*command, "--seed", str(seed), *options], check=True, capture_output=True)
    return folder


def _kopiyky(frame: pl.DataFrame, amount: str) -> pl.Expr:
    """An amount column as integer kopiyky, whatever type the writer chose."""
    for name in (f"{amount}_kop", f"{amount}_kopiyky"):
        if name in frame.columns:
            return pl.col(name).cast(pl.Int64).alias(amount)
    column = f"{amount}_uah"
    if frame.schema[column].is_integer():
        return pl.col(column).cast(pl.Int64).alias(amount)
    return (pl.col(column).cast(pl.Float64) * 100).round().cast(pl.Int64).alias(amount)


def compare_outputs(engine_dir: Path, sql_dir: Path) -> str:
    """'' when both case_months.parquet hold the same rows and amounts to the kopiyka, else why."""
    frames = []
    for folder in (engine_dir, sql_dir):
        frame = pl.read_parquet(folder / "case_months.parquet")
        frames.append(
            frame.select(
                pl.col("case_id").cast(pl.String),
                pl.col("month").cast(pl.Date),
                pl.col("funded").cast(pl.Boolean),
                *(_kopiyky(frame, a) for a in _AMOUNTS),
                pl.col("days").cast(pl.Int64),
            )
        )
    engine, sql = frames
    joined = engine.join(sql, on=_KEYS, how="full", coalesce=True, suffix="_sql")
    problems = []
    only_engine = joined.filter(pl.col("gross_sql").is_null() & pl.col("gross").is_not_null())
    only_sql = joined.filter(pl.col("gross").is_null() & pl.col("gross_sql").is_not_null())
    if only_engine.height or only_sql.height:
        problems.append(
            f"{only_engine.height} rows only in the engine, {only_sql.height} only in SQL"
        )
    both = joined.filter(pl.col("gross").is_not_null() & pl.col("gross_sql").is_not_null())
    for column in (*_AMOUNTS, "days"):
        bad = both.filter(pl.col(column) != pl.col(f"{column}_sql"))
        if bad.height:
            example = bad.row(0, named=True)
            problems.append(f"{bad.height} rows differ in {column} (e.g. {example})")
    if engine.height != engine.unique(_KEYS).height or sql.height != sql.unique(_KEYS).height:
        problems.append("duplicate (case_id, month, funded) rows")
    return "; ".join(problems)


def _entitle_command(extract: Path, out: Path) -> list[str]:
    """`mfr entitle` writing case-months, rollups, flows and (asked for, when optional) segments."""
    command = [*_mfr(), "entitle", str(extract), "--model", str(_MODEL)]
    command += ["--months", ":".join(MONTHS), "--out", str(out), "--accept-quarantine"]
    helps = subprocess.run(
        [*_mfr(), "entitle", "--help"], check=True, capture_output=True, text=True
    ).stdout
    return [*command, "--segments"] if "--segments" in helps else command


def _outputs_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.glob("*.parquet")) / 1e6


def run_pair(
    recipients: int, seed: int, fmt: str, *, cache: Path | None = None
) -> list[BenchResult]:
    """`mfr entitle` and the DuckDB SQL on one extract, each in a fresh process, then compared."""
    import json

    extract = ensure_extract(recipients, seed, fmt, cache)
    label = "messy CSV" if fmt == "csv" else "Parquet"
    with tempfile.TemporaryDirectory(prefix="mfr-bench-cli-") as scratch:
        engine_out, sql_out = Path(scratch) / "engine", Path(scratch) / "sql"
        seconds, peak, _, cpu = measure(_entitle_command(extract, engine_out))
        manifest = json.loads((engine_out / "entitlements.json").read_text(encoding="utf-8"))
        segments = int(manifest["segments"])
        rows_read = sum(manifest["rows_read"].values())
        engine = BenchResult(
            "entitlements", f"mfr entitle, {label}", segments, "segments", seconds, peak, False,
            f"cpu {cpu:.1f} s; {rows_read:,} rows read, {manifest['case_months']:,} case-months; "
            f"{_outputs_mb(engine_out):,.0f} MB written",
        )  # fmt: skip
        sql_command = [sys.executable, str(_SQL_SCRIPT), str(extract), str(sql_out)]
        sql_command += ["--format", fmt, "--model", str(_MODEL), "--months", ":".join(MONTHS)]
        seconds, peak, stdout, cpu = measure(sql_command)
        counts = json.loads(stdout.strip().splitlines()[-1])
        mismatch = compare_outputs(engine_out, sql_out)
        verdict = (
            f"MISMATCH with the engine: {mismatch}"
            if mismatch
            else f"case-months identical to the engine's ({manifest['case_months']:,} rows)"
        )
        sql = BenchResult(
            "entitlements", f"DuckDB SQL, {label}", segments, "segments", seconds, peak, False,
            f"cpu {cpu:.1f} s; {counts['segments']:,} segments; {verdict}; "
            f"{_outputs_mb(sql_out):,.0f} MB written",
            ok=not mismatch,
        )  # fmt: skip
    return [engine, sql]


def run(
    sizes: Sequence[int] = (1_000_000, 10_000_000),
    seed: int = 0,
    formats: Sequence[str] = ("csv", "parquet"),
) -> list[BenchResult]:
    """The CLI path and the SQL at each size (segments) and format."""
    results = []
    for size in sizes:
        recipients = max(100, round(size / SEGMENTS_PER_RECIPIENT))
        for fmt in formats:
            results.extend(run_pair(recipients, seed, fmt))
    return results


def ratio_lines(results: Sequence[BenchResult]) -> list[str]:
    """Engine over SQL (time and peak memory) per extract, and engine over pandas rows."""
    lines = []
    engines = [r for r in results if r.case.startswith("mfr entitle")]
    for engine in engines:
        label = engine.case.removeprefix("mfr entitle, ")
        for sql in results:
            if sql.case == f"DuckDB SQL, {label}" and sql.size == engine.size:
                lines.append(
                    f"  mfr entitle vs DuckDB SQL ({label}, {engine.size:,} segments): "
                    f"{sql.seconds / engine.seconds:,.2f}x the speed (SQL s / engine s), "
                    f"{engine.peak_mb / sql.peak_mb:,.2f}x the memory"
                )
    for pandas in (r for r in results if r.case.startswith("pandas")):
        for engine in [*engines, *(r for r in results if r.case == "engine core")]:
            lines.append(
                f"  {engine.case} ({engine.size:,}) vs {pandas.case} ({pandas.size:,}): "
                f"{engine.throughput / pandas.throughput:,.0f}x the throughput"
            )
    return lines
