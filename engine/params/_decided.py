"""When a parameter value was decided, and a model read "as of" a date of decision.

A value is written with the date it takes effect; it may also say when it was decided (the date of
the legal act that set it), per value or for the whole file:

```yaml
# tariff.yaml
reference: Order of the Ministry of Social Policy No. 1186 of 07.12.2015
decided: 2023-12-07            # every value below was decided then, unless it says otherwise
dimensions: [service_code]
values:
  "015.1":
    2024-01-01: 70.00
    2025-03-10: {value: 78.00, decided: 2025-02-14}   # Order No. 57 of 14.02.2025
```

`load_funding_model(..., as_of=D)` ignores every value (and every `null` that ends one) decided
after D: the value before it stays in force, as it was believed to when D came. A value whose
decision date is not written, in the file nor for the value, counts as decided on the day it takes
effect. Without `as_of` the dates of decision change nothing, so existing files keep their meaning.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from engine.errors import ConfigError
from engine.yamlio import YMap, YNode, date_of, mapping_of

__all__ = ["DECIDED", "decided_value", "file_decided", "known_as_of"]

DECIDED = "decided"
_VALUE_KEYS = {"value", DECIDED}


def decided_value(node: YNode, path: Path) -> tuple[YNode, dt.date | None]:
    """A dated value as written: `78.00`, or `{value: 78.00, decided: 2025-02-14}`. Returns the
    value's node and its date of decision (None: not written)."""
    if not isinstance(node, YMap):
        return node, None
    mapping_of(node, path, _VALUE_KEYS, "a value with its date of decision")
    value = node.get("value")
    if value is None:
        raise ConfigError(
            "a value written as a mapping needs 'value' (and 'decided': YYYY-MM-DD)",
            path=path,
            line=node.line,
        )
    decided = node.get(DECIDED)
    return value, None if decided is None else date_of(decided, path, "decided date")


def file_decided(root: YMap, path: Path) -> dt.date | None:
    """The file's `decided:` date (the legal act's), the default of its values; None if absent."""
    node = root.get(DECIDED)
    return None if node is None else date_of(node, path, "decided date")


def known_as_of(
    effective: dt.date,
    decided: dt.date | None,
    default: dt.date | None,
    as_of: dt.date | None,
) -> bool:
    """Whether a value taking effect on `effective` was decided by `as_of` (always, without one):
    its own decision date, else the file's, else the day it takes effect.

    >>> d = dt.date
    >>> known_as_of(d(2025, 3, 10), d(2025, 2, 14), None, d(2025, 2, 13))
    False
    >>> known_as_of(d(2026, 1, 1), d(2025, 6, 1), None, d(2025, 7, 1))  # decided ahead
    True
    >>> known_as_of(d(2025, 1, 1), None, None, d(2024, 12, 31))  # no date: when it takes effect
    False
    """
    if as_of is None:
        return True
    return (decided or default or effective) <= as_of
