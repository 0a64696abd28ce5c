"""A run spec's YAML, read by the engine's one YAML reader (`engine.yamlio`): values with the line
of every key and item, so the spec loader can say "file, line N" for every mistake."""

from __future__ import annotations

from pathlib import Path

from engine.errors import ConfigError
from engine.yamlio import Lined, LinedList, load_yaml, plain

__all__ = ["Lined", "LinedList", "read_yaml"]


def read_yaml(path: Path) -> Lined:
    """The run spec at `path` as a `Lined` mapping; any problem is a `ConfigError` with its line."""
    data = plain(load_yaml(path, what="run spec"), path)
    if not isinstance(data, Lined):
        raise ConfigError("a run spec is a mapping of keys (name, extract, steps, ...)", path=path)
    return data
