"""YAML that remembers where things were: mappings and lists carry the line of each key and item,
so a strict loader can say "file, line N" for every mistake. Duplicate keys are errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from engine.errors import ConfigError

__all__ = ["Lined", "LinedList", "read_yaml"]


class Lined(dict):
    """A mapping that remembers the line of each key (1-based)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[Any, int] = {}
        self.line = 0


class LinedList(list):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[int] = []
        self.line = 0


class _DuplicateKeyError(Exception):
    def __init__(self, key: object, line: int) -> None:
        super().__init__(key)
        self.key, self.line = key, line


class _BadDateError(Exception):
    """A timestamp that is no calendar day (`2026-02-30`): PyYAML's bare ValueError has no line."""

    def __init__(self, text: str, line: int, reason: str) -> None:
        super().__init__(text)
        self.text, self.line, self.reason = text, line, reason


class _Loader(yaml.SafeLoader):
    pass


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> object:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise _BadDateError(str(node.value), node.start_mark.line + 1, str(exc)) from None


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Lined:
    loader.flatten_mapping(node)
    out = Lined()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in out:
            raise _DuplicateKeyError(key, line)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = line
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LinedList:
    out = LinedList()
    out.line = node.start_mark.line + 1
    for item in node.value:
        out.append(loader.construct_object(item, deep=True))
        out.lines.append(item.start_mark.line + 1)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def read_yaml(path: Path) -> Lined:
    """Read a YAML mapping with line numbers; any problem is a `ConfigError` naming file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("run spec not found", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the run spec ({exc})", path=path) from None
    try:
        data = yaml.load(text, Loader=_Loader)
    except _DuplicateKeyError as exc:
        raise ConfigError(f"duplicate key '{exc.key}'", path=path, line=exc.line) from None
    except _BadDateError as exc:
        message = f"{exc.text} is not a date ({exc.reason})"
        raise ConfigError(message, path=path, line=exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"not valid YAML: {problem}", path=path, line=mark.line + 1 if mark else None
        ) from None
    if not isinstance(data, Lined):
        raise ConfigError("a run spec is a mapping of keys (name, extract, steps, ...)", path=path)
    return data
