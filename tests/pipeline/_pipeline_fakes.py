"""Small steps of the tests' own, run through the real runner, so its guarantees are proven
independently of the engine's stages. Importable by the subprocesses the kill tests start."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import yaml

from engine.cli import main
from engine.pipeline import StepContext, StepDef, StepOutput

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

SPEC = """\
name: {name}
root: .
extract: extract
reference: reference
funding_model: funding
policy: policy.yaml
steps: [{steps}]
"""


def make_project(root: Path, *, steps: str = "produce, scale", name: str = "test") -> Path:
    """A tiny project: an extract of numbers, a policy with a factor, and a spec; returns the spec."""
    (root / "extract").mkdir(parents=True, exist_ok=True)
    (root / "extract" / "numbers.csv").write_text("n\n1\n2\n3\n")
    (root / "reference").mkdir(exist_ok=True)
    (root / "reference" / "README").write_text("reference\n")
    (root / "funding").mkdir(exist_ok=True)
    (root / "funding" / "model.yaml").write_text("name: test\n")
    (root / "policy.yaml").write_text("factor: 2\n")
    spec = root / f"{name}.yaml"
    spec.write_text(SPEC.format(name=name, steps=steps))
    return spec


def make_steps(calls: list[str] | None = None, *, marker: Path | None = None) -> dict[str, StepDef]:
    """`produce` reads the extract, `scale` multiplies by the policy's factor, `hang` waits to be
    killed (touching `marker` first), `boom` fails."""
    seen = calls if calls is not None else []

    def produce(ctx: StepContext) -> StepOutput:
        seen.append("produce")
        numbers = pl.read_csv(ctx.spec.extract / "numbers.csv")
        return StepOutput(
            frames={"numbers": numbers},
            publish={"numbers": "numbers"},
            rows_read=numbers.height,
            notes=(f"{numbers.height} numbers read",),
        )

    def scale(ctx: StepContext) -> StepOutput:
        seen.append("scale")
        assert ctx.spec.policy is not None
        factor = yaml.safe_load(ctx.spec.policy.read_text())["factor"]
        scaled = ctx.frame("produce", "numbers").with_columns(scaled=pl.col("n") * factor)
        (ctx.workdir / "report.html").write_text("<html>numbers</html>")
        return StepOutput(
            frames={"scaled": scaled},
            publish={"scaled": "scaled"},
            meta={"report": "report.html"},
            rows_read=scaled.height,
        )

    def hang(ctx: StepContext) -> StepOutput:
        seen.append("hang")
        if marker is not None:
            marker.write_text("started")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.05)
        raise AssertionError("hang step was not killed")

    def boom(ctx: StepContext) -> StepOutput:
        seen.append("boom")
        raise RuntimeError("boom: the step broke half-way")

    return {
        "produce": StepDef("produce", produce, inputs=("extract",)),
        "scale": StepDef("scale", scale, needs=("produce",), inputs=("policy",), cacheable=False),
        "hang": StepDef("hang", hang, needs=("produce",), cacheable=False),
        "boom": StepDef("boom", boom, needs=("produce",), cacheable=False),
    }


@contextlib.contextmanager
def child_run(
    spec: Path, marker: Path, *, hang_on_publish: float = 0.0
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `spec` with the fake steps in a separate Python process, for the test to kill."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        sys.path.insert(0, {str(HERE)!r})
        from _pipeline_fakes import make_steps
        from engine.pipeline import load_spec, run_pipeline

        marker = Path({str(marker)!r})
        steps = make_steps(marker=marker)
        spec = load_spec({str(spec)!r}, steps=steps)

        def on_event(event):
            if {hang_on_publish!r} and event["event"] == "table_published":
                marker.write_text("publishing")
                time.sleep({hang_on_publish!r})

        run_pipeline(spec, steps=steps, progress=False, on_event=on_event)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=30)  # reaps it and closes the pipes


def run_mfr(*args: str) -> tuple[int, str, str]:
    """`mfr ARGS` as a scheduled job runs it: output to files (not a terminal), CI set; returns the
    exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CI", "true")
        # the code identity is pinned, as in every test here (see conftest)
        patch.setattr("engine.pipeline._runner.code_hash", lambda: "code-under-test")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    return code, out.getvalue(), err.getvalue()
