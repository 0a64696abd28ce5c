"""Synthetic registry extracts at any scale: `generate_registry`, `write_extract`, personal identifiers.

>>> from engine.synth import generate_registry
>>> tables = generate_registry(2_000, seed=1)
>>> tables["cases"]["status"].unique().sort().to_list()
['closed', 'served', 'waiting']
"""

from __future__ import annotations

from engine.synth.generate import DEFAULT_EXTRACT_DATE, DEFAULT_HISTORY_START, generate_registry

__all__ = [
    "DEFAULT_EXTRACT_DATE",
    "DEFAULT_HISTORY_START",
    "generate_registry",
]
