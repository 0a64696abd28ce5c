"""`load_funding_model`: a model folder, read strictly, with an optional scenario overlay on top.

It sits above both the model reader and `engine.scenarios`, which builds on the reader's types, so
neither of those imports the other.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from engine.errors import ConfigError
from engine.params._model import FundingModel, read_funding_model

__all__ = ["load_funding_model"]


def load_funding_model(
    path: str | Path,
    scenario: str | Path | None = None,
    *,
    services: pl.DataFrame | None = None,
    as_of: dt.date | str | None = None,
) -> FundingModel:
    """Load a funding model folder strictly; apply a scenario overlay if one is given.

    `as_of` (a date, or `YYYY-MM-DD`) reads the model as it was known on that date of decision:
    every value decided later is ignored, and the value before it stays in force (a value's date
    of decision is its `decided:`, else its file's, else the day it takes effect; see
    `engine.params._decided`). So last year's budget can be recomputed with the rules known then.

    `services` is the catalogue every service-keyed parameter must cover (default: the reference
    catalogue from `engine.reference.load_services()`). Any problem raises `ConfigError` naming the
    file and line.

    >>> model = load_funding_model("models/funding/baseline")
    >>> model.version != ""
    True
    >>> load_funding_model("models/funding/baseline", as_of="2024-06-30").table("tariff").filter(
    ...     pl.col("service_code") == "015.1"
    ... )["value"].to_list()  # the 2025 tariff was not known yet
    [70.0]
    """
    if services is None:
        from engine.reference import load_services  # the reference catalogue is the yardstick

        services = load_services()
    if isinstance(as_of, str):
        from engine.dates import parse_date

        try:
            as_of = parse_date(as_of)
        except ValueError as exc:
            raise ConfigError(f"as_of: {exc} (expected YYYY-MM-DD)") from None
    try:
        model = read_funding_model(path, services, as_of=as_of)
    except ConfigError as exc:
        if as_of is None:
            raise
        raise ConfigError(  # a value missing as of then: say why
            f"{exc.message} (as of {as_of}: values decided later are ignored)",
            path=exc.path,
            line=exc.line,
            column=exc.column,
        ) from None
    if scenario is None:
        return model
    from engine.scenarios import apply_scenario  # lazily: scenarios build on this package

    return apply_scenario(model, scenario, services=services)
