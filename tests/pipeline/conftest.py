from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))  # the fake steps (_pipeline_fakes.py) live next to the tests

from _pipeline_fakes import make_project  # noqa: E402


@pytest.fixture(autouse=True)
def _fixed_code_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin the engine's code hash within a test: engineers editing the package while the tests run
    must not make two runs of one test look like different code."""
    monkeypatch.setattr("engine.pipeline._runner.code_hash", lambda: "code-under-test")


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    """A tiny project (extract of three numbers, a policy) and its spec `produce → scale`."""
    return make_project(tmp_path)
