"""A run spec's `pilot:` block: the pilot hromadas a run monitors against comparable ones.

Either a pilot file (`engine.pilot.load_pilot`, e.g. `models/pilots/sample-40.yaml`) or the same
keys written in the spec:

```yaml
pilot: models/pilots/sample-40.yaml
pilot:
  name: social-support-modernisation
  start: 2026-05-01
  comparison: same-oblasts          # or: all (every other hromada with cases)
  hromadas: [UA12020010000033698, UA12020030000073022]
```

Both are read by one reader, so a mistake is the same `ConfigError` naming the spec (or pilot) file
and the line — a hromada code the run's reference territories do not know included.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import ConfigError
from engine.pipeline._yaml import Lined, LinedList
from engine.yamlio import load_yaml, plain

if TYPE_CHECKING:
    from engine.pilot import Pilot

__all__ = ["pilot_from_spec", "pilot_parameters"]

_KEYS = ("name", "description", "start", "hromadas", "comparison")
_COMPARISONS = ("same-oblasts", "all")
_HROMADA = re.compile(r"^UA\d{17}$")  # a KATOTTG code


def pilot_parameters(pilot: Pilot | None) -> dict[str, Any] | None:
    """What of a pilot shapes the run's results (for its fingerprint), JSON-ready."""
    if pilot is None:
        return None
    return {
        "name": pilot.name,
        "start": pilot.start.isoformat(),
        "comparison": pilot.comparison,
        "hromadas": sorted(pilot.hromadas),
    }


def pilot_from_spec(
    data: Lined, root: Path, path: Path, reference: Path | None = None
) -> Pilot | None:
    """The spec's pilot (None without a `pilot:` key); a file name is relative to `root`, and the
    hromada codes are checked against `reference`'s territories (when it has them)."""
    known = _hromadas(reference)
    if "pilot" not in data:
        return None
    raw, line = data["pilot"], data.lines.get("pilot")
    if isinstance(raw, str) and raw.strip():
        file = (root / raw.strip()).resolve()
        if not file.is_file():
            raise ConfigError(f"pilot: {raw.strip()} does not exist", path=path, line=line)
        block = plain(load_yaml(file, what="pilot file"), file)
        if not isinstance(block, Lined):
            raise ConfigError("a pilot file is a mapping (name, start, hromadas)", path=file)
        return _inline(block, file, known)
    if not isinstance(raw, Lined):
        raise ConfigError(
            "pilot: expected a pilot file or a mapping (name, start, hromadas, comparison)",
            path=path,
            line=line,
        )
    return _inline(raw, path, known)


def _hromadas(reference: Path | None) -> set[str] | None:
    """The reference's hromada codes, None without a territories file."""
    import csv

    file = reference / "territories.csv" if reference is not None else None
    if file is None or not file.is_file():
        return None
    with file.open(encoding="utf-8", newline="") as handle:
        return {row["hromada_code"] for row in csv.DictReader(handle) if row.get("hromada_code")}


def _inline(block: Lined, path: Path, known: set[str] | None) -> Pilot:
    from engine.pilot import Pilot

    for key in block:
        if key not in _KEYS:
            raise ConfigError(
                f"unknown key '{key}' in pilot; known keys: {', '.join(_KEYS)}",
                path=path,
                line=block.lines.get(key),
            )

    def line(key: str) -> int | None:
        return block.lines.get(key, block.line or None)

    name = block.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("pilot.name: the pilot's name is required", path=path, line=line("name"))
    start = block.get("start")
    if not isinstance(start, dt.date) or isinstance(start, dt.datetime):
        raise ConfigError(
            f"pilot.start: expected the pilot's first day as YYYY-MM-DD, got {start!r}",
            path=path,
            line=line("start"),
        )
    comparison = block.get("comparison", "same-oblasts")
    if comparison not in _COMPARISONS:
        raise ConfigError(
            f"pilot.comparison: expected one of {', '.join(_COMPARISONS)}, got {comparison!r}",
            path=path,
            line=line("comparison"),
        )
    hromadas = block.get("hromadas")
    if not isinstance(hromadas, LinedList) or not hromadas:
        raise ConfigError(
            "pilot.hromadas: expected a list of the pilot's hromada codes",
            path=path,
            line=line("hromadas"),
        )
    codes: list[str] = []
    for item, item_line in zip(hromadas, hromadas.lines, strict=True):
        if not isinstance(item, str) or not _HROMADA.match(item.strip()):
            raise ConfigError(
                f"pilot.hromadas: {item!r} is not a KATOTTG hromada code (UA and 17 digits)",
                path=path,
                line=item_line,
            )
        if known is not None and item.strip() not in known:
            raise ConfigError(
                f"pilot.hromadas: {item.strip()} is no hromada of the run's reference territories",
                path=path,
                line=item_line,
            )
        if item.strip() in codes:
            raise ConfigError(
                f"pilot.hromadas: {item.strip()} is listed twice", path=path, line=item_line
            )
        codes.append(item.strip())
    return Pilot(name.strip(), start, tuple(codes), str(comparison))
