"""What "latest" means: one succeeded run of one spec, the same for the views, `mfr show` and
`mfr report`; the production spec; and the JSON listings with their filters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _pipeline_fakes import make_project, make_steps

from engine.cli import main
from engine.errors import ConfigError, ExitCode
from engine.pipeline import load_spec, run_pipeline
from engine.store import SCHEMA_VERSION, Store


def _run(spec_path: Path, **kwargs):
    steps = make_steps()
    spec = load_spec(spec_path, steps=steps)
    if "extract" in kwargs:
        spec = spec.with_overrides(extract=kwargs.pop("extract"))
    return run_pipeline(spec, steps=steps, progress=False, **kwargs)


def _spec(root: Path, name: str, steps: str, *, extract: str = "extract") -> Path:
    path = root / f"{name}.yaml"
    path.write_text(
        f"name: {name}\nroot: .\nextract: {extract}\nreference: reference\n"
        f"funding_model: funding\npolicy: policy.yaml\nsteps: [{steps}]\n"
    )
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with a `nightly` spec, a `planning` spec on a smaller extract publishing only
    `numbers`, and a broken spec also named `nightly`."""
    make_project(tmp_path, name="nightly")
    (tmp_path / "small").mkdir()
    (tmp_path / "small" / "numbers.csv").write_text("n\n7\n")
    _spec(tmp_path, "planning", "produce", extract="small")
    broken = _spec(tmp_path, "nightly-broken", "produce, boom")
    broken.write_text(broken.read_text().replace("name: nightly-broken", "name: nightly"))
    return tmp_path


def _distinct_run_ids(store: Store, relation: str) -> list[str]:
    with store.connect(read_only=True) as con:
        return [r[0] for r in con.sql(f"SELECT DISTINCT run_id FROM {relation}").fetchall()]


def _show_json(store: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    capsys.readouterr()
    assert main(["show", *args, "--store", str(store), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_show_report_and_views_agree_on_latest(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nightly = _run(project / "nightly.yaml")
    planning = _run(project / "planning.yaml")
    with pytest.raises(RuntimeError, match="boom"):
        _run(project / "nightly-broken.yaml")
    store_path = project / "out" / "mfr.duckdb"
    store = Store(store_path)
    failed = store.runs(status="failed")["run_id"][0]

    # the views: the production spec's latest succeeded run, every table the same run
    assert _distinct_run_ids(store, "numbers_latest") == [nightly.run_id]
    assert _distinct_run_ids(store, "scaled_latest") == [nightly.run_id]
    # each spec's own schema of views; planning never published `scaled`: no fallback to nightly's
    assert _distinct_run_ids(store, "latest_planning.numbers") == [planning.run_id]
    assert _distinct_run_ids(store, "latest_planning.scaled") == []
    assert _distinct_run_ids(store, "latest_nightly.scaled") == [nightly.run_id]
    latest = store.latest_runs()
    assert latest.select("spec_name", "run_id", "production").rows() == [
        ("nightly", nightly.run_id, True),
        ("planning", planning.run_id, False),
    ]

    # mfr show latest and mfr report latest name the same run
    assert _show_json(store_path, capsys, "latest")["run_id"] == nightly.run_id
    out = tmp_path / "report.html"
    assert main(["report", "latest", "--store", str(store_path), "--out", str(out)]) == 0
    assert f"report of run {nightly.run_id}" in capsys.readouterr().out
    assert nightly.run_id in out.read_text(encoding="utf-8")

    # the failed run is there when asked for, and other specs by name
    assert _show_json(store_path, capsys, "latest-failed")["run_id"] == failed
    assert _show_json(store_path, capsys, "--status", "failed")["run_id"] == failed
    assert _show_json(store_path, capsys, "latest", "--spec", "planning")["run_id"] == (
        planning.run_id
    )
    assert main(["show", failed, "--status", "succeeded", "--store", str(store_path)]) == 2


def test_an_up_to_date_run_becomes_latest_again(project: Path) -> None:
    """The reported case: a test run of the nightly spec on another extract, then the nightly on
    the production extract says "up to date" — its run must be the latest again."""
    first = _run(project / "nightly.yaml")
    test_run = _run(project / "nightly.yaml", extract=project / "small")
    store = Store(project / "out" / "mfr.duckdb")
    assert store.latest_run_id() == test_run.run_id
    again = _run(project / "nightly.yaml")
    assert again.reused and again.run_id == first.run_id
    assert store.latest_run_id() == first.run_id
    assert _distinct_run_ids(store, "numbers_latest") == [first.run_id]
    assert _distinct_run_ids(store, "scaled_latest") == [first.run_id]


def test_promote_makes_latest_follow_another_spec(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(project / "nightly.yaml")
    planning = _run(project / "planning.yaml")
    store_path = project / "out" / "mfr.duckdb"
    assert main(["promote", "planning", "--store", str(store_path)]) == 0
    assert f"production spec: planning (its latest: run {planning.run_id})" in (
        capsys.readouterr().out
    )
    store = Store(store_path)
    assert store.production_spec() == "planning"
    assert _distinct_run_ids(store, "numbers_latest") == [planning.run_id]
    assert _distinct_run_ids(store, "scaled_latest") == []  # planning's run has no `scaled`
    assert store.latest_run_id() == planning.run_id


def test_no_production_run_is_a_clear_error(spec_path: Path) -> None:
    """A store holding only a spec named `test`: `latest` does not borrow its run silently."""
    _run(spec_path)
    store = Store(spec_path.parent / "out" / "mfr.duckdb")
    with pytest.raises(ConfigError, match=r"no succeeded run of spec 'nightly' \(the production"):
        store.latest_run_id()
    assert _distinct_run_ids(store, "scaled_latest") == []
    assert main(["show", "--store", str(store.path)]) == ExitCode.BAD_CONFIG


def test_runs_json_with_filters(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nightly = _run(project / "nightly.yaml")
    planning = _run(project / "planning.yaml")
    with pytest.raises(RuntimeError):
        _run(project / "nightly-broken.yaml")
    store = project / "out" / "mfr.duckdb"

    def listed(*args: str) -> list[dict]:
        capsys.readouterr()
        assert main(["runs", "--store", str(store), "--json", *args]) == 0
        captured = capsys.readouterr()
        assert captured.err.strip() == f"store: {store} (from --store)"
        return json.loads(captured.out)

    everything = listed()
    assert len(everything) == 3 and everything[-1]["run_id"] == nightly.run_id
    assert {"run_id", "spec_name", "status", "started_at", "finished_at"} <= set(everything[0])
    assert [r["run_id"] for r in listed("--spec", "planning")] == [planning.run_id]
    assert {r["run_id"]: r["latest"] for r in everything} == {
        nightly.run_id: "production",
        planning.run_id: "spec",
        everything[0]["run_id"]: None,  # the failed run
    }
    capsys.readouterr()
    assert main(["runs", "--store", str(store)]) == 0
    table = capsys.readouterr().out
    assert any(nightly.run_id in line and "production" in line for line in table.splitlines())
    assert [r["status"] for r in listed("--status", "failed")] == ["failed"]
    assert [r["run_id"] for r in listed("--spec", "nightly", "--status", "succeeded")] == [
        nightly.run_id
    ]
    assert main(["runs", "--store", str(store), "--status", "weird"]) == ExitCode.BAD_CONFIG


@pytest.mark.slow
def test_the_real_specs_agree_on_latest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The reported sequence with the bundled specs: nightly, planning-2027, a failed nightly."""
    repo = Path(__file__).resolve().parents[2]
    store = tmp_path / "mfr.duckdb"
    assert main(["run", str(repo / "pipelines" / "nightly.yaml"), "--store", str(store)]) == 0
    planning = repo / "pipelines" / "planning-2027.yaml"
    assert main(["run", str(planning), "--store", str(store)]) == 0
    strict = tmp_path / "pipelines" / "strict.yaml"  # still `name: nightly`, fails on quarantine
    strict.parent.mkdir()
    text = (repo / "pipelines" / "nightly.yaml").read_text()
    text = text.replace("quarantine_threshold: 0.01", "quarantine_threshold: 0.0001")
    steps = text[text.index("steps: [") : text.index("]", text.index("steps: [")) + 1]
    strict.write_text(text.replace(steps, f"root: {repo}\nsteps: [validate]"))
    assert main(["run", str(strict), "--store", str(store)]) == ExitCode.QUARANTINE_OVER_THRESHOLD
    runs = Store(store).runs()
    nightly_ok = runs.filter(spec_name="nightly", status="succeeded")["run_id"][0]
    planning_ok = runs.filter(spec_name="planning-2027")["run_id"][0]
    assert runs["status"][0] == "failed"  # the newest run failed

    assert _show_json(store, capsys, "latest")["run_id"] == nightly_ok
    out = tmp_path / "report.html"
    assert main(["report", "latest", "--store", str(store), "--out", str(out)]) == 0
    assert f"report of run {nightly_ok}" in capsys.readouterr().out
    reader = Store(store)
    with reader.connect(read_only=True) as con:
        views = [
            r[0]
            for r in con.sql(
                "SELECT view_name FROM duckdb_views() WHERE schema_name = 'main' "
                "AND view_name LIKE '%\\_latest' ESCAPE '\\'"
            ).fetchall()
        ]
    assert {"case_months_latest", "allocations_latest", "forecast_latest"} <= set(views)
    for view in views:  # every production view shows the nightly's run, or nothing
        assert set(_distinct_run_ids(reader, view)) <= {nightly_ok}, view
    assert _distinct_run_ids(reader, "case_months_latest") == [nightly_ok]
    assert _distinct_run_ids(reader, "forecast_need_latest") == []  # planning's table only
    assert _distinct_run_ids(reader, "latest_planning_2027.forecast_need") == [planning_ok]


def test_a_store_of_schema_1_is_read_and_upgraded(project: Path) -> None:
    """A store written before `latest_at` and the per-spec views: read as it is, upgraded on the
    next write."""
    import duckdb

    first = _run(project / "nightly.yaml")
    path = project / "out" / "mfr.duckdb"
    con = duckdb.connect(str(path))
    for table in ("numbers", "scaled"):
        con.execute(f"DROP VIEW latest_nightly.{table}")
        con.execute(f"DROP VIEW {table}_latest")
    con.execute("DROP SCHEMA latest_nightly")
    con.execute("DROP VIEW latest_runs")
    con.execute("ALTER TABLE runs DROP COLUMN latest_at")
    con.execute("UPDATE store_meta SET value = '1' WHERE key = 'schema_version'")
    con.close()
    assert Store(path).latest_run_id() == first.run_id  # read-only: no column, no views needed
    (project / "policy.yaml").write_text("factor: 5\n")
    second = _run(project / "nightly.yaml")
    store = Store(path)
    assert store.latest_run_id() == second.run_id
    assert _distinct_run_ids(store, "latest_nightly.scaled") == [second.run_id]
    with store.connect(read_only=True) as con:
        assert con.sql("SELECT value FROM store_meta WHERE key = 'schema_version'").fetchall() == [
            (str(SCHEMA_VERSION),)
        ]
