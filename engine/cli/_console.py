"""What the commands print: full values off a terminal, JSON on request, progress lines in a log.

On a terminal, rich fits tables to the window. Off a terminal (a pipe, a file, cron) there is no
window: `console_for` gives a console wide enough that no value is ever cut (`14,017,682.…`), and
without colour codes. `--json` prints one plain JSON document instead of tables (`print_json`).

Long steps report as they go (`progress`, and `step_line` for the steps of `mfr run`): on a
terminal a spinner (on stderr); off it one line when a step starts and one when it ends, with the
time it took, in the job's log (stdout, beside the summary; stderr stays the one error line, and
`--json` output stays one JSON document: no lines then):

    mfr forecast: reading the extract …
    mfr forecast: reading the extract done in 0.8 s
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["WIDE", "console_for", "print_json", "progress", "step_line"]

WIDE = 100_000  # columns of a console off a terminal: wide enough that nothing is cut


def console_for(stream: IO[str] | None = None, *, stderr: bool = False) -> Console:
    """A rich console for `stream` (default stdout, or stderr): the window's width on a terminal,
    else one no value is cut by (`WIDE`), plain text without colour."""
    from rich.console import Console

    target = stream or (sys.stderr if stderr else sys.stdout)
    if target.isatty():
        return Console(file=target, highlight=False)
    return Console(file=target, width=WIDE, highlight=False, color_system=None, soft_wrap=True)


def print_json(data: Any, stream: IO[str] | None = None) -> None:
    """`data` as one JSON document on stdout (dates and decimals as text, UTF-8 names kept)."""
    out = stream or sys.stdout
    out.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    out.flush()


@contextlib.contextmanager
def progress(
    command: str, step: str, *, quiet: bool = False, stream: IO[str] | None = None
) -> Iterator[None]:
    """Report `step` of `command` while it runs: a spinner on a terminal, else a start and an end
    line (with seconds) on stdout; nothing when `quiet` (JSON output)."""
    target = stream or sys.stdout
    if quiet:
        yield
        return
    if target.isatty():
        from rich.console import Console

        with Console(stderr=True).status(f"{command}: {step} …"):
            yield
        return
    started = time.perf_counter()
    target.write(f"mfr {command}: {step} …\n")
    target.flush()
    yield
    target.write(f"mfr {command}: {step} done in {time.perf_counter() - started:.1f} s\n")
    target.flush()


def step_line(event: dict[str, Any], stream: IO[str] | None = None) -> None:
    """One line for a run's `step_started` / `step_finished` event when `stream` (stdout) is not
    a terminal, where no spinner shows: `09:11:06 forecast …`, `09:11:17 forecast succeeded in
    11.4 s`. Other events, and any event on a terminal, print nothing."""
    target = stream or sys.stdout
    kind = event.get("event")
    if kind not in ("step_started", "step_finished") or target.isatty():
        return
    now = time.strftime("%H:%M:%S", time.gmtime())
    if kind == "step_started":
        text = f"{event.get('step')} …"
    else:
        reused = ", reused" if event.get("cached") else ""
        text = f"{event.get('step')} {event.get('status')} in {event.get('seconds') or 0:.1f} s{reused}"
    target.write(f"{now} {text}\n")
    target.flush()
