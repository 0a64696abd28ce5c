"""Shared fixtures: the bundled sample priced over 2026, its execution report and mapping."""

from __future__ import annotations

import pytest
import yaml
from execution_kit import BASELINE, PLANTED, PROGRAMMES, RUN_MONTHS, SAMPLE

from engine.entitlements import Entitlements, compute_entitlements
from engine.execution import Programmes, load_programmes
from engine.params import FundingModel, load_funding_model
from engine.reference import load_territories
from engine.registry import read_registry


@pytest.fixture(scope="session")
def model() -> FundingModel:
    return load_funding_model(BASELINE)


@pytest.fixture(scope="session")
def territories():
    return load_territories()


@pytest.fixture(scope="session")
def entitlements(model: FundingModel, territories) -> Entitlements:
    return compute_entitlements(read_registry(SAMPLE), model, territories, months=RUN_MONTHS)


@pytest.fixture(scope="session")
def programmes() -> Programmes:
    return load_programmes(PROGRAMMES)


@pytest.fixture(scope="session")
def planted() -> dict:
    return yaml.safe_load(PLANTED.read_text(encoding="utf-8"))
