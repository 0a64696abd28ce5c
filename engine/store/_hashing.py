"""Content hashes of inputs and of the engine's own code, so a run can tell whether anything changed."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from engine._version import __version__

__all__ = ["code_hash", "code_version", "hash_json", "hash_path"]

_CHUNK = 1 << 20


def _sha256_file(path: Path) -> tuple[str, int]:
    """The file's SHA-256 as `sha256sum` prints it, and its size in bytes."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _visible_files(root: Path) -> list[str]:
    """Regular files under `root` as `./relative/path`, in byte order (what `LC_ALL=C sort` gives).

    Hidden files and folders (.DS_Store, .git, editor swap files) are not part of an input, and
    neither are symbolic links (`find -type f` skips them too)."""
    found = [
        "./" + p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file()
        and not p.is_symlink()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    ]
    return sorted(found, key=lambda name: name.encode())


def hash_path(path: Path, role: str = "") -> dict[str, Any]:
    """SHA-256 of an input, reproducible with the standard tools.

    A file's hash is its `sha256sum`. A folder's hash is the `sha256sum` of the `sha256sum` lines of
    its visible regular files, listed from inside the folder in byte order (`LC_ALL=C`)::

        sha256sum models/allocation/default-2026.yaml
        cd models/funding/baseline && find . -type f ! -path '*/.*' -print0 \\
            | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum

    Returns `{"role", "path", "hash", "files", "bytes"}`, ready for a run manifest; a folder's
    also has `members`: each file's name (relative, `/`-separated) and its `sha256sum`.

    >>> hash_path(Path("models/funding/baseline"), "funding_model")["hash"][:12]  # doctest: +SKIP
    '3f1c0a9b7e2d'
    """
    members: dict[str, str] | None = None
    if path.is_file():
        digest, total = _sha256_file(path)
        files = 1
    else:
        names = _visible_files(path)
        lines = []
        total = 0
        members = {}
        for name in names:
            file_hash, size = _sha256_file(path / name)
            lines.append(f"{file_hash}  {name}\n")
            total += size
            members[name.removeprefix("./")] = file_hash
        digest = hashlib.sha256("".join(lines).encode()).hexdigest()
        files = len(names)
    found = {"role": role, "path": str(path), "hash": digest, "files": files, "bytes": total}
    return found if members is None else {**found, "members": members}


def hash_json(value: Any) -> str:
    """SHA-256 of a value's canonical JSON (sorted keys), for parameters and fingerprints."""
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def code_hash() -> str:
    """SHA-256 of the engine's Python sources: any code change invalidates cached steps."""
    root = Path(__file__).resolve().parents[1]  # engine/
    digest = hashlib.sha256()
    for file in sorted(root.rglob("*.py")):
        digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()


def code_version() -> str:
    """`engine.__version__`, plus `git describe` of the checkout when there is one."""
    repo = Path(__file__).resolve().parents[2]
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
    return f"{__version__}+{described}" if described else __version__
