"""The engine's node catalogue: every node a run's graph is built from, by name.

Products (what a spec's `steps:` may ask for): `validate`, `entitle`, `need`, `forecast`, `price`,
`compare`, `allocate`, `pilot`, `report`. The other nodes are the facts they share, each computed
once per run: `reference`, `model`, `registry`, `extract_date`, `months`, `history`, `priced` (the
one pricing of the registry), `case_months`, `forecast_config`, `claims` (from the case-months or
the priced forecast, as the spec's `claims:` says).
"""

from __future__ import annotations

from engine.pipeline._graph import Node
from engine.pipeline._nodes import (
    extract_date,
    history,
    model,
    months,
    need,
    reference,
    registry,
    validate,
)
from engine.pipeline._nodes_benefits import idp_burden, registry_with_benefits
from engine.pipeline._nodes_execution import validate_totals
from engine.pipeline._nodes_pilot import pilot
from engine.pipeline._nodes_plan import (
    allocate,
    claims_from_entitlements,
    claims_from_forecast,
    compare,
    report,
)
from engine.pipeline._pricing import case_months, entitle, priced
from engine.pipeline._step import StepDef
from engine.pipeline._steps_forecast import forecast, forecast_config, price

__all__ = ["STEPS"]

_NODES = (
    *(reference, model, registry, extract_date, months, history, priced, case_months),
    forecast_config,
    *(validate, entitle, need, forecast, price, compare),
    *(claims_from_entitlements, claims_from_forecast, allocate, report),
    validate_totals,
    *(registry_with_benefits, idp_burden),  # a run with a benefits extract (issue 15)
    pilot,  # a spec's pilot hromadas against comparable ones (issue 18)
)
# keyed by the function's name: two implementations of one node (`claims`) each have their own
STEPS: dict[str, Node | StepDef] = {n.fn.__name__: n for n in _NODES}
