"""Helpers of the fault tests: real `mfr` processes on the bundled sample, and what must hold of a
store after any fault (the store opens, only complete runs are succeeded, nothing partial shows)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from engine.store import Store
from engine.store._schema import RESERVED_TABLES

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
NIGHTLY = REPO / "pipelines" / "nightly.yaml"


def mfr_command(*args: str | Path) -> list[str]:
    """`mfr ...` as this checkout's code runs it (not whichever `mfr` is installed)."""
    return [sys.executable, "-m", "engine", *map(str, args)]


# `mfr ARGS` with the code identity the session's sample nightly (tests/conftest.py) and the
# in-process runs here are recorded with: a child that reads that run's step cache finds it
PINNED = """
import sys
import engine.pipeline._runner as runner
runner.code_hash = lambda: "code-under-test"
from engine.cli import main
sys.exit(main(sys.argv[1:]))
"""


def pinned_command(*args: str | Path) -> list[str]:
    """`mfr ...` in a child process with the pinned code identity (see PINNED)."""
    return [sys.executable, "-c", PINNED, *map(str, args)]


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MFR_")}
    env.update(extra)
    return env


def start_nightly(store: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`mfr run pipelines/nightly.yaml --store STORE ...`; its runs, cache and logs go next to STORE."""
    return subprocess.Popen(
        mfr_command("run", NIGHTLY, "--store", store, *extra),
        cwd=REPO,
        env=env or child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_mfr(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`mfr ARGS` to its end; the test checks the exit code itself."""
    return subprocess.run(
        mfr_command(*args),
        cwd=REPO,
        env=env or child_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def events(logs_dir: Path) -> list[dict]:
    """Every complete JSON line of every log in `logs_dir` (a line being written is skipped)."""
    found: list[dict] = []
    for path in sorted(logs_dir.glob("*.jsonl")) if logs_dir.is_dir() else []:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
    return found


def wait_for_event(
    child: subprocess.Popen, logs_dir: Path, run_events_before: int, nth: int, timeout: float = 60
) -> bool:
    """Wait until the child's run has logged `nth` events (counting only lines after the first
    `run_events_before`); False if the child ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(events(logs_dir)) >= run_events_before + nth:
            return True
        if child.poll() is not None:
            return False
        time.sleep(0.01)
    raise AssertionError(f"the run never logged {nth} events")


def run_tables(store: Path, run_id: str) -> dict[str, pl.DataFrame]:
    """Every result table's rows of one run, read back from the store, in a canonical row order."""
    wh = Store(store)
    with wh.connect(read_only=True) as con:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
            ).fetchall()
            if r[0] not in RESERVED_TABLES
        ]
        tables = {}
        for name in sorted(names):
            frame = con.sql(
                f'SELECT * EXCLUDE (run_id) FROM "{name}" WHERE run_id = ?', params=[run_id]
            ).pl()
            # exact columns first so near-equal floats never decide the order
            exact = [c for c, t in frame.schema.items() if not t.is_float()]
            floats = [c for c, t in frame.schema.items() if t.is_float()]
            tables[name] = frame.sort([*exact, *floats], nulls_last=True)
    return tables


def assert_same_results(got: dict[str, pl.DataFrame], want: dict[str, pl.DataFrame]) -> None:
    """The same tables, rows and values. Floats agree to 1e-9 relative: the forecast's sums are
    not bit-reproducible between two undisturbed runs (summation order), which is not what these
    tests are about."""
    assert sorted(got) == sorted(want)
    for name, frame in want.items():
        assert_frame_equal(got[name], frame, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)


def runs_of(store: Path) -> list[dict]:
    with Store(store).connect(read_only=True) as con:
        rows = con.execute("SELECT run_id, status, exit_code, manifest FROM runs").fetchall()
    return [
        {"run_id": r[0], "status": r[1], "exit_code": r[2], "manifest": json.loads(r[3])}
        for r in rows
    ]


def assert_consistent(store: Path) -> list[dict]:
    """What must hold after any fault, read as a user would (no process holds the store):

    - the store opens and its runs can be listed;
    - a succeeded run has every table row it says it published, and its export folder (if one
      is visible) is complete: manifest.json parses as that run, every exported table is there
      with its row count;
    - a run that is not succeeded has no row in any result table and no visible export folder;
    - no half-built folder is visible under a run's own name.
    """
    if not store.exists():  # killed before it created the file: nothing to see, nothing partial
        assert not (store.parent / "runs").is_dir() or not any(
            not p.name.startswith(".") for p in (store.parent / "runs").iterdir()
        )
        return []
    runs = runs_of(store)
    runs_dir = store.parent / "runs"
    by_id = {r["run_id"]: r for r in runs}
    for run in runs:
        tables = run_tables(store, run["run_id"])
        folder = runs_dir / run["run_id"]
        if run["status"] == "succeeded":
            published = run["manifest"]["outputs"]["tables"]
            assert {t: f.height for t, f in tables.items() if f.height} == {
                t: n for t, n in published.items() if n
            }, run["run_id"]
            if folder.exists():
                manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
                assert manifest["run_id"] == run["run_id"] and manifest["status"] == "succeeded"
                for table in run["manifest"]["outputs"].get("exported") or {}:
                    rows = pl.scan_parquet(folder / f"{table}.parquet").select(pl.len())
                    assert rows.collect().item() == published[table], (run["run_id"], table)
        else:
            assert all(f.height == 0 for f in tables.values()), run["run_id"]
            assert not folder.exists(), run["run_id"]
    if runs_dir.is_dir():
        for entry in runs_dir.iterdir():
            if not entry.name.startswith("."):  # hidden staging folders are not published
                assert entry.name in by_id and by_id[entry.name]["status"] == "succeeded"
    return runs
