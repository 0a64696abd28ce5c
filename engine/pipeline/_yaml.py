"""A run spec's YAML, read by the engine's one YAML reader (`engine.yamlio`): values with the line
of every key and item, so the spec loader can say "file, line N" for every mistake."""

from __future__ import annotations

from pathlib import Path

from engine.errors import ConfigError
from engine.yamlio import Lined, LinedList, load_yaml, plain

__all__ = ["Lined", "LinedList", "check_keys", "close_match", "read_yaml"]


def read_yaml(path: Path) -> Lined:
    """The run spec at `path` as a `Lined` mapping; any problem is a `ConfigError` with its line."""
    data = plain(load_yaml(path, what="run spec"), path)
    if not isinstance(data, Lined):
        raise ConfigError("a run spec is a mapping of keys (name, extract, steps, ...)", path=path)
    return data


def close_match(key: str, known: set[str]) -> str:
    """' (did you mean 'x'?)' for the known name nearest `key`, or nothing."""
    import difflib

    near = difflib.get_close_matches(key, sorted(known), n=1)
    return f" (did you mean '{near[0]}'?)" if near else ""


def check_keys(data: Lined, known: set[str], path: Path, where: str) -> None:
    """An unknown key of `data` is a `ConfigError` at its line, naming the nearest known one."""
    for key in data:
        if not isinstance(key, str) or key not in known:
            raise ConfigError(
                f"unknown key '{key}' in {where}{close_match(str(key), known)}; "
                f"known keys: {', '.join(sorted(known))}",
                path=path,
                line=data.lines.get(key),
            )
