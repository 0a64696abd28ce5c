"""The inputs of a run: which files and folders a spec reads, and their content hashes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.errors import InputFileError
from engine.pipeline._spec import RunSpec
from engine.store import hash_path

__all__ = ["hash_inputs"]


def _input_paths(spec: RunSpec) -> list[tuple[str, Path]]:
    pairs = [
        ("extract", spec.extract),
        ("reference", spec.reference),
        ("funding_model", spec.funding_model),
    ]
    if spec.scenario is not None:
        pairs.append(("scenario", spec.scenario))
    pairs += [(f"compare_scenario_{i + 1}", p) for i, p in enumerate(spec.compare_scenarios)]
    if spec.policy is not None:
        pairs.append(("policy", spec.policy))
    if spec.forecast is not None:
        pairs.append(("forecast", spec.forecast))
    return pairs


def hash_inputs(spec: RunSpec) -> list[dict[str, Any]]:
    """Each input of a spec with its content hash (what `sha256sum` prints); a missing one is an
    `InputFileError` before anything runs."""
    digests = []
    for role, path in _input_paths(spec):
        if not path.exists():
            raise InputFileError(f"{role.replace('_', ' ')} not found", path=path)
        digests.append(hash_path(path, role))
    return digests
