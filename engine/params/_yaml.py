"""A strict, line-aware YAML reader for configuration files.

PyYAML's `safe_load` silently keeps the last of two duplicate keys, turns `2024-02-30` into an
exception without a line, and forgets where each value came from. Configuration errors must name the
file and the line, so we compose the node graph ourselves and keep every value's line.

Dates are deliberately *not* converted: they stay strings so the caller can parse them strictly and
report a bad one with its line.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from engine.errors import ConfigError

__all__ = ["YMap", "YNode", "YScalar", "YSeq", "load_yaml", "parse_date"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_TAG = "tag:yaml.org,2002:"


@dataclass(frozen=True)
class YScalar:
    """A scalar: `raw` is the text as written, `value` its YAML type (dates stay text)."""

    raw: str
    value: Any
    line: int


@dataclass(frozen=True)
class YSeq:
    items: tuple[YNode, ...]
    line: int


@dataclass(frozen=True)
class YMap:
    """A mapping whose keys are unique scalars, in file order."""

    items: tuple[tuple[YScalar, YNode], ...]
    line: int

    def get(self, key: str) -> YNode | None:
        for k, v in self.items:
            if k.raw == key:
                return v
        return None


YNode = YScalar | YSeq | YMap


def _scalar(node: yaml.ScalarNode) -> YScalar:
    line = node.start_mark.line + 1
    tag = node.tag.removeprefix(_TAG)
    value: Any
    if tag == "null":
        value = None
    elif tag == "bool":
        value = _CONSTRUCTOR.construct_yaml_bool(node)
    elif tag == "int":
        value = _CONSTRUCTOR.construct_yaml_int(node)
    elif tag == "float":
        value = _CONSTRUCTOR.construct_yaml_float(node)
    else:  # str, timestamp (kept as text on purpose) and anything exotic
        value = node.value
    return YScalar(raw=node.value, value=value, line=line)


def _convert(node: yaml.Node, path: Path) -> YNode:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return YSeq(tuple(_convert(item, path) for item in node.value), line)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        items: list[tuple[YScalar, YNode]] = []
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _TAG + "merge":
                raise ConfigError("a mapping key must be a plain value", path=path, line=key_line)
            key = _scalar(key_node)
            if key.raw in seen:
                raise ConfigError(
                    f"duplicate key '{key.raw}' (first at line {seen[key.raw]})",
                    path=path,
                    line=key_line,
                )
            seen[key.raw] = key_line
            items.append((key, _convert(value_node, path)))
        return YMap(tuple(items), line)
    raise ConfigError(f"unsupported YAML node {type(node).__name__}", path=path, line=line)


def load_yaml(path: Path, text: str | None = None) -> YNode:
    """Read one YAML document into line-aware nodes; any problem is a `ConfigError` with a line."""
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror}", path=path) from exc
        except UnicodeDecodeError as exc:
            raise ConfigError("not UTF-8 text", path=path) from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"invalid YAML: {exc.problem}", path=path, line=line) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", path=path) from exc
    if node is None:
        raise ConfigError("empty file", path=path, line=1)
    return _convert(node, path)


def parse_date(node: YNode, path: Path, what: str = "date") -> dt.date:
    """Parse `YYYY-MM-DD` strictly (no other spelling, a real calendar day)."""
    if not isinstance(node, YScalar) or not _DATE.match(node.raw):
        shown = node.raw if isinstance(node, YScalar) else type(node).__name__
        raise ConfigError(f"bad {what} '{shown}': expected YYYY-MM-DD", path=path, line=node.line)
    try:
        return dt.date.fromisoformat(node.raw)
    except ValueError as exc:
        raise ConfigError(
            f"bad {what} '{node.raw}': {node.raw} is not a date ({exc})", path=path, line=node.line
        ) from exc
