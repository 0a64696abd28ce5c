"""Fixtures for the report tests: small frames in the shapes the engine's stages produce."""

from __future__ import annotations

import polars as pl
import pytest
import report_kit


@pytest.fixture(scope="session")
def territories() -> pl.DataFrame:
    return report_kit.make_territories()


@pytest.fixture(scope="session")
def case_months() -> pl.DataFrame:
    return report_kit.make_case_months()


@pytest.fixture(scope="session")
def forecast() -> pl.DataFrame:
    return report_kit.make_forecast()


@pytest.fixture(scope="session")
def history() -> pl.DataFrame:
    return report_kit.make_history()
