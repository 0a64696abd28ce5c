"""The accept-or-stop rule of the quarantine, stated once (engine.registry) for every command."""

from __future__ import annotations

import pytest

from engine.errors import QuarantineThresholdError
from engine.registry import check_quarantine_threshold, read_registry


@pytest.fixture(scope="module")
def sample():
    return read_registry("data_samples/registry")


def test_within_the_threshold_nothing_to_accept(sample) -> None:
    assert check_quarantine_threshold(sample, 0.5) is False
    assert check_quarantine_threshold(sample, 0.5, accept=True) is False


def test_above_the_threshold_stops_unless_accepted(sample) -> None:
    with pytest.raises(QuarantineThresholdError, match=r"above the threshold 0\.00%"):
        check_quarantine_threshold(sample, 0.0)
    assert check_quarantine_threshold(sample, 0.0, accept=True) is True


def test_the_cli_states_the_rule_in_one_place() -> None:
    from pathlib import Path

    cli = Path(__file__).resolve().parents[2] / "engine" / "cli"
    stating = [p.name for p in cli.glob("*.py") if "check_quarantine_threshold(" in p.read_text()]
    assert stating == ["_quarantine.py"]  # the commands call apply_quarantine_threshold
