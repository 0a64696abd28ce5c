"""`load_funding_model`: a model folder, read strictly, with an optional scenario overlay on top.

It sits above both the model reader and `engine.scenarios`, which builds on the reader's types, so
neither of those imports the other.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from engine.params._model import FundingModel, read_funding_model

__all__ = ["load_funding_model"]


def load_funding_model(
    path: str | Path,
    scenario: str | Path | None = None,
    *,
    services: pl.DataFrame | None = None,
) -> FundingModel:
    """Load a funding model folder strictly; apply a scenario overlay if one is given.

    `services` is the catalogue every service-keyed parameter must cover (default: the reference
    catalogue from `engine.reference.load_services()`). Any problem raises `ConfigError` naming the
    file and line.

    >>> model = load_funding_model("models/funding/baseline")
    >>> model.version != ""
    True
    """
    if services is None:
        from engine.reference import load_services  # the reference catalogue is the yardstick

        services = load_services()
    model = read_funding_model(path, services)
    if scenario is None:
        return model
    from engine.scenarios import apply_scenario  # lazily: scenarios build on this package

    return apply_scenario(model, scenario, services=services)
