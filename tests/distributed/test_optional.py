"""The distributed extra is optional: `import engine` imports no Dask, and without Dask
`mfr run --scheduler` and `mfr sweep` say in one line what to install (exit 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# a Python without Dask: importing dask or distributed fails as if they were not installed
_WITHOUT_DASK = """
import sys
class _NoDask:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {"dask", "distributed"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _NoDask())
from engine.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _mfr_without_dask(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_DASK, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_import_engine_imports_no_dask() -> None:
    code = (
        "import sys, engine, engine.pipeline, engine.pipeline._pricing, engine.distributed\n"
        "import engine.cli.run, engine.cli.sweep\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed'))\n"
        "print(loaded)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "args",
    [
        ("run", "pipelines/nightly.yaml", "--scheduler", "local"),
        ("sweep", "pipelines/sweep-copay.yaml"),
    ],
)
def test_without_dask_one_line_says_what_to_install(args: tuple[str, ...], tmp_path: Path) -> None:
    result = _mfr_without_dask(*args, "--store", str(tmp_path / "mfr.duckdb"))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "needs Dask" in lines[0] and "pip install 'mfr-engine[distributed]'" in lines[0]
    assert not (tmp_path / "mfr.duckdb").exists()  # refused before anything ran


def test_without_dask_a_run_without_scheduler_is_unchanged(tmp_path: Path) -> None:
    result = _mfr_without_dask(
        "run", "pipelines/nightly.yaml", "--store", str(tmp_path / "mfr.duckdb"), "--dry-run"
    )
    assert result.returncode == 0, result.stderr


def test_partitions_without_a_scheduler_is_refused(tmp_path: Path) -> None:
    result = _mfr_without_dask(
        "run",
        "pipelines/nightly.yaml",
        "--store",
        str(tmp_path / "mfr.duckdb"),
        "--partitions",
        "4",
    )
    assert result.returncode == 2
    assert "--partitions and --scratch need --scheduler" in result.stderr
