"""Synthetic registry extracts at any scale: `generate_registry`, `write_extract`, personal identifiers.

>>> from engine.synth import generate_registry
>>> tables = generate_registry(2_000, seed=1)
>>> tables["cases"]["status"].unique().sort().to_list()
['closed', 'served', 'waiting']
"""

from __future__ import annotations

from engine.synth.generate import DEFAULT_EXTRACT_DATE, DEFAULT_HISTORY_START, generate_registry
from engine.synth.pii import PII_COLUMNS, add_personal_identifiers
from engine.synth.write import EXTRACT_FORMATS, write_extract

__all__ = [
    "DEFAULT_EXTRACT_DATE",
    "DEFAULT_HISTORY_START",
    "EXTRACT_FORMATS",
    "PII_COLUMNS",
    "add_personal_identifiers",
    "generate_registry",
    "write_extract",
]
