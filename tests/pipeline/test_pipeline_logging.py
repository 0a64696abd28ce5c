"""Structured logs for machines, progress only for people at a terminal."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from _pipeline_fakes import make_steps
from rich.console import Console

from engine.pipeline import load_spec, run_pipeline
from engine.pipeline._logging import interactive_console


@pytest.mark.parametrize(
    ("terminal", "ci", "expected"),
    [
        (False, None, False),
        (True, None, True),
        (True, "true", False),
        (True, "1", False),
        (True, "false", True),
    ],
)
def test_progress_only_on_an_interactive_terminal(
    monkeypatch: pytest.MonkeyPatch, terminal: bool, ci: str | None, expected: bool
) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    console = Console(file=io.StringIO(), force_terminal=terminal)
    assert interactive_console(console) is expected


def _run_with(console: Console, spec_path: Path):
    steps = make_steps()
    return run_pipeline(load_spec(spec_path, steps=steps), steps=steps, console=console)


def test_a_terminal_sees_progress_and_a_job_sees_nothing(
    spec_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    tty = io.StringIO()
    _run_with(Console(file=tty, force_terminal=True), spec_path)
    assert "produce" in tty.getvalue() and "\x1b[" in tty.getvalue()

    (spec_path.parent / "policy.yaml").write_text("factor: 9\n")
    piped = io.StringIO()
    _run_with(Console(file=piped, force_terminal=False), spec_path)
    assert piped.getvalue() == ""  # the summary is the CLI's; the job log is the file


def test_every_log_line_is_a_json_event(spec_path: Path) -> None:
    result = _run_with(Console(file=io.StringIO()), spec_path)
    lines = Path(result.manifest.outputs["log"]).read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert all({"ts", "level", "event", "run_id"} <= e.keys() for e in events)
    assert {e["run_id"] for e in events} == {result.run_id}
    names = [e["event"] for e in events]
    assert names[:2] == ["run_requested", "run_started"]
    assert names.count("step_started") == names.count("step_finished") == 2
    assert names[-2:] == ["run_committed", "run_succeeded"]
    finished = [e for e in events if e["event"] == "step_finished"]
    assert finished[0]["rows_read"] == 3 and finished[0]["seconds"] >= 0
