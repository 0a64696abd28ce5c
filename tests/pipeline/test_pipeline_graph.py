"""The run's graph, with nodes of the tests' own through the real runner: built from the functions'
signatures, each node once per run, cached by its inputs' hashes; a missing input, a cycle or a
type mismatch is a clear ConfigError; `--only` and `--dry-run` come from the same graph."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml
from _pipeline_fakes import make_project, run_mfr

from engine.errors import ConfigError, ExitCode
from engine.pipeline import (
    Graph,
    RunSpec,
    StepOutput,
    load_spec,
    node,
    plan_run,
    product,
    run_pipeline,
)
from engine.store import Store


def make_nodes(calls: list[str]) -> dict:
    """`numbers` (read from the extract, cached) feeds two products; `factor` reads the policy."""

    @node(reads=("extract",), cache=True)
    def numbers(spec: RunSpec) -> pl.DataFrame:
        calls.append("numbers")
        return pl.read_csv(spec.extract / "numbers.csv")

    @node(reads=("policy",))
    def factor(spec: RunSpec) -> int:
        calls.append("factor")
        assert spec.policy is not None
        return int(yaml.safe_load(spec.policy.read_text())["factor"])

    @node(cache=True)
    def scaled(numbers: pl.DataFrame, factor: int) -> pl.DataFrame:
        calls.append("scaled")
        return numbers.with_columns(scaled=pl.col("n") * factor)

    @product(publishes=("numbers",))
    def produce(numbers: pl.DataFrame) -> StepOutput:
        calls.append("produce")
        return StepOutput(frames={"numbers": numbers}, publish={"numbers": "numbers"})

    @product(publishes=("scaled",), cache=True)
    def scale(scaled: pl.DataFrame, numbers: pl.DataFrame) -> StepOutput:
        calls.append("scale")
        assert scaled.height == numbers.height
        return StepOutput(frames={"scaled": scaled}, publish={"scaled": "scaled"})

    return {n.name: n for n in (numbers, factor, scaled, produce, scale)}


def _run(spec_path: Path, nodes: dict, **kwargs):
    spec = load_spec(spec_path, steps=nodes)
    return run_pipeline(spec, steps=nodes, progress=False, **kwargs)


def test_the_graph_is_built_from_the_signatures(spec_path: Path) -> None:
    nodes = make_nodes([])
    spec = load_spec(spec_path, steps=nodes)
    graph = Graph(nodes, spec.steps, spec)
    assert graph.deps["scaled"] == ("numbers", "factor")
    assert graph.deps["numbers"] == ()  # `spec` is the runner's to give
    order = graph.order
    assert order.index("numbers") < order.index("produce") < order.index("scale")
    assert order.index("factor") < order.index("scaled") < order.index("scale")
    assert sorted(order) == sorted(set(order))  # every node once


def test_each_node_runs_once_per_run_and_cached_nodes_are_not_recomputed(spec_path: Path) -> None:
    calls: list[str] = []
    nodes = make_nodes(calls)
    first = _run(spec_path, nodes)
    # `numbers` is taken by `produce`, `scaled` and `scale`: computed once
    assert sorted(calls) == ["factor", "numbers", "produce", "scale", "scaled"]
    actions = {n["node"]: n["action"] for n in first.manifest.outputs["nodes"]}
    assert set(actions.values()) == {"computed"}

    calls.clear()
    (spec_path.parent / "policy.yaml").write_text("factor: 10\n")  # only `factor` reads it
    second = _run(spec_path, nodes)
    assert "numbers" not in calls  # read back from the step cache by its unchanged key
    assert sorted(calls) == ["factor", "produce", "scale", "scaled"]  # downstream of the policy
    assert {n["node"]: n["action"] for n in second.manifest.outputs["nodes"]}["numbers"] == "cached"
    store = Store(load_spec(spec_path, steps=nodes).store)
    assert store.table("scaled", run_id=second.run_id)["scaled"].to_list() == [10, 20, 30]

    calls.clear()
    (spec_path.parent / "extract" / "numbers.csv").write_text("n\n1\n2\n3\n4\n")
    third = _run(spec_path, nodes)  # a new extract: a new key for `numbers` and all below it
    assert sorted(calls) == ["factor", "numbers", "produce", "scale", "scaled"]
    assert store.table("scaled", run_id=third.run_id)["scaled"].to_list() == [10, 20, 30, 40]
    assert [s.name for s in third.manifest.steps] == ["produce", "scale"]
    assert all(s.status == "succeeded" and s.seconds is not None for s in third.manifest.steps)


def test_a_missing_input_a_cycle_and_a_type_mismatch_are_config_errors(spec_path: Path) -> None:
    nodes = make_nodes([])
    spec = load_spec(spec_path, steps=nodes)

    @node()
    def scaled(numbers: pl.DataFrame, factr: int) -> pl.DataFrame:  # a typo in an input's name
        return numbers

    with pytest.raises(ConfigError, match="node 'scaled' takes 'factr', which no node makes"):
        Graph({**nodes, "scaled": scaled}, spec.steps, spec)

    @node()
    def numbers(scaled: pl.DataFrame) -> pl.DataFrame:
        return scaled

    with pytest.raises(ConfigError, match="cycle: numbers -> scaled -> numbers"):
        Graph({**nodes, "numbers": numbers}, spec.steps, spec)

    @node()
    def factor(spec: RunSpec) -> str:
        return "2"

    with pytest.raises(ConfigError, match="takes 'factor' as int, but node 'factor' returns str"):
        Graph({**nodes, "factor": factor}, spec.steps, spec)
    with pytest.raises(ConfigError, match="cycle"):  # and `mfr run` stops before running anything
        run_pipeline(spec, steps={**nodes, "numbers": numbers}, progress=False)
    assert not spec.store.exists()


def test_the_spec_chooses_between_two_implementations_of_a_node(spec_path: Path) -> None:
    nodes = make_nodes([])

    @node(name="factor", when=lambda spec: spec.months == "current-year")
    def factor_this_year(spec: RunSpec) -> int:
        return 3

    @node(name="factor", when=lambda spec: spec.months != "current-year")
    def factor_other(spec: RunSpec) -> int:
        return 5

    catalogue = {**nodes, "factor_this_year": factor_this_year, "factor_other": factor_other}
    del catalogue["factor"]
    result = _run(spec_path, catalogue)
    assert result.outputs["scale"].frames["scaled"]["scaled"].to_list() == [3, 6, 9]
    with pytest.raises(ConfigError, match="two nodes answer to 'factor'"):
        spec = load_spec(spec_path, steps=nodes)
        Graph({**nodes, "factor_this_year": factor_this_year}, spec.steps, spec)


def test_only_recomputes_a_node_and_its_descendants(spec_path: Path) -> None:
    calls: list[str] = []
    nodes = make_nodes(calls)
    first = _run(spec_path, nodes)
    calls.clear()
    again = _run(spec_path, nodes, only="scaled")
    assert not again.reused and again.run_id != first.run_id  # --only runs, it is not "up to date"
    # `numbers` came from the cache; `produce` (not cached, a wrapper) is rebuilt from it
    assert sorted(calls) == ["factor", "produce", "scale", "scaled"]
    assert [s.name for s in again.manifest.steps] == ["produce", "scale"]  # all still published
    store = Store(load_spec(spec_path, steps=nodes).store)
    assert store.table("numbers", run_id=again.run_id).height == 3
    assert store.table("scaled", run_id=again.run_id)["scaled"].to_list() == [2, 4, 6]
    with pytest.raises(ConfigError, match=r"--only nothing: no such node.*numbers"):
        _run(spec_path, nodes, only="nothing")


def test_dry_run_prints_the_plan_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    nodes = make_nodes(calls)
    monkeypatch.setattr("engine.pipeline._steps.STEPS", nodes)
    spec_path = make_project(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code, out, err = run_mfr("run", str(spec_path), "--dry-run")
    assert code == ExitCode.OK, err
    assert calls == []  # nothing ran
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written
    lines = out.splitlines()
    order = [line.split()[1] if line.startswith("  *") else line.split()[0] for line in lines[2:7]]
    assert order == ["numbers", "produce", "factor", "scaled", "scale"]
    assert (
        "compute (then cached)" in out and "Would publish: produce: numbers; scale: scaled" in out
    )

    assert run_mfr("run", str(spec_path))[0] == 0
    calls.clear()
    code, out, _ = run_mfr("run", str(spec_path), "--dry-run", "--only", "scaled")
    assert code == 0 and calls == []
    plan = {line.split()[-3 if "*" in line else 0]: line for line in out.splitlines()[2:]}
    assert any("numbers" in line and "cached: read back" in line for line in plan.values())
    assert any("scaled" in line and "compute" in line for line in plan.values())
    spec = load_spec(spec_path, steps=nodes)
    actions = plan_run(spec, steps=nodes).actions
    assert actions == {"numbers": "load", "produce": "compute", "scale": "load"}  # all else cached
    assert plan_run(spec, steps=nodes, force=True).actions["numbers"] == "compute"
