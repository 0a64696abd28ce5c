"""`load_spec`: a run spec read against the engine's own step catalogue.

The spec reader takes the catalogue as an argument and the steps build on the spec's types; this
module joins the two, so neither imports the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.pipeline._spec import RunSpec, read_spec

__all__ = ["load_spec"]


def load_spec(path: Path | str, *, steps: Mapping[str, Any] | None = None) -> RunSpec:
    """Read and check a run spec; `steps` replaces the engine's step catalogue (tests inject their
    own). Any mistake raises `ConfigError` naming the file and line.

    >>> spec = load_spec("pipelines/nightly.yaml")
    >>> spec.steps
    ('validate', 'entitle', 'need', 'forecast', 'allocate', 'report')
    """
    if steps is None:
        from engine.pipeline._steps import STEPS  # lazily: the steps import the spec's types

        steps = STEPS
    return read_spec(path, steps=steps)
