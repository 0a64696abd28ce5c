"""The inputs a run read, kept in the store content-addressed (schema 3): each file's bytes once
however many runs read it, given back byte for byte, the extract by hash only; older stores
upgraded; pruning drops what no kept run read. Runs use the pipeline tests' tiny fake steps."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from engine.errors import ExitCode
from engine.pipeline import load_spec, run_pipeline
from engine.pipeline._reproduce import reproduce_run
from engine.store import SCHEMA_VERSION, Store, StoreError, hash_path, run_inputs

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))
from _pipeline_fakes import make_project, make_steps


def _run(spec_path: Path, **kwargs):
    """Run the spec (`test.yaml` in a project folder) with the fake steps."""
    if spec_path.is_dir():
        spec_path /= "test.yaml"
    steps = make_steps()
    spec = load_spec(spec_path, steps=steps)
    return run_pipeline(
        spec, steps=steps, progress=False, console=Console(file=io.StringIO()), **kwargs
    )


def _count(store: Path, query: str) -> int:
    with duckdb.connect(str(store), read_only=True) as con:
        return int(con.execute(query).fetchone()[0])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A tiny project (see `_pipeline_fakes.make_project`); its folder."""
    return make_project(tmp_path).parent


def test_each_file_is_stored_once_however_many_runs_read_it(project: Path) -> None:
    store = project / "out" / "mfr.duckdb"
    first = _run(project)
    blobs = _count(store, "SELECT count(*) FROM input_blobs")
    # spec, reference/README, funding/model.yaml, policy.yaml (the extract is not stored)
    assert blobs == 4
    _run(project, force=True)
    assert _count(store, "SELECT count(*) FROM input_blobs") == blobs
    assert _count(store, "SELECT count(*) FROM run_input_files") == 2 * 5
    (project / "policy.yaml").write_text("factor: 3\n")
    _run(project)
    assert _count(store, "SELECT count(*) FROM input_blobs") == blobs + 1  # the new policy only
    stored = _count(
        store,
        "SELECT count(*) FROM run_input_files WHERE role = 'extract' AND stored "
        f"AND run_id = '{first.run_id}'",
    )
    assert stored == 0


def test_a_runs_inputs_come_back_byte_for_byte_as_its_project_had_them(
    project: Path, tmp_path: Path
) -> None:
    result = _run(project)
    (project / "policy.yaml").write_text("factor: 9\n")  # changed since: the run's copy comes back
    inputs = run_inputs(Store(project / "out" / "mfr.duckdb"), result.run_id, tmp_path / "back")
    assert inputs.paths["policy"].read_text() == "factor: 2\n"
    assert inputs.paths["spec"].read_bytes() == (project / "test.yaml").read_bytes()
    for item in result.manifest.inputs:
        if item["role"] != "extract":
            assert hash_path(inputs.paths[item["role"]])["hash"] == item["hash"], item["role"]
    assert inputs.extract == {"numbers.csv": hash_path(project / "extract" / "numbers.csv")["hash"]}
    assert not (inputs.root / "extract").exists()  # the extract is never stored


def test_a_store_of_schema_2_is_upgraded_and_its_old_runs_refuse_to_reproduce(
    project: Path,
) -> None:
    store_path = project / "out" / "mfr.duckdb"
    old = _run(project)
    with duckdb.connect(str(store_path)) as con:  # as an engine of schema 2 left it
        con.execute("DROP TABLE input_blobs")
        con.execute("DROP TABLE run_input_files")
        con.execute("UPDATE store_meta SET value = '2' WHERE key = 'schema_version'")
    store = Store(store_path)
    assert store.manifest(old.run_id).status == "succeeded"  # read as it is
    with pytest.raises(StoreError, match="no recorded inputs"):
        run_inputs(store, old.run_id)
    (project / "policy.yaml").write_text("factor: 4\n")
    new = _run(project)  # the first write upgrades the store
    with duckdb.connect(str(store_path), read_only=True) as con:
        version = con.execute(
            "SELECT value FROM store_meta WHERE key = 'schema_version'"
        ).fetchone()
    assert version == (str(SCHEMA_VERSION),) and SCHEMA_VERSION == 3
    assert run_inputs(Store(store_path), new.run_id).paths["policy"].read_text() == "factor: 4\n"
    with pytest.raises(StoreError, match="no recorded inputs") as refused:
        reproduce_run(Store(store_path), old.run_id)
    assert refused.value.exit_code == ExitCode.BAD_INPUT_FILE


def test_pruning_drops_the_files_no_kept_run_read(project: Path) -> None:
    store_path = project / "out" / "mfr.duckdb"
    for factor in (2, 3, 4):
        (project / "policy.yaml").write_text(f"factor: {factor}\n")
        _run(project)
    assert _count(store_path, "SELECT count(*) FROM input_blobs") == 3 + 3  # three policies
    Store(store_path).prune(1)
    assert _count(store_path, "SELECT count(*) FROM input_blobs") == 3 + 1
    assert _count(store_path, "SELECT count(DISTINCT run_id) FROM run_input_files") == 1


def test_a_failed_run_cannot_be_reproduced(project: Path) -> None:
    from engine.errors import ConfigError

    spec = project / "test.yaml"
    spec.write_text(spec.read_text().replace("steps: [produce, scale]", "steps: [produce, boom]"))
    with pytest.raises(RuntimeError, match="boom"):
        _run(spec)
    store = Store(project / "out" / "mfr.duckdb")
    with pytest.raises(ConfigError, match="only a succeeded run"):
        reproduce_run(store, store.latest_run_id(spec="test", status="failed"))


def test_inputs_are_written_into_an_empty_folder_only(project: Path, tmp_path: Path) -> None:
    from engine.errors import ConfigError

    result = _run(project)
    used = tmp_path / "used"
    (used / "models").mkdir(parents=True)
    (used / "models" / "extra.yaml").write_text("a file the run never read\n")
    with pytest.raises(ConfigError, match="not an empty folder"):
        run_inputs(Store(project / "out" / "mfr.duckdb"), result.run_id, used)
