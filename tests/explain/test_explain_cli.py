"""End to end on data_samples/: `mfr explain` from an extract and from the store after the nightly run
(the extract gone), and `mfr price` with and without a scenario."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from engine.cli import main
from engine.entitlements import compute_entitlements
from engine.params import load_funding_model
from engine.reference import load_services, load_territories
from engine.registry import read_registry
from engine.store import Store

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data_samples" / "registry"
BASELINE = REPO / "models" / "funding" / "baseline"
SCENARIO = REPO / "models" / "scenarios" / "home-care-frontline-plus10.yaml"


def mfr(*args: str) -> tuple[int, str, str]:
    """`mfr ARGS` as a scheduled job runs it (output not a terminal): exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CI", "true")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def sample_case_months() -> pl.DataFrame:
    services, territories = load_services(), load_territories()
    registry = read_registry(SAMPLE, territories=territories, services_catalogue=services)
    model = load_funding_model(BASELINE, services=services)
    return compute_entitlements(
        registry, model, territories, months=("2024-01", "2024-12"), segments=False
    ).case_months


def test_explain_from_the_extract(sample_case_months) -> None:
    args = ["explain", "--case", "C000002055", "--month", "2024-05"]
    args += ["--extract", str(SAMPLE), "--model", str(BASELINE)]
    code, out, err = mfr(*args)
    assert code == 0, err
    assert "moves from" in out and "✓ the factors give the engine's amount" in out
    code, out, err = mfr(*args, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["consistent"] is True
    want = sample_case_months.filter(
        (pl.col("case_id") == "C000002055") & (pl.col("month") == dt.date(2024, 5, 1))
    ).sort("funded")
    got = sorted(data["case_months"], key=lambda r: r["funded"])
    assert [Decimal(r["state_uah"]) for r in got] == want["state_uah"].to_list()
    assert {c for s in data["segments"] for c in s["start_codes"]} >= {"move", "month_start"}


@pytest.fixture(scope="module")
def nightly(sample_nightly) -> Iterator[Path]:
    """The store of the nightly run (shared, read only: tests/conftest.py), its extract moved away
    while these tests run: a run is explained from the store alone."""
    extract = sample_nightly.root / "data_samples" / "registry"
    away = extract.with_name("registry-away")
    extract.rename(away)
    try:
        yield sample_nightly.store
    finally:
        away.rename(extract)


def _moved_case(store: Path) -> tuple[str, dt.date]:
    """A case of the run that moves between hromadas in a month the run priced."""
    inputs = Store(store).table("case_inputs", "latest")
    months = Store(store).table("case_months", "latest")
    moves = (
        inputs.sort("case_id", "valid_from")
        .with_columns(prev=pl.col("hromada_code").shift(1).over("case_id"))
        .filter(pl.col("prev").is_not_null() & (pl.col("prev") != pl.col("hromada_code")))
        .with_columns(month=pl.col("valid_from").dt.month_start())
        .join(months.select("case_id", "month").unique(), on=["case_id", "month"])
        .sort("case_id")
    )
    row = moves.row(0, named=True)
    return row["case_id"], row["month"]


def test_explain_a_run_from_the_store_alone(nightly: Path) -> None:
    store = Store(nightly)
    stored = store.table("case_months", "latest")
    largest = stored.sort("gross_uah", "case_id", descending=[True, False]).row(0, named=True)
    for case, month in ((largest["case_id"], largest["month"]), _moved_case(nightly)):
        args = ["explain", "latest", "--case", case, "--month", f"{month:%Y-%m}"]
        code, out, err = mfr(*args, "--store", str(nightly))
        assert code == 0, err
        assert "✓ the same amounts as run" in out and "✓ the factors give" in out
        code, out, err = mfr(*args, "--store", str(nightly), "--json")
        assert code == 0, err
        data = json.loads(out)
        assert data["consistent"] and data["matches_store"]
        want = stored.filter((pl.col("case_id") == case) & (pl.col("month") == month))
        assert sorted(Decimal(r["gross_uah"]) for r in data["case_months"]) == sorted(
            want["gross_uah"].to_list()
        )
        assert data["model_hash"] == load_funding_model(BASELINE).content_hash


def test_explain_with_another_model_says_the_amount_differs(nightly: Path, tmp_path: Path) -> None:
    """The store check can fail: priced with a changed tariff file, the stored amount is not met."""
    changed = tmp_path / "baseline"
    shutil.copytree(BASELINE, changed)
    tariff = changed / "tariff.yaml"
    tariff.write_text(tariff.read_text().replace("2025-03-10: 78.00", "2025-03-10: 80.00"))
    store = Store(nightly)
    case = (
        store.table("case_months", "latest")
        .filter((pl.col("service_code") == "015.1") & (pl.col("gross_uah") > 0))
        .row(0, named=True)
    )
    code, out, err = mfr("explain", "--case", case["case_id"], "--month", f"{case['month']:%Y-%m}",
                         "--store", str(nightly), "--model", str(changed))  # fmt: skip
    assert code == 1
    assert "✗ run" in out and err.strip().startswith("error:")


def test_explain_refuses_an_unknown_case_in_one_line(nightly: Path) -> None:
    code, _, err = mfr("explain", "--case", "NOPE", "--month", "2026-03", "--store", str(nightly))
    assert code == 2
    assert err.splitlines()[-1] == "error: case 'NOPE' is not among the cases run " + (
        Store(nightly).resolve_run_id("latest") + " priced"
    )


def test_price_a_new_case_with_and_without_a_scenario() -> None:
    args = ["price", "--service", "015.1", "--need-level", "2", "--hromada", "UA05020010000053508",
            "--from", "2026-05-01", "--until", "2026-09-30",
            "--moves", "UA63040010000010092@2026-06-17", "--income-ratio", "2.5",
            "--status", "UA63040010000010092:frontline@2022-02-24", "--model", str(BASELINE)]  # fmt: skip
    code, out, err = mfr(*args)
    assert code == 0, err
    assert "2026-06" in out and "moves from" in out and "scenario_state_uah" not in out
    code, out, err = mfr(*args, "--scenario", str(SCENARIO), "--json")
    assert code == 0, err
    data = json.loads(out)
    july = next(r for r in data["amounts"] if r["month"] == "2026-07-01")
    # frontline home care +10% from July: 78 × 40 × 1.2 = 3744 gross, 70% paid by the state
    assert july["state_uah"] == "2620.80" and july["scenario_state_uah"] == "2882.88"
    assert all(m["baseline"]["consistent"] and m["scenario"]["consistent"] for m in data["months"])


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--service", "999.9", "error: --service: unknown service '999.9'"),
        ("--hromada", "UA1", "error: unknown hromada 'UA1'"),
        ("--from", "01.05.2026", "error: --from:"),
    ],
)
def test_price_refuses_bad_input_in_one_line(option: str, value: str, message: str) -> None:
    base = {"--service": "015.1", "--need-level": "2", "--hromada": "UA05020010000053508",
            "--from": "2026-05-01", "--model": str(BASELINE)}  # fmt: skip
    args = [x for k, v in (base | {option: value}).items() for x in (k, v)]
    code, out, err = mfr("price", *args)
    assert code == 2 and out == ""
    assert err.strip().startswith(message) and len(err.strip().splitlines()) == 1


def test_the_nightly_report_explains_its_largest_and_most_changed_amounts(
    nightly: Path, tmp_path: Path
) -> None:
    store = Store(nightly)
    explained = store.table("explained_amounts", "latest")
    assert set(explained["kind"]) == {"largest", "most_changed"}
    assert explained["consistent"].all()
    stored = store.table("case_months", "latest").filter(pl.col("funded"))
    largest = explained.filter((pl.col("kind") == "largest") & (pl.col("rank") == 1)).row(
        0, named=True
    )
    assert largest["gross_uah"] == stored["gross_uah"].max()
    # the segments of each explained case-month add up to its amount
    sums = explained.group_by("kind", "rank").agg(
        pl.col("segment_gross_uah").sum(), pl.col("gross_uah").first()
    )
    for row in sums.iter_rows(named=True):
        assert abs(row["segment_gross_uah"] - row["gross_uah"]) < Decimal("0.01")
    run_id = store.resolve_run_id("latest")
    html = (nightly.parent / "runs" / run_id / "report.html").read_text(encoding="utf-8")
    assert "Чому сума саме така?" in html and largest["case_id"] in html  # Ukrainian by default
    again = tmp_path / "again.html"
    code, _, err = mfr(
        "report", run_id, "--store", str(nightly), "--lang", "en", "--out", str(again)
    )
    assert code == 0, err
    assert "Why is this amount what it is?" in again.read_text(encoding="utf-8")
