"""Dated funding parameters: strict loading of a model folder into interval tables (DESIGN.md §5).

>>> from engine.params import load_funding_model
>>> model = load_funding_model("models/funding/baseline")  # doctest: +SKIP
>>> model.table("tariff")  # service_code, valid_from, valid_to, value  # doctest: +SKIP
"""

from __future__ import annotations

from engine.params._load import load_funding_model
from engine.params._model import PARAMETER_SPECS, FundingModel, Parameter, ParameterSpec

__all__ = ["PARAMETER_SPECS", "FundingModel", "Parameter", "ParameterSpec", "load_funding_model"]
