"""The inputs of a run: which files and folders a spec reads, their content hashes, and the record
of every file the run read that the store keeps (`engine.store._inputs`)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from engine.errors import InputFileError
from engine.pipeline._spec import RunSpec
from engine.store import RunManifest, Store, hash_path
from engine.store._inputs import HASH_ONLY, SPEC, InputFile, save_run_inputs

__all__ = ["hash_inputs", "input_files", "project_path", "record_inputs"]

# an input outside the project is kept under this folder of the rebuilt project, by role
OUTSIDE = "_outside"


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
        # a driver series the configuration reads is an input like the configuration itself
        from engine.forecasting import driver_series_files

        files = driver_series_files(spec.forecast) if spec.forecast.exists() else ()
        pairs += [(f"forecast_driver_{i}", path) for i, path in enumerate(files, 1)]
    if spec.execution is not None:
        pairs.append(("execution", spec.execution))
    if spec.programmes is not None:
        pairs.append(("programmes", spec.programmes))
    if spec.benefits is not None:
        pairs.append(("benefits", spec.benefits))
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


def project_path(spec: RunSpec, path: Path, role: str) -> str:
    """Where an input sits in the run's project (`/`-separated, relative): as the spec names it, or
    `_outside/<role>/<name>` for one outside the project."""
    relative = spec.relative(path)
    if relative is None or Path(relative).is_absolute() or ".." in Path(relative).parts:
        return f"{OUTSIDE}/{role}/{path.name}"
    return relative


def _read(path: Path, expected: str, what: str) -> bytes:
    content = path.read_bytes()
    if hashlib.sha256(content).hexdigest() != expected:
        raise InputFileError(
            f"{what} changed while the run was starting (its hash is not the one recorded); "
            "run again once it is no longer being written",
            path=path,
        )
    return content


def input_files(spec: RunSpec, manifest: RunManifest) -> list[InputFile]:
    """Every file the run read, as the manifest hashed it: the spec and each file of each input,
    with its bytes; the files of an input holding personal data (the extract) by hash only. A file
    whose bytes no longer hash as the manifest says (changed since) is an `InputFileError`."""
    files = [
        InputFile(
            SPEC,
            project_path(spec, spec.path, SPEC),
            "",
            manifest.spec_hash,
            spec.path.stat().st_size,
            _read(spec.path, manifest.spec_hash, "the spec"),
        )
    ]
    for item in manifest.inputs:
        role, path = item["role"], Path(item["path"])
        where = project_path(spec, path, role)
        members = item.get("members")
        pairs = (
            [("", path, item["hash"])]
            if members is None
            else [(name, path / name, digest) for name, digest in members.items()]
        )
        for member, file, digest in pairs:
            if role in HASH_ONLY:  # personal data: never read again, never stored
                files.append(InputFile(role, where, member, digest, file.stat().st_size))
                continue
            content = _read(file, digest, f"{role.replace('_', ' ')} file")
            files.append(InputFile(role, where, member, digest, len(content), content))
    return files


def record_inputs(store: Store, spec: RunSpec, manifest: RunManifest) -> None:
    """Keep in the store every file the run read (see `engine.store._inputs`)."""
    save_run_inputs(store, manifest.run_id, input_files(spec, manifest))
