"""`mfr reproduce` and `mfr show --lineage` on the nightly of the bundled sample, in a copy of the
project (so a test may change a tariff file): the nightly reproduced is identical; after a tariff
changes it is still identical (the stored model is used) while a new run differs; a modified or
missing extract is refused in one line; the real store is only read; lineage covers every table."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from engine.cli import main
from engine.errors import ExitCode
from engine.store import Store, load_run_model, table_hash

REPO = Path(__file__).resolve().parents[2]


def _mfr(*args: str) -> tuple[int, str, str]:
    """`mfr ARGS` as a scheduled job runs it (CI set, output to files): code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CI", "true")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def project(sample_nightly) -> Path:
    """The copy of the project's nightly spec, models and sample data the shared nightly ran in
    (tests/conftest.py); read only: a test that changes a file works on a copy."""
    return sample_nightly.root


@pytest.fixture(scope="module")
def nightly(sample_nightly) -> tuple[Path, str]:
    """The nightly run once on the copy (shared, read only); its store and run id."""
    return sample_nightly.store, sample_nightly.run_id


def test_the_nightly_reproduced_is_identical_and_the_store_is_only_read(nightly) -> None:
    store, run_id = nightly
    before = _sha256(store)
    code, out, err = _mfr("reproduce", run_id, "--store", str(store))
    assert code == ExitCode.OK, out + err
    assert out.strip().splitlines()[-1].startswith("identical: ")
    assert _sha256(store) == before  # no table, view or run of the real store was touched
    assert Store(store).runs()["run_id"].to_list() == [run_id]


def test_a_published_table_read_back_from_the_store_has_the_hash_it_was_published_with(
    nightly,
) -> None:
    store_path, run_id = nightly
    store = Store(store_path)
    hashes = store.manifest(run_id).outputs["table_hashes"]
    assert set(hashes) == set(store.table_names())
    for table, digest in hashes.items():
        assert table_hash(store.table(table, run_id=run_id).drop("run_id")) == digest, table
    exports = Path(store.manifest(run_id).outputs["exports"])
    for export in exports.glob("*.parquet"):  # and so do the Parquet exports
        assert table_hash(pl.read_parquet(export)) == hashes[export.stem], export.name


def test_a_changed_tariff_file_leaves_the_reproduction_identical_and_a_new_run_differs(
    sample_nightly, tmp_path: Path
) -> None:
    own = sample_nightly.copy(tmp_path / "project")  # this test changes a file and the store
    project, store, first = own.root, own.store, own.run_id
    tariff = project / "models" / "funding" / "baseline" / "tariff.yaml"
    text = tariff.read_text(encoding="utf-8")
    assert "    2025-03-10: 78.00 " in text  # home care, 015.1, in force in the sample's year
    tariff.write_text(text.replace("    2025-03-10: 78.00 ", "    2025-03-10: 79.00 ", 1))
    code, out, err = _mfr("reproduce", first, "--store", str(store), "--json")
    assert code == ExitCode.OK, out + err
    assert json.loads(out)["identical"] is True  # the stored model, not today's file
    old = load_run_model(store, first).table("tariff")
    assert old.filter(service_code="015.1")["value"].to_list() == [70.0, 78.0]

    extract = sample_nightly.root / "data_samples" / "registry"  # the one the first run read
    # the new run needs only the steps whose tables it compares (the tariff moves case_months)
    spec = project / "pipelines" / "nightly.yaml"
    text = spec.read_text(encoding="utf-8")
    steps = text[text.index("steps: [") : text.index("]", text.index("steps: [")) + 1]
    spec.write_text(text.replace(steps, "steps: [validate, entitle]"), encoding="utf-8")
    code, _, err = _mfr("run", str(spec), "--store", str(store), "--extract", str(extract))
    assert code == 0, err
    second = Store(store).latest_run_id()
    assert second != first
    new = load_run_model(store, second).table("tariff")
    assert new.filter(service_code="015.1")["value"].to_list() == [70.0, 79.0]
    then = Store(store).manifest(first).outputs["table_hashes"]
    now = Store(store).manifest(second).outputs["table_hashes"]
    assert then["case_months"] != now["case_months"]  # home care costs more
    assert then["quarantine"] == now["quarantine"]  # the extract is the same


def test_a_modified_extract_is_refused_in_one_line(project: Path, nightly, tmp_path: Path) -> None:
    store, run_id = nightly
    extract = tmp_path / "registry"
    shutil.copytree(project / "data_samples" / "registry", extract)
    cases = extract / "cases.csv"
    lines = cases.read_bytes().splitlines(keepends=True)
    cases.write_bytes(b"".join(lines[:-1]))  # one case fewer
    code, out, err = _mfr("reproduce", run_id, "--store", str(store), "--extract", str(extract))
    assert code == ExitCode.BAD_INPUT_FILE
    assert len(err.strip().splitlines()) == 1, err
    assert "cases.csv differs" in err and "refusing" in err
    assert "identical" not in out


def test_a_missing_extract_is_refused(nightly, tmp_path: Path) -> None:
    store, run_id = nightly
    gone = tmp_path / "no-such-extract"
    code, _, err = _mfr("reproduce", run_id, "--store", str(store), "--extract", str(gone))
    assert code == ExitCode.BAD_INPUT_FILE
    assert len(err.strip().splitlines()) == 1 and "missing" in err


def test_a_table_that_differs_is_one_line_naming_it(nightly, tmp_path: Path) -> None:
    """A store whose recorded hash of one table is not what the rerun gives (as if the run had
    published other numbers): that table, and only it, is reported; exit 1."""
    import duckdb

    store, run_id = nightly
    copy = tmp_path / "mfr.duckdb"
    shutil.copy(store, copy)
    with duckdb.connect(str(copy)) as con:
        (text,) = con.execute("SELECT manifest FROM runs WHERE run_id = ?", [run_id]).fetchone()
        manifest = json.loads(text)
        manifest["outputs"]["table_hashes"]["need"] = "0" * 64
        con.execute("UPDATE runs SET manifest = ? WHERE run_id = ?", [json.dumps(manifest), run_id])
    code, out, _ = _mfr("reproduce", run_id, "--store", str(copy))
    assert code == 1
    differing = [line for line in out.splitlines()[1:] if "differs" in line]  # after store:
    assert differing[0].startswith("need: differs (") and "000000000000 then" in differing[0]
    assert differing[-1] == f"differs: 1 of {len(manifest['outputs']['table_hashes'])} tables"


def test_lineage_lists_every_published_table_with_its_hashes(nightly) -> None:
    store_path, run_id = nightly
    manifest = Store(store_path).manifest(run_id)
    code, out, err = _mfr("show", run_id, "--store", str(store_path), "--lineage", "--json")
    assert code == 0, err
    lineage = json.loads(out)
    assert {t["table"] for t in lineage} == set(manifest.outputs["tables"])
    inputs = {i["role"]: i["hash"] for i in manifest.inputs}
    for table in lineage:
        assert table["sha256"] == manifest.outputs["table_hashes"][table["table"]]
        nodes = [n["node"] for n in table["nodes"]]
        assert nodes[-1] == table["step"] and "registry" in nodes
        assert all(len(n["key"]) == 64 for n in table["nodes"])
        assert {i["role"]: i["sha256"] for i in table["inputs"]}.items() <= inputs.items()
        assert "extract" in {i["role"] for i in table["inputs"]}
    case_months = next(t for t in lineage if t["table"] == "case_months")
    assert {"model", "priced"} <= {n["node"] for n in case_months["nodes"]}
    assert "funding_model" in {i["role"] for i in case_months["inputs"]}

    code, out, _ = _mfr("show", run_id, "--store", str(store_path), "--lineage")
    assert code == 0
    for table in manifest.outputs["tables"]:
        assert f"\n{table}  " in out
