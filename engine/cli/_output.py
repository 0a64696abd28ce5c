"""Output folders the CLI writes: only the command's own files, each complete or absent.

A folder named by `--out` may hold other things (a user's notes, a sub-folder, another command's
outputs). A run touches only the files it writes and the files the same command wrote there
before, which the folder's marker `.mfr-output.json` lists (per command: files, time, state). A
non-empty folder without a marker was not written by mfr and is refused unless `--overwrite`; even
then only the new files' own names are replaced and nothing else is removed.

New files are staged in a hidden folder (inside the output folder when it exists, beside it when it
does not) and moved into place once all are complete. SIGINT and SIGTERM are deferred for the few
renames that replace the previous outputs, and an error during them puts the previous outputs back:
a failure or an interruption leaves the previous outputs as they were and no partial new ones.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ConfigError

__all__ = ["OUTPUT_MARKER", "OVERWRITE_HELP", "check_output_folder", "staged_folder"]

OUTPUT_MARKER = ".mfr-output.json"
OVERWRITE_HELP = (
    "Write into a non-empty folder mfr did not write (only files of the same names are replaced)."
)
_STAGING = ".mfr-staging-"
_FORMAT = 1
_SHOWN = 3  # foreign names quoted in a refusal


@dataclass(frozen=True)
class _Folder:
    """What an output folder holds, as far as a run is concerned."""

    path: Path
    exists: bool
    marker: dict[str, dict[str, Any]] | None  # command -> entry; None: no (readable) marker
    foreign: tuple[str, ...]  # entries neither the marker lists nor a staging folder

    def owned(self, command: str) -> set[str]:
        """Files the marker says `command` wrote here."""
        entry = (self.marker or {}).get(command, {})
        return set(entry.get("files", ()))

    def owner_of(self, name: str) -> str | None:
        """The command whose outputs include `name`, if any."""
        for command, entry in (self.marker or {}).items():
            if name in entry.get("files", ()):
                return command
        return None


def check_output_folder(out: Path, *, overwrite: bool = False) -> Path:
    """Refuse an `--out` that is a file, or a non-empty folder mfr did not write (unless
    `overwrite`), before a command does its work; returns the folder's absolute path."""
    folder = _inspect(out)
    if folder.foreign and folder.marker is None and not overwrite:
        shown = [f"'{name}'" for name in folder.foreign[:_SHOWN]]
        more = len(folder.foreign) - _SHOWN
        listed = ", ".join(shown) + (f" and {more} more" if more > 0 else "")
        raise ConfigError(
            f"--out folder holds files mfr did not write ({listed}); give --out a new or empty "
            "folder, or add --overwrite to write beside them (mfr replaces only its own files)",
            path=folder.path,
        )
    return folder.path


@contextlib.contextmanager
def staged_folder(out: Path, *, command: str, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty hidden folder to write `command`'s outputs into; on success they replace
    that command's previous outputs in `out`, and nothing else there is touched.

    Refuses (ConfigError) what `check_output_folder` refuses, and a new file whose name another
    command's output or a file mfr did not write already has, unless `overwrite`.
    """
    path = check_output_folder(out, overwrite=overwrite)
    if path.exists():
        parent, prefix = path, _STAGING
    else:
        parent, prefix = path.parent, f".{path.name}{_STAGING}"
        parent.mkdir(parents=True, exist_ok=True)
    _sweep(parent, prefix)
    staging = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent))
    try:
        yield staging
        with _signals_held():
            _commit(path, staging, command=command, overwrite=overwrite)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _inspect(out: Path) -> _Folder:
    path = Path(out).resolve()
    if path.exists() and not path.is_dir():
        raise ConfigError("is a file, not a folder; --out takes a folder", path=path)
    if not path.exists():
        return _Folder(path, False, None, ())
    marker = _read_marker(path / OUTPUT_MARKER)
    listed = {name for entry in (marker or {}).values() for name in entry["files"]}
    foreign = []
    for entry in sorted(path.iterdir(), key=lambda p: p.name):
        name = entry.name
        if name in listed or (marker is not None and name == OUTPUT_MARKER):
            continue
        if name.startswith(_STAGING) and entry.is_dir() and not entry.is_symlink():
            continue
        foreign.append(f"{name}/" if entry.is_dir() else name)
    return _Folder(path, True, marker, tuple(foreign))


def _read_marker(file: Path) -> dict[str, dict[str, Any]] | None:
    """The marker's entries per command; None when it is absent or not one mfr wrote."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("written_by") != "mfr":
        return None
    commands = data.get("commands")
    if not isinstance(commands, dict):
        return None
    entries: dict[str, dict[str, Any]] = {}
    for command, entry in commands.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("files"), list):
            return None
        # a hand-edited marker must never make a run remove something outside the folder
        files = [n for n in entry["files"] if isinstance(n, str) and _plain(n)]
        entries[str(command)] = {**entry, "files": files}
    return entries


def _plain(name: str) -> bool:
    return (
        name not in ("", ".", "..", OUTPUT_MARKER)
        and Path(name).name == name
        and "\\" not in name
        and not name.startswith(_STAGING)
    )


def _commit(path: Path, staging: Path, *, command: str, overwrite: bool) -> None:
    new = sorted(p.name for p in staging.iterdir())
    if not path.exists():
        _write_marker(staging / OUTPUT_MARKER, {command: _entry(new, "complete")}, scratch=staging)
        os.rename(staging, path)  # one rename: the whole new folder appears at once
        return
    folder = _inspect(path)
    previous = folder.owned(command)
    replaced = _replaced(folder, command, new, overwrite=overwrite)
    marker = {c: e for c, e in (folder.marker or {}).items() if c != command}
    for other in marker.values():  # files taken over from another command (only --overwrite)
        other["files"] = [n for n in other["files"] if n not in replaced]
    old_bytes = _bytes_or_none(path / OUTPUT_MARKER)
    # listed before anything moves: after a SIGKILL here every mfr file is still known as mfr's
    _write_marker(
        path / OUTPUT_MARKER,
        {**marker, command: _entry(sorted(previous | set(new)))},
        scratch=staging,
    )
    backup = staging / ".previous"
    backup.mkdir()
    moved: list[str] = []
    placed: list[str] = []
    try:
        for name in sorted(previous | replaced):
            if (path / name).is_file() or (path / name).is_symlink():
                os.replace(path / name, backup / name)
                moved.append(name)
        for name in new:
            os.replace(staging / name, path / name)
            placed.append(name)
        _write_marker(
            path / OUTPUT_MARKER, {**marker, command: _entry(new, "complete")}, scratch=staging
        )
    except BaseException:
        for name in placed:
            (path / name).unlink(missing_ok=True)
        for name in moved:
            os.replace(backup / name, path / name)
        if old_bytes is None:
            (path / OUTPUT_MARKER).unlink(missing_ok=True)
        else:
            _atomic_write(path / OUTPUT_MARKER, old_bytes, scratch=staging)
        raise


def _replaced(folder: _Folder, command: str, new: list[str], *, overwrite: bool) -> set[str]:
    """New names already held by something other than `command`'s previous outputs."""
    own = folder.owned(command)
    clashes = [n for n in new if n not in own and (folder.path / n).exists()]
    for name in clashes:
        target = folder.path / name
        if target.is_dir() and not target.is_symlink():
            raise ConfigError(
                f"--out folder has a sub-folder '{name}' where mfr {command} writes a file; "
                "move it away or choose another --out folder",
                path=folder.path,
            )
        if not overwrite:
            owner = folder.owner_of(name)
            whose = f"mfr {owner} wrote" if owner else "mfr did not write"
            raise ConfigError(
                f"--out folder already holds '{name}', which {whose}; choose another --out "
                f"folder, or add --overwrite to replace that file",
                path=folder.path,
            )
    return set(clashes)


def _entry(files: list[str], state: str = "writing") -> dict[str, Any]:
    written = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return {"files": files, "written_at": written, "state": state}


def _write_marker(file: Path, commands: dict[str, dict[str, Any]], *, scratch: Path) -> None:
    from engine import __version__

    data = {
        "written_by": "mfr",
        "format": _FORMAT,
        "version": __version__,
        "note": "Files mfr wrote here, per command; a later run replaces only these.",
        "commands": dict(sorted(commands.items())),
    }
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    _atomic_write(file, text.encode("utf-8"), scratch=scratch)


def _atomic_write(file: Path, data: bytes, *, scratch: Path) -> None:
    """Write `file` whole or not at all, through a temporary file in `scratch` (same file system)."""
    tmp = scratch / f".{file.name}.tmp"
    try:
        tmp.write_bytes(data)
        os.replace(tmp, file)
    finally:
        tmp.unlink(missing_ok=True)


def _bytes_or_none(file: Path) -> bytes | None:
    try:
        return file.read_bytes()
    except FileNotFoundError:
        return None


def _sweep(parent: Path, prefix: str) -> None:
    """Remove staging folders of runs that were killed (their process is gone)."""
    for entry in parent.glob(f"{prefix}*"):
        pid = entry.name[len(prefix) :].split("-", 1)[0]
        if entry.is_dir() and not entry.is_symlink() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Defer SIGINT/SIGTERM while the outputs are swapped; a signal that came is raised after.

    Handlers, not a signal mask: a mask is per thread, and polars' worker threads would take the
    signal and have the main thread's handler run in the middle of the renames anyway.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers run in the main thread only: nothing can interrupt this one
        return
    pending: list[int] = []

    def defer(signum: int, _frame: object) -> None:
        pending.append(signum)

    previous = {s: signal.signal(s, defer) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if pending:
            signal.raise_signal(pending[0])  # now handled as it would have been
