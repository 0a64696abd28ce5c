"""What a run tells people: JSON lines for machines, a summary for the planner, progress on a TTY.

Every event goes to `<logs_dir>/<run_id>.jsonl` (one JSON object per line: `ts`, `level`, `event`,
`run_id` and the event's fields — counts and timings, never personal data). The terminal gets a
progress display only when it is an interactive terminal (not when `CI` is set or output is piped)
and, at the end, a short human summary.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from engine.store import RunManifest, StepRecord

__all__ = ["RunLog", "interactive_console", "render_manifest", "render_runs", "render_summary"]

EventHook = Callable[[dict[str, Any]], None]


def interactive_console(console: Console) -> bool:
    """Progress bars only for a person at a terminal: not in CI, not when output is redirected."""
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return console.is_terminal and not ci


class RunLog:
    """Structured log of one run, plus the terminal progress display.

    >>> with RunLog(Path("out/logs/r1.jsonl"), "r1") as log:  # doctest: +SKIP
    ...     log.event("step_started", step="validate")
    """

    def __init__(
        self,
        path: Path | None,
        run_id: str,
        *,
        console: Console | None = None,
        progress: bool | None = None,
        on_event: EventHook | None = None,
    ) -> None:
        self.path = path
        self.run_id = run_id
        self.console = console or Console(stderr=True)
        self.show_progress = interactive_console(self.console) if progress is None else progress
        self.on_event = on_event
        self._file: IO[str] | None = None
        self._progress: Progress | None = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> RunLog:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_progress()
        if self._file is not None:
            self._file.close()
            self._file = None

    def event(self, event: str, level: str = "info", **fields: Any) -> None:
        record = {
            "ts": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "level": level,
            "event": event,
            "run_id": self.run_id,
            **fields,
        }
        if self._file is not None:
            try:
                self._file.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
                self._file.flush()
            except OSError as exc:
                # A full disk: the run fails once, naming the log; the log stops here so the
                # events of that failure (which would fail the same way) cannot hide it.
                broken, self._file = self._file, None
                with contextlib.suppress(OSError):
                    broken.close()
                raise OSError(exc.errno, exc.strerror, str(self.path)) from exc
        if self.on_event is not None:
            self.on_event(record)

    # -- progress (TTY only) -----------------------------------------------------------------

    def step_started(self, name: str, title: str) -> None:
        self.event("step_started", step=name)
        if not self.show_progress:
            return
        if self._progress is None:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._progress.start()
        self._tasks[name] = self._progress.add_task(title or name, total=None)

    def step_finished(self, record: StepRecord) -> None:
        self.event(
            "step_finished",
            step=record.name,
            status=record.status,
            seconds=record.seconds,
            cached=record.cached,
            rows_read=record.rows_read,
            rows_quarantined=record.rows_quarantined,
            rows_written=record.rows_written,
            cache_key=record.cache_key,
        )
        if self._progress is not None and record.name in self._tasks:
            mark = "✓" if record.status == "succeeded" else "✗"
            reused = " (reused)" if record.cached else ""
            self._progress.update(
                self._tasks[record.name],
                description=f"{mark} {record.name}{reused}",
                total=1,
                completed=1,
            )

    def stop_progress(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


# -- human summaries -------------------------------------------------------------------------------


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f} s"


def _steps_table(manifest: RunManifest) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for column, justify in (
        ("step", "left"),
        ("status", "left"),
        ("time", "right"),
        ("rows read", "right"),
        ("quarantined", "right"),
        ("written", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for s in manifest.steps:
        status = "reused" if s.cached and s.status == "succeeded" else s.status
        table.add_row(
            s.name,
            status,
            _seconds(s.seconds),
            _count(s.rows_read),
            _count(s.rows_quarantined),
            _count(s.rows_written),
        )
    return table


def render_summary(
    manifest: RunManifest, console: Console, *, reused: bool = False, store: Path | None = None
) -> None:
    """The end-of-run summary a planner reads: what ran, the headline numbers, where results are.

    `store` is the store this command used (a reused run's manifest names the one it was run
    with, which may since have moved)."""
    if reused:
        console.print(
            f"Up to date: run [bold]{manifest.run_id}[/] ({manifest.spec_name}, finished "
            f"{manifest.finished_at:%Y-%m-%d %H:%M} UTC) already holds the results of these exact "
            "inputs, models, spec and code. Nothing was recomputed; use --force to run again."
        )
        if manifest.outputs.get("exports_rebuilt"):  # set by the runner, never stored
            console.print(
                f"[yellow]Note:[/] {manifest.outputs['exports_rebuilt']}.",
                highlight=False,
                soft_wrap=True,
            )
        _outputs(manifest, console, store)
        return
    verdict = (
        "[green]succeeded[/]" if manifest.status == "succeeded" else f"[red]{manifest.status}[/]"
    )
    console.print(
        f"Run [bold]{manifest.run_id}[/] ({manifest.spec_name}) {verdict} "
        f"in {_seconds(manifest.seconds)}"
    )
    for line in manifest.summary:
        console.print(f"  {line}", highlight=False, soft_wrap=True)
    console.print(_steps_table(manifest))
    if manifest.status != "succeeded" and manifest.error:
        console.print(f"[red]{manifest.error}[/]", highlight=False, soft_wrap=True)
    _outputs(manifest, console, store)


def _outputs(manifest: RunManifest, console: Console, store: Path | None = None) -> None:
    out = dict(manifest.outputs)
    if store is not None:
        out["store"] = str(store)
    if out.get("report"):
        console.print(f"Report:  {out['report']}", highlight=False, soft_wrap=True)
    if out.get("exports"):
        console.print(f"Exports: {out['exports']}", highlight=False, soft_wrap=True)
    if out.get("store"):
        console.print(
            f"Store:   {out['store']}  (mfr show {manifest.run_id} --store {out['store']})",
            highlight=False,
            soft_wrap=True,
        )
    if out.get("log"):
        console.print(f"Log:     {out['log']}", highlight=False, soft_wrap=True)


def render_runs(runs: Any, console: Console, latest: Mapping[str, str] | None = None) -> None:
    """`mfr runs`: one line per run, newest first; `latest` maps the run ids the views show to
    `production` or `spec` (each spec's latest succeeded run)."""
    marks = dict(latest or {})
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for column in ("run", "spec", "status", "latest", "started (UTC)", "time", "note"):
        table.add_column(column, no_wrap=column != "note")
    for row in runs.iter_rows(named=True):
        started = row["started_at"]
        note = (row.get("error") or "")[:80]
        table.add_row(
            row["run_id"],
            row["spec_name"],
            row["status"],
            marks.get(row["run_id"], ""),
            f"{started:%Y-%m-%d %H:%M:%S}" if started else "",
            _seconds(row["seconds"]),
            note,
        )
    console.print(table)


def render_manifest(manifest: RunManifest, console: Console) -> None:
    """`mfr show RUN`: the whole manifest, readable."""
    console.print(f"[bold]Run {manifest.run_id}[/]  {manifest.spec_name}  {manifest.status}")
    finished = f"{manifest.finished_at:%Y-%m-%d %H:%M:%S}" if manifest.finished_at else "—"
    console.print(
        f"  started {manifest.started_at:%Y-%m-%d %H:%M:%S} UTC, finished {finished}, "
        f"{_seconds(manifest.seconds) or 'still running'}"
        + ("  (forced)" if manifest.forced else ""),
        highlight=False,
    )
    console.print(
        f"  spec {manifest.spec_path}  sha256 {manifest.spec_hash[:16]}",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"  code {manifest.code_version}  sha256 {manifest.code_hash[:16]}", highlight=False
    )
    console.print(f"  fingerprint {manifest.fingerprint[:16]}", highlight=False, soft_wrap=True)
    if manifest.error:
        console.print(f"  [red]error: {manifest.error}[/]", highlight=False, soft_wrap=True)
    console.print("[bold]Inputs[/]")
    for item in manifest.inputs:
        files = f"{item['files']} file" + ("s" if item["files"] != 1 else "")
        console.print(
            f"  {item['role']:<18} {item['path']}  sha256 {item['hash'][:16]}  "
            f"({files}, {item['bytes']:,} bytes)",
            highlight=False,
            soft_wrap=True,
        )
    console.print("[bold]Parameters[/]")
    for key, value in manifest.parameters.items():
        console.print(f"  {key:<22} {value}", highlight=False, soft_wrap=True)
    console.print("[bold]Steps[/]")
    console.print(_steps_table(manifest))
    if manifest.summary:
        console.print("[bold]Summary[/]")
        for line in manifest.summary:
            console.print(f"  {line}", highlight=False, soft_wrap=True)
    _outputs(manifest, console)
