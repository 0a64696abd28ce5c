"""A sweep spec: a base run spec and the scenario points to price and allocate on it.

```yaml
# pipelines/sweep-copay.yaml
name: sweep-copay
base: pipelines/nightly.yaml           # extract, reference, funding model, months, policy
baseline: today                         # the point others are compared with (default: the first)
grid:                                   # every combination, in this order (or `points:`, a list)
  scenario: [none, models/scenarios/copay-threshold-3.yaml]
  envelope: ["75%", "85%", "100%"]      # as `mfr run --envelope`: an amount, a share, policy
  policy: [models/allocation/default-2026.yaml]
```

Each point is the base spec with its scenario, envelope and policy in place of the spec's
(`none`: no scenario; a key left out keeps the spec's). Points are named `p000`, `p001`, ... in
grid order unless a `points:` item names itself.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from engine.errors import ConfigError
from engine.pipeline._envelope import parse_envelope_option
from engine.pipeline._load import load_spec
from engine.pipeline._spec import RunSpec
from engine.yamlio import YMap, YScalar, YSeq, load_yaml, mapping_of

__all__ = ["SweepPoint", "SweepSpec", "load_sweep"]

_KEYS = {"name", "description", "base", "baseline", "grid", "points"}
_AXES = ("scenario", "envelope", "policy")
_NONE = {"none", "null", "baseline", ""}


@dataclass(frozen=True)
class SweepPoint:
    """One point: its name, what it sets (as written) and the run spec it prices."""

    name: str
    scenario: str | None  # a scenario overlay (relative to the project), None: none
    envelope: str | None  # `--envelope` text, None: the base spec's
    policy: str | None  # None: the base spec's
    spec: RunSpec

    def label(self) -> str:
        parts = [f"scenario={Path(self.scenario).stem if self.scenario else 'none'}"]
        if self.envelope is not None:
            parts.append(f"envelope={self.envelope}")
        if self.policy is not None:
            parts.append(f"policy={Path(self.policy).stem}")
        return ", ".join(parts)

    def settings(self) -> dict[str, str | None]:
        return {"scenario": self.scenario, "envelope": self.envelope, "policy": self.policy}


@dataclass(frozen=True)
class SweepSpec:
    """A sweep: its name, file, base run spec and points (`load_sweep`)."""

    name: str
    path: Path
    base: RunSpec
    points: tuple[SweepPoint, ...]
    baseline: str
    description: str = ""

    def with_store(self, store: Path) -> SweepSpec:
        base = self.base.with_overrides(store=store)
        points = tuple(replace(p, spec=replace(p.spec, store=base.store)) for p in self.points)
        return replace(self, base=base, points=points)


def _text(node: Any, path: Path, what: str) -> str:
    if not isinstance(node, YScalar) or (node.value is None and node.raw not in _NONE):
        line = getattr(node, "line", None)
        raise ConfigError(f"{what} must be a text value", path=path, line=line)
    return node.raw


def _values(node: Any, path: Path, axis: str) -> list[str | None]:
    if not isinstance(node, YSeq) or not node.items:
        raise ConfigError(f"grid '{axis}' must be a non-empty list", path=path, line=node.line)
    return [_setting(item, path, axis) for item in node.items]


def _setting(node: Any, path: Path, axis: str) -> str | None:
    text = _text(node, path, axis)
    return None if axis == "scenario" and text.lower() in _NONE else text


def _point_spec(base: RunSpec, settings: dict[str, str | None], path: Path, line: int) -> RunSpec:
    spec = base
    try:
        if "scenario" in settings:
            scenario = settings["scenario"]
            spec = replace(spec, scenario=None if scenario is None else base.root / scenario)
        if settings.get("policy") is not None:
            spec = replace(spec, policy=base.root / str(settings["policy"]))
        if settings.get("envelope") is not None:
            envelope = parse_envelope_option(str(settings["envelope"]))
            spec = replace(spec, envelope=envelope, envelope_confirmed=True)
    except ConfigError as exc:
        raise ConfigError(exc.message, path=path, line=line) from None
    for name in ("scenario", "policy"):
        file = getattr(spec, name)
        if file is not None and not Path(file).is_file():
            raise ConfigError(f"{name} file not found: {settings[name]}", path=path, line=line)
    return spec


def load_sweep(path: Path | str) -> SweepSpec:
    """Read and check a sweep spec; a mistake is a `ConfigError` naming the file and line.

    >>> sweep = load_sweep("pipelines/sweep-copay.yaml")
    >>> len(sweep.points), sweep.points[0].name, sweep.baseline
    (10, 'p000', 'p000')
    """
    path = Path(path)
    root = mapping_of(load_yaml(path, what="sweep spec"), path, _KEYS, "a sweep spec")
    name_node, base_node = root.get("name"), root.get("base")
    if name_node is None or base_node is None:
        raise ConfigError("a sweep spec needs 'name' and 'base'", path=path, line=root.line)
    # paths are relative to the project: the folder holding pipelines/, as in a run spec
    folder = path.resolve().parent
    project = folder.parent if folder.name == "pipelines" else folder
    base = load_spec((project / _text(base_node, path, "base")).resolve())
    if base.claims != "entitlements":
        raise ConfigError(
            "a sweep prices and allocates entitlements: its base spec needs claims: entitlements",
            path=path,
            line=base_node.line,
        )
    grid, listed = root.get("grid"), root.get("points")
    if (grid is None) == (listed is None):
        raise ConfigError("a sweep spec needs one of 'grid' or 'points'", path=path, line=root.line)
    points: list[SweepPoint] = []
    if isinstance(grid, YMap):
        mapping_of(grid, path, set(_AXES), "grid")
        axes = [(k.raw, _values(v, path, k.raw)) for k, v in grid.items]
        for i, combo in enumerate(itertools.product(*(values for _, values in axes))):
            settings = dict(zip([a for a, _ in axes], combo, strict=True))
            spec = _point_spec(base, settings, path, grid.line)
            points.append(_point(f"p{i:03d}", settings, spec))
    elif isinstance(listed, YSeq):
        for i, item in enumerate(listed.items):
            entry = mapping_of(item, path, {"name", *_AXES}, "a point")
            settings = {k.raw: _setting(v, path, k.raw) for k, v in entry.items if k.raw != "name"}
            named = entry.get("name")
            label = _text(named, path, "name") if named is not None else f"p{i:03d}"
            points.append(_point(label, settings, _point_spec(base, settings, path, entry.line)))
    else:
        raise ConfigError("'grid' must be a mapping, 'points' a list", path=path, line=root.line)
    names = [p.name for p in points]
    if len(set(names)) != len(names):
        raise ConfigError("two points have the same name", path=path, line=root.line)
    baseline_node = root.get("baseline")
    baseline = names[0] if baseline_node is None else _text(baseline_node, path, "baseline")
    if baseline not in names:
        raise ConfigError(f"baseline '{baseline}' is not a point", path=path, line=root.line)
    description = root.get("description")
    return SweepSpec(
        name=_text(name_node, path, "name"),
        path=path.resolve(),
        base=base,
        points=tuple(points),
        baseline=baseline,
        description="" if description is None else _text(description, path, "description"),
    )


def _point(name: str, settings: dict[str, str | None], spec: RunSpec) -> SweepPoint:
    return SweepPoint(
        name=name,
        scenario=settings.get("scenario"),
        envelope=settings.get("envelope"),
        policy=settings.get("policy"),
        spec=spec,
    )
