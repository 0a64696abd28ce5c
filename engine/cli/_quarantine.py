"""The command line's one statement of the quarantine rule: stop above the threshold, or say the
operator accepted it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from engine.schemas import Registry

__all__ = ["apply_quarantine_threshold"]


def apply_quarantine_threshold(
    console: Console,
    registry: Registry,
    threshold: float,
    *,
    accept: bool,
    before_stop: Callable[[], None] | None = None,
) -> None:
    """Above `threshold`: run `before_stop` (e.g. write the quarantine for the operator to read),
    then raise `QuarantineThresholdError` (exit 4) unless `accept`, else print that it was accepted."""
    from engine.registry import check_quarantine_threshold

    if not check_quarantine_threshold(registry, threshold, accept=True):
        return
    if before_stop is not None:
        before_stop()
    check_quarantine_threshold(registry, threshold, accept=accept)
    from engine.cli._console import text

    console.print(text("cli_quarantine_accepted", threshold=threshold))
