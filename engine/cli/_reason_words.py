"""Why a row was quarantined or a warning raised while reading an extract, in Ukrainian.

The readers (`engine.registry`, `engine.benefits`, `engine.execution`) record each reason in
English in the quarantine and warnings tables (a record reads the same whatever language printed
it); the command line says them in the output language through `engine.cli._words.translate`,
whose sentences include these (`REASON_SENTENCES`, merged into `SENTENCES`).
"""

from __future__ import annotations

__all__ = ["REASON_SENTENCES"]

# key -> (Ukrainian, English), as `engine.cli._words.SENTENCES`
REASON_SENTENCES: dict[str, tuple[str, str]] = {}
