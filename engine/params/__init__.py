"""Dated funding parameters: strict loading of a model folder into interval tables (DESIGN.md §5).

>>> from engine.params import load_funding_model
>>> model = load_funding_model("models/funding/baseline")  # doctest: +SKIP
>>> model.table("tariff")  # service_code, valid_from, valid_to, value  # doctest: +SKIP
"""

from __future__ import annotations

from engine.params._load import load_funding_model
from engine.params._model import (
    ADJUSTMENT_SCHEMA,
    DIMENSION_DTYPES,
    PARAMETER_SPECS,
    FundingModel,
    Parameter,
    ParameterSpec,
    intervals_from_timeline,
)
from engine.params._yaml import YMap, YNode, YScalar, YSeq, load_yaml, parse_date

__all__ = [
    "ADJUSTMENT_SCHEMA",
    "DIMENSION_DTYPES",
    "PARAMETER_SPECS",
    "FundingModel",
    "Parameter",
    "ParameterSpec",
    "YMap",
    "YNode",
    "YScalar",
    "YSeq",
    "intervals_from_timeline",
    "load_funding_model",
    "load_yaml",
    "parse_date",
]
