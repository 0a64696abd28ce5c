"""YAML with line numbers: a strict loader can then say *where* a policy file is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from engine.errors import ConfigError

__all__ = ["Lines", "load_yaml_with_lines"]

# path of keys / list indices from the document root -> 1-based line of that node
Lines = dict[tuple[Any, ...], int]


def load_yaml_with_lines(path: Path) -> tuple[Any, Lines]:
    """Read one YAML document; return its value and the line of every mapping key and list item.

    Duplicate keys (which PyYAML silently lets the last one win) are a `ConfigError`.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read policy file: {exc}", path=path) from exc
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigError("the policy file is empty", path=path)
        lines: Lines = {}
        _collect_lines(loader, node, (), lines, path)
        value = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise ConfigError(f"invalid YAML: {exc.problem}", path=path, line=line) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", path=path) from exc
    finally:
        loader.dispose()
    return value, lines


def _collect_lines(
    loader: yaml.SafeLoader, node: yaml.Node, where: tuple[Any, ...], lines: Lines, path: Path
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
