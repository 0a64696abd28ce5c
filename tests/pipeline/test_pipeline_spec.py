"""The run-spec loader is strict: every mistake names the spec file and the line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from _pipeline_fakes import make_project, make_steps

from engine.cli import main
from engine.errors import ConfigError, ExitCode
from engine.pipeline import STEPS, load_spec, resolve_months

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["nightly", "planning-2027"])
def test_the_bundled_specs_load(name: str) -> None:
    spec = load_spec(REPO / "pipelines" / f"{name}.yaml")
    assert spec.name == name
    assert spec.root == REPO  # paths are relative to the project folder, not the working folder
    assert spec.extract == REPO / "data_samples" / "registry"
    assert set(spec.steps) <= set(STEPS)


def _broken(tmp_path: Path, text: str) -> Path:
    make_project(tmp_path)
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    return path


GOOD = """\
name: test
root: .
extract: extract
reference: reference
funding_model: funding
policy: policy.yaml
steps: [produce, scale]
"""


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (
            ("policy: policy.yaml", "polcy: policy.yaml"),
            6,
            "unknown key 'polcy'.*did you mean 'policy'",
        ),
        (("root: .", "root: .\nhorizon: twelve"), 3, "horizon: expected a whole number"),
        (("root: .", "root: .\nquarantine_threshold: 5"), 3, "between 0 and 1"),
        (("root: .", "root: .\nmonths: 2025-13:2026-01"), 3, "month range"),
        (("root: .", "root: .\nextract_date: 31.10.2026"), 3, "expected a date"),
        (("policy: policy.yaml", "policy: missing.yaml"), 6, "missing.yaml does not exist"),
        (("extract: extract", "extract: nowhere"), 3, "nowhere does not exist"),
        (("funding_model: funding", "funding_model: policy.yaml"), 5, "is not a folder"),
        (("[produce, scale]", "[produce, scael]"), 7, "unknown step 'scael'.*did you mean 'scale'"),
        (("[produce, scale]", "[scale, produce]"), 7, "'scale' needs step 'produce' before it"),
        (("[produce, scale]", "[produce, produce]"), 7, "listed twice"),
        (("name: test", "name: test\nname: again"), 2, "duplicate key 'name'"),
        (
            ("steps: [produce, scale]", "steps: [produce, scale]\noutputs: {stor: x}"),
            8,
            "unknown key 'stor' in outputs",
        ),
        (("steps: [produce, scale]", "steps: [produce, scale"), 8, "invalid YAML"),
        (("name: test", "name: [a, b]"), 1, "name: expected text"),
    ],
)
def test_mistakes_name_the_file_and_line(
    tmp_path: Path, change: tuple[str, str], line: int, message: str
) -> None:
    path = _broken(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError, match=message) as caught:
        load_spec(path, steps=make_steps())
    assert caught.value.line == line
    assert Path(caught.value.path) == path
    assert str(caught.value).startswith(f"{path}, line {line}: ")


def test_a_step_without_what_it_requires_is_refused(tmp_path: Path) -> None:
    path = _broken(tmp_path, GOOD.replace("policy: policy.yaml\n", ""))
    steps = make_steps()
    steps["scale"] = steps["scale"].__class__(
        **{**steps["scale"].__dict__, "requires": ("policy",)}
    )
    with pytest.raises(ConfigError, match="step 'scale' needs 'policy'"):
        load_spec(path, steps=steps)


def test_missing_name_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing key 'name'"):
        load_spec(_broken(tmp_path, GOOD.replace("name: test\n", "")), steps=make_steps())
    with pytest.raises(ConfigError, match="a run spec is a mapping"):
        load_spec(_broken(tmp_path, "- just\n- a list\n"), steps=make_steps())
    with pytest.raises(ConfigError, match="run spec not found"):
        load_spec(tmp_path / "absent.yaml", steps=make_steps())


def test_defaults_and_overrides(tmp_path: Path) -> None:
    spec = load_spec(make_project(tmp_path), steps=make_steps())
    assert spec.months == "current-year" and spec.horizon == 12
    assert spec.quarantine_threshold == 0.01
    assert spec.store == tmp_path / "out" / "mfr.duckdb"
    moved = spec.with_overrides(store=tmp_path / "elsewhere" / "x.duckdb")
    assert moved.runs_dir == tmp_path / "elsewhere" / "runs"  # a store brings its own folders
    assert moved.parameters() == spec.parameters()  # where results go does not change them


@pytest.mark.parametrize(
    ("months", "first", "last"),
    [
        ("current-year", dt.date(2026, 1, 1), dt.date(2026, 12, 1)),
        ("next-year", dt.date(2027, 1, 1), dt.date(2027, 12, 1)),
        ("year-to-date", dt.date(2026, 1, 1), dt.date(2026, 10, 1)),
        ("2025-07:2026-06", dt.date(2025, 7, 1), dt.date(2026, 6, 1)),
    ],
)
def test_months_resolve_against_the_extract_date(
    months: str, first: dt.date, last: dt.date
) -> None:
    assert resolve_months(months, dt.date(2026, 10, 31)) == (first, last)


def test_the_cli_prints_one_line_and_exits_bad_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text((REPO / "pipelines" / "nightly.yaml").read_text().replace("months:", "monts:"))
    code = main(["run", str(path)])
    err = capsys.readouterr().err.strip()
    assert code == ExitCode.BAD_CONFIG
    assert len(err.splitlines()) == 1
    assert "unknown key 'monts'" in err and "did you mean 'months'" in err and "line " in err
