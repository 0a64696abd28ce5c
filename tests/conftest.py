from __future__ import annotations

import contextlib
import io
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# the code identity every run of the shared nightly is recorded with (as the pipeline tests pin
# it): engineers editing engine/ while the suite runs must not make a later run look like new code
PINNED_CODE = "code-under-test"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def sample_extract() -> Path:
    return REPO / "data_samples" / "registry"


@dataclass(frozen=True)
class Nightly:
    """`mfr run pipelines/nightly.yaml` on the bundled sample, in a copy of the project (spec,
    models, sample data) whose `out/` holds the store, exports, cache and logs of that one run."""

    root: Path
    run_id: str
    code: int
    out: str
    err: str
    seconds: float  # wall seconds of the run (in-process: no interpreter start-up)

    @property
    def spec(self) -> Path:
        return self.root / "pipelines" / "nightly.yaml"

    @property
    def store(self) -> Path:
        return self.root / "out" / "mfr.duckdb"

    def copy(self, dest: Path) -> Nightly:
        """The whole project with its run copied to `dest` (a DuckDB file copies cheaply): for a
        test that changes the store, its exports or the project's files."""
        shutil.copytree(self.root, dest)
        return replace(self, root=dest)

    def seed(self, folder: Path) -> Path:
        """The run's store and export folders copied into `folder` (no cache, no logs), as a
        first nightly would have left them there; returns the store. For a test that needs a
        store holding one good run and is about what happens next, not about that run."""
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.store, folder / self.store.name)
        shutil.copytree(self.root / "out" / "runs", folder / "runs")
        return folder / self.store.name


def mfr_pinned(*args: str) -> tuple[int, str, str]:
    """`mfr ARGS` as a scheduled job runs it (CI set, output not a terminal) with the code identity
    pinned: exit code, stdout, stderr."""
    from engine.cli import main

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CI", "true")
        patch.setattr("engine.pipeline._runner.code_hash", lambda: PINNED_CODE)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="session")
def sample_nightly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nightly]:
    """The sample nightly run once per test session and shared: READ IT ONLY (tests that change
    the store, its folders or the project work on `sample_nightly.copy(tmp_path / ...)`).

    Several test modules read the same run (explain, reproduce, table hashes, the pipeline's
    nightly checks); running it once instead of once per module keeps the default suite short.
    """
    from engine.store import Store

    root = tmp_path_factory.mktemp("sample-nightly") / "project"
    (root / "pipelines").mkdir(parents=True)
    shutil.copy(REPO / "pipelines" / "nightly.yaml", root / "pipelines" / "nightly.yaml")
    shutil.copytree(REPO / "models", root / "models")
    for folder in ("registry", "reference"):
        shutil.copytree(REPO / "data_samples" / folder, root / "data_samples" / folder)
    store = root / "out" / "mfr.duckdb"
    start = time.monotonic()
    code, out, err = mfr_pinned(
        "run", str(root / "pipelines" / "nightly.yaml"), "--store", str(store)
    )
    seconds = time.monotonic() - start
    assert code == 0, err
    yield Nightly(
        root=root,
        run_id=Store(store).latest_run_id(),
        code=code,
        out=out,
        err=err,
        seconds=seconds,
    )
