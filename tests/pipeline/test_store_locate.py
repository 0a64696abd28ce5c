"""One rule for finding the store, printed by every command; input hashes a user can reproduce."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from _pipeline_fakes import make_project, make_steps

from engine.cli import main
from engine.errors import ExitCode
from engine.pipeline import load_spec, run_pipeline
from engine.store import STORE_ENV, Store, hash_path, locate_store

REPO = Path(__file__).resolve().parents[2]


def test_the_rule_in_order(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "pipelines").mkdir(parents=True)
    deep = project / "notebooks" / "scratch"
    deep.mkdir(parents=True)
    env = {STORE_ENV: "shared/store.duckdb"}
    spec_store = project / "elsewhere" / "spec.duckdb"

    flag = locate_store(Path("mine.duckdb"), spec_store=spec_store, cwd=deep, environ=env)
    assert (flag.path, flag.source) == (deep / "mine.duckdb", "--store")
    from_env = locate_store(None, spec_store=spec_store, cwd=deep, environ=env)
    assert (from_env.path, from_env.source) == (deep / "shared" / "store.duckdb", "$MFR_STORE")
    spec = locate_store(None, spec_store=spec_store, cwd=deep, environ={})
    assert spec.path == spec_store and "spec" in spec.source
    project_default = locate_store(None, cwd=deep, environ={})
    assert project_default.path == project / "out" / "mfr.duckdb"
    assert project_default.describe().startswith(f"store: {project / 'out' / 'mfr.duckdb'} (from")
    outside = locate_store(None, cwd=tmp_path, environ={STORE_ENV: "  "})
    assert outside.path == tmp_path / "out" / "mfr.duckdb"


@pytest.fixture
def project_with_a_run(tmp_path: Path) -> tuple[Path, str]:
    """A project (a `pipelines/` folder holding the spec) after one successful nightly run."""
    (tmp_path / "pipelines").mkdir()
    spec_path = make_project(tmp_path, name="nightly")
    spec_path = spec_path.rename(tmp_path / "pipelines" / "nightly.yaml")
    spec_path.write_text(spec_path.read_text().replace("root: .", "root: .."))
    steps = make_steps()
    result = run_pipeline(load_spec(spec_path, steps=steps), steps=steps, progress=False)
    return tmp_path, result.run_id


def test_runs_show_and_report_find_the_runs_store_from_anywhere_in_the_project(
    project_with_a_run: tuple[Path, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, run_id = project_with_a_run
    store = root / "out" / "mfr.duckdb"
    assert store.is_file()
    elsewhere = root / "notebooks" / "deep"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv(STORE_ENV, raising=False)
    assert main(["runs"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"store: {store} (from the project default, project {root})"
    assert run_id in out
    assert main(["show"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"store: {store} ") and run_id in out
    assert main(["report", "--out", "r.html"]) == 0
    assert capsys.readouterr().out.startswith(f"store: {store} ")


def test_mfr_store_is_used_from_an_unrelated_folder(
    project_with_a_run: tuple[Path, str],
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, run_id = project_with_a_run
    monkeypatch.chdir(tmp_path_factory.mktemp("unrelated"))
    assert main(["runs"]) == ExitCode.BAD_INPUT_FILE
    assert "no store here yet" in capsys.readouterr().err
    monkeypatch.setenv(STORE_ENV, str(root / "out" / "mfr.duckdb"))
    assert main(["runs", "--json"]) == 0
    captured = capsys.readouterr()
    assert run_id in captured.out
    assert captured.err.strip() == f"store: {root / 'out' / 'mfr.duckdb'} (from $MFR_STORE)"


def test_mfr_run_takes_mfr_store_over_the_specs_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.pipeline import _steps

    for name, step in make_steps().items():  # `mfr run` uses the engine's catalogue: add ours
        monkeypatch.setitem(_steps.STEPS, name, step)
    spec = make_project(tmp_path, name="nightly")
    shared = tmp_path / "shared" / "mfr.duckdb"
    monkeypatch.setenv(STORE_ENV, str(shared))
    assert main(["run", str(spec)]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"store: {shared} (from $MFR_STORE)"
    assert shared.is_file() and not (tmp_path / "out" / "mfr.duckdb").exists()
    assert f"Store:   {shared}" in out
    run_id = Store(shared).latest_run_id()
    assert f"Latest:  run {run_id} in <table>_latest and latest_nightly.<table>" in out
    monkeypatch.delenv(STORE_ENV)
    own = tmp_path / "out" / "mfr.duckdb"
    assert main(["run", str(spec)]) == 0
    assert (
        capsys.readouterr().out.splitlines()[0] == f"store: {own} (from the spec's outputs.store)"
    )
    other = make_project(tmp_path, name="other-spec")
    assert main(["run", str(other)]) == 0
    out = capsys.readouterr().out
    assert "in latest_other_spec.<table>; <table>_latest follow the production spec nightly" in out


# -- hashes a user can reproduce with sha256sum -----------------------------------------------------

_TOOLS = all(shutil.which(t) for t in ("sh", "find", "sort", "xargs", "sha256sum"))
_FOLDER_COMMAND = (
    "find . -type f ! -path '*/.*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum"
)


def _sha256sum(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["sh", "-c", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.split()[0]


@pytest.mark.skipif(not _TOOLS, reason="needs sh, find, sort, xargs and sha256sum")
def test_a_files_hash_is_its_sha256sum(tmp_path: Path) -> None:
    policy = REPO / "models" / "allocation" / "default-2026.yaml"
    assert hash_path(policy)["hash"] == _sha256sum(f"sha256sum '{policy}'", cwd=tmp_path)


@pytest.mark.skipif(not _TOOLS, reason="needs sh, find, sort, xargs and sha256sum")
def test_a_folders_hash_is_the_documented_shell_command(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    (folder / "sub dir" / "ünï").mkdir(parents=True)
    (folder / "tariff.yaml").write_text("a: 1\n")
    (folder / "Zeta.yaml").write_text("z\n")
    (folder / "sub dir" / "b c.csv").write_text("x,y\n1,2\n")
    (folder / "sub dir" / "ünï" / "ä.txt").write_bytes(b"\x00\x01binary")
    (folder / ".DS_Store").write_bytes(b"hidden")
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("hidden too\n")
    digest = hash_path(folder)
    assert digest["files"] == 4
    assert digest["hash"] == _sha256sum(_FOLDER_COMMAND, cwd=folder)
    baseline = REPO / "models" / "funding" / "baseline"
    assert hash_path(baseline)["hash"] == _sha256sum(_FOLDER_COMMAND, cwd=baseline)


@pytest.mark.skipif(not _TOOLS, reason="needs sh, find, sort, xargs and sha256sum")
def test_the_manifest_records_sha256sum_hashes(spec_path: Path) -> None:
    steps = make_steps()
    result = run_pipeline(load_spec(spec_path, steps=steps), steps=steps, progress=False)
    manifest = result.manifest
    root = spec_path.parent
    assert manifest.spec_hash == _sha256sum(f"sha256sum '{spec_path}'", cwd=root)
    assert manifest.input("policy")["hash"] == _sha256sum("sha256sum policy.yaml", cwd=root)
    assert manifest.input("funding_model")["hash"] == _sha256sum(
        _FOLDER_COMMAND, cwd=root / "funding"
    )
