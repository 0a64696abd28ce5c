"""The one YAML reader of the engine: strict, and every value remembers its line.

PyYAML's `safe_load` silently keeps the last of two duplicate keys, turns `2024-02-30` into an
exception without a line, and forgets where each value came from. Configuration errors must name
the file and the line, so `load_yaml` composes the node graph itself and keeps every value's line;
any problem is a `ConfigError` naming the file and line. Funding models, scenarios, allocation
policies, run specs and forecast configurations are all read here. Two views of the same nodes:

- the nodes themselves (`YMap`, `YSeq`, `YScalar`), dates left as text for a strict parser;
- `plain(node)`: Python values with dates as `datetime.date`; mappings are `Lined` dicts and lists
  `LinedList`s that keep the line of each key and item; `lines_of(node)` maps the path of every
  key and item from the root to its line.

    >>> path = Path("policy.yaml")
    >>> root = load_yaml(path, "name: test\\nfrom: 2026-01-01\\ntiers: [a, b]\\n")
    >>> root.get("from").raw, plain(root, path)["from"], plain(root, path).lines["tiers"]
    ('2026-01-01', datetime.date(2026, 1, 1), 3)
    >>> load_yaml(Path("policy.yaml"), "name: a\\nname: b\\n")
    Traceback (most recent call last):
    engine.errors.ConfigError: policy.yaml, line 2: duplicate key 'name' (first at line 1)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from engine.dates import DATE_TEXT, parse_date
from engine.errors import ConfigError

__all__ = [
    "Lined",
    "LinedList",
    "Lines",
    "YMap",
    "YNode",
    "YScalar",
    "YSeq",
    "date_of",
    "lines_of",
    "load_yaml",
    "mapping_of",
    "plain",
]

_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_TAG = "tag:yaml.org,2002:"

# path of keys / list indices from the document root -> 1-based line of that node
Lines = dict[tuple[Any, ...], int]


@dataclass(frozen=True)
class YScalar:
    """A scalar: `raw` is the text as written, `value` its YAML type (dates stay text)."""

    raw: str
    value: Any
    line: int
    tag: str = "str"


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


class Lined(dict):
    """A mapping that remembers the line of each key (1-based) and its own."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[Any, int] = {}
        self.line = 0


class LinedList(list):
    """A list that remembers the line of each item (1-based) and its own."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[int] = []
        self.line = 0


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
    return YScalar(raw=node.value, value=value, line=line, tag=tag)


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


def load_yaml(path: Path, text: str | None = None, *, what: str = "file") -> YNode:
    """Read one YAML document (the file at `path`, or `text` said to come from it) into nodes.

    `what` names the file in messages (`run spec not found`, `the policy file is empty`).
    """
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{what} not found", path=path) from None
        except OSError as exc:
            raise ConfigError(f"cannot read the {what}: {exc.strerror}", path=path) from None
        except UnicodeDecodeError:
            raise ConfigError(f"the {what} is not UTF-8 text", path=path) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"invalid YAML: {exc.problem}", path=path, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", path=path) from None
    if node is None:
        raise ConfigError(f"the {what} is empty", path=path, line=1)
    return _convert(node, path)


def mapping_of(node: YNode, path: Path, allowed: Collection[str], what: str) -> YMap:
    """`node` as a mapping whose keys are all `allowed`; otherwise a `ConfigError` at the line.

    >>> mapping_of(load_yaml(Path("x.yaml"), "name: a\\nsize: 2\\n"), Path("x.yaml"), {"name"}, "x")
    Traceback (most recent call last):
    engine.errors.ConfigError: x.yaml, line 2: unknown key 'size' (allowed: ['name'])
    """
    if not isinstance(node, YMap):
        raise ConfigError(f"{what} must be a mapping", path=path, line=node.line)
    for key, _ in node.items:
        if key.raw not in allowed:
            message = f"unknown key '{key.raw}' (allowed: {sorted(allowed)})"
            raise ConfigError(message, path=path, line=key.line)
    return node


def date_of(node: YNode | None, path: Path, what: str = "date") -> dt.date:
    """The `YYYY-MM-DD` date a node holds, parsed strictly (no other spelling, a real day)."""
    if not isinstance(node, YScalar):
        shown = type(node).__name__
        line = node.line if node is not None else None
        raise ConfigError(f"bad {what} '{shown}': expected YYYY-MM-DD", path=path, line=line)
    if not DATE_TEXT.match(node.raw):
        raise ConfigError(
            f"bad {what} '{node.raw}': expected YYYY-MM-DD", path=path, line=node.line
        )
    try:
        return parse_date(node.raw)
    except ValueError as exc:
        raise ConfigError(f"bad {what} '{node.raw}': {exc}", path=path, line=node.line) from None


def plain(node: YNode, path: Path) -> Any:
    """The Python value of a node: `Lined` mappings, `LinedList` lists, YAML dates as dates."""
    if isinstance(node, YScalar):
        if node.tag != "timestamp":
            return node.value
        try:
            return _CONSTRUCTOR.construct_yaml_timestamp(
                yaml.ScalarNode(_TAG + "timestamp", node.raw)
            )
        except ValueError as exc:
            raise ConfigError(
                f"{node.raw} is not a date ({exc})", path=path, line=node.line
            ) from None
    if isinstance(node, YSeq):
        items = LinedList()
        items.line = node.line
        for item in node.items:
            items.append(plain(item, path))
            items.lines.append(item.line)
        return items
    mapping = Lined()
    mapping.line = node.line
    for key, value in node.items:
        name = plain(key, path)
        mapping[name] = plain(value, path)
        mapping.lines[name] = key.line
    return mapping


def lines_of(node: YNode, path: Path) -> Lines:
    """The line of every mapping key and list item, by its path of keys and indices from `node`."""
    lines: Lines = {}

    def visit(node: YNode, where: tuple[Any, ...]) -> None:
        lines[where] = node.line
        if isinstance(node, YMap):
            for key, value in node.items:
                name = plain(key, path)
                visit(value, (*where, name))
                lines[(*where, name)] = key.line
        elif isinstance(node, YSeq):
            for index, item in enumerate(node.items):
                visit(item, (*where, index))

    visit(node, ())
    return lines
