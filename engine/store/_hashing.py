"""Content hashes of inputs and of the engine's own code, so a run can tell whether anything changed."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import engine

__all__ = ["code_hash", "code_version", "hash_json", "hash_path"]

_CHUNK = 1 << 20


def _hash_file(path: Path, digest: Any) -> int:
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size


def _visible_files(root: Path) -> list[Path]:
    # Hidden files (.DS_Store, editor swap files) are not part of an input.
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def hash_path(path: Path, role: str = "") -> dict[str, Any]:
    """SHA-256 over a file's bytes, or over a folder's relative file names and bytes.

    Returns `{"role", "path", "hash", "files", "bytes"}`, ready for a run manifest.

    >>> hash_path(Path("models/funding/baseline"), "funding_model")["hash"][:12]  # doctest: +SKIP
    '3f1c0a9b7e2d'
    """
    digest = hashlib.sha256()
    files = [path] if path.is_file() else _visible_files(path)
    total = 0
    for file in files:
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        total += _hash_file(file, digest)
        digest.update(b"\0")
    return {
        "role": role,
        "path": str(path),
        "hash": digest.hexdigest(),
        "files": len(files),
        "bytes": total,
    }


def hash_json(value: Any) -> str:
    """SHA-256 of a value's canonical JSON (sorted keys), for parameters and fingerprints."""
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def code_hash() -> str:
    """SHA-256 of the engine's Python sources: any code change invalidates cached steps."""
    root = Path(engine.__file__).parent
    digest = hashlib.sha256()
    for file in sorted(root.rglob("*.py")):
        digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()


def code_version() -> str:
    """`engine.__version__`, plus `git describe` of the checkout when there is one."""
    repo = Path(engine.__file__).resolve().parents[1]
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        described = ""
    return f"{engine.__version__}+{described}" if described else engine.__version__
