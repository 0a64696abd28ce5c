"""Small steps of the tests' own, run through the real runner, so its guarantees are proven
independently of the engine's stages. Importable by the subprocesses the kill tests start."""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
import yaml

from engine.pipeline import StepContext, StepDef, StepOutput

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
