"""One definition of each count, used everywhere: people, cases, case-months.

- a *person* is one recipient (`recipient_id`), a *case* one service to one person (`case_id`), a
  *case-month* one month of service (days ÷ days in the month);
- people and cases are counted once over the period: served when they have a served case-month,
  waiting when they have a waiting one;
- the report's headline, the run summary and `mfr entitle` print the same numbers.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest

from engine.need import counts_sentence, period_counts
from engine.report import headline_figure, headline_numbers

# person p has two services: case a waits in January and is served from February, case b is
# served both months; person q's case c waits both months (half of February)
HAND = pl.DataFrame(
    {
        "case_id": ["a", "a", "b", "b", "c", "c"],
        "recipient_id": ["p", "p", "p", "p", "q", "q"],
        "month": [dt.date(2026, 1, 1), dt.date(2026, 2, 1)] * 3,
        "funded": [False, True, True, True, False, False],
        "case_months": [1.0, 1.0, 1.0, 1.0, 1.0, 0.5],
    }
)


def test_hand_counted() -> None:
    assert period_counts(HAND) == {
        "people_served": 1,  # p
        "people_waiting": 2,  # p (case a in January) and q
        "cases_served": 2,  # a, b
        "cases_waiting": 2,  # a, c
        "cases": 3,
        "served_case_months": 3.0,
        "waiting_case_months": 2.5,
    }


@pytest.fixture(scope="module")
def sample_case_months() -> pl.DataFrame:
    import engine

    registry = engine.read_registry("data_samples/registry")
    model = engine.load_funding_model("models/funding/baseline")
    priced = engine.compute_entitlements(
        registry, model, engine.load_territories(), months=("2026-01", "2026-12")
    )
    return priced.case_months


def test_each_definition_on_the_sample(sample_case_months: pl.DataFrame) -> None:
    counts = period_counts(sample_case_months)
    rows = sample_case_months.select("case_id", "recipient_id", "funded", "case_months").rows()
    served = [r for r in rows if r[2]]
    waiting = [r for r in rows if not r[2]]
    assert counts["people_served"] == len({r[1] for r in served})
    assert counts["people_waiting"] == len({r[1] for r in waiting})
    assert counts["cases_served"] == len({r[0] for r in served})
    assert counts["cases_waiting"] == len({r[0] for r in waiting})
    assert counts["cases"] == len({r[0] for r in rows})
    assert counts["served_case_months"] == pytest.approx(sum(r[3] for r in served))
    # a person has at least one case; a case waiting and then served counts on both sides
    assert counts["people_served"] <= counts["cases_served"]
    assert counts["cases_served"] + counts["cases_waiting"] >= counts["cases"]
    assert (counts["people_served"], counts["cases_served"], counts["cases"]) == (950, 1069, 1092)


def test_report_headline_shows_the_same_counts(sample_case_months: pl.DataFrame) -> None:
    numbers = headline_numbers(sample_case_months)
    counts = period_counts(sample_case_months)
    assert {k: numbers[k] for k in counts} == counts
    fig = headline_figure(numbers, lang="en")
    shown = {t.title.text: t.value for t in fig.data}
    assert shown["People served"] == counts["people_served"]
    assert shown["Cases served"] == counts["cases_served"]
    assert shown["Cases waiting"] == counts["cases_waiting"]


def test_run_summary_and_entitle_print_the_same_sentence(
    sample_case_months: pl.DataFrame,
    tmp_path: Path,
    repo_root: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from engine.cli import main

    counts = period_counts(sample_case_months)
    sentence = counts_sentence(counts)
    assert (
        sentence
        == "1,069 cases served (950 people), 73 cases waiting (73 people), 1,092 cases in all"
    )
    code = main(
        [
            *("entitle", "data_samples/registry", "--model", "models/funding/baseline"),
            *("--months", "2026-01:2026-12", "--out", str(tmp_path / "entitle")),
        ]
    )
    assert code == 0
    printed = re.sub(r"\s+", " ", capsys.readouterr().out)
    # mfr entitle prints the cases in all (served or waiting), the same definition
    assert f" {counts['cases']:,} cases " in printed
    spec = (repo_root / "pipelines" / "nightly.yaml").read_text(encoding="utf-8")
    spec = spec.replace("name: nightly", f"name: nightly\nroot: {repo_root}", 1)
    spec = re.sub(r"(\s)out/", rf"\g<1>{tmp_path}/out/", spec)
    spec = spec.replace(
        "steps: [validate, entitle, need, forecast, allocate, report]", "steps: [validate, entitle]"
    )
    (tmp_path / "nightly.yaml").write_text(spec, encoding="utf-8")
    assert main(["run", str(tmp_path / "nightly.yaml")]) == 0
    assert sentence in re.sub(r"\s+", " ", capsys.readouterr().out)
