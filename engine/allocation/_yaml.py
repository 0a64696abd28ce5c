"""YAML with line numbers: a strict loader can then say *where* a policy file is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from engine.errors import ConfigError

__all__ = ["Lines", "load_yaml_with_lines"]

# path of keys / list indices from the document root -> 1-based line of that node
Lines = dict[tuple[Any, ...], int]


class _BadDateError(Exception):
    """A YAML timestamp that is no calendar day (`2026-02-30`), with its line."""

    def __init__(self, text: str, line: int, reason: str) -> None:
        super().__init__(text)
        self.text, self.line, self.reason = text, line, reason


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, but a timestamp that is no real day fails with its line: PyYAML's own
    constructor raises a bare `ValueError` that knows neither the file nor the line."""


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise _BadDateError(str(node.value), node.start_mark.line + 1, str(exc)) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def load_yaml_with_lines(path: Path) -> tuple[Any, Lines]:
    """Read one YAML document; return its value and the line of every mapping key and list item.

    Duplicate keys (which PyYAML silently lets the last one win) are a `ConfigError`.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read policy file: {exc}", path=path) from exc
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigError("the policy file is empty", path=path)
        lines: Lines = {}
        _collect_lines(loader, node, (), lines, path)
        value = loader.construct_document(node)
    except _BadDateError as exc:
        message = f"{exc.text} is not a date ({exc.reason})"
        raise ConfigError(message, path=path, line=exc.line) from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise ConfigError(f"invalid YAML: {exc.problem}", path=path, line=line) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", path=path) from exc
    finally:
        loader.dispose()
    return value, lines


def _collect_lines(
    loader: _Loader, node: yaml.Node, where: tuple[Any, ...], lines: Lines, path: Path
) -> None:
    lines[where] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise ConfigError(
                    "mapping keys must be plain values",
                    path=path,
                    line=key_node.start_mark.line + 1,
                )
            if key in seen:
                raise ConfigError(
                    f"duplicate key '{key}'", path=path, line=key_node.start_mark.line + 1
                )
            seen.add(key)
            _collect_lines(loader, value_node, (*where, key), lines, path)
            lines[(*where, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_lines(loader, item, (*where, index), lines, path)
