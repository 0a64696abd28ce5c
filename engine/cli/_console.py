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

One language per output (`--lang uk|en`, before or after the command, or `$MFR_LANG`; English by
default on the command line, Ukrainian by default in the report): `text` gives a command's words
and `oblast_names` / `hromada_names` / `service_names` the names of territories and services in
that language, from the report's one table of words (`engine.report._text`, and the command
line's own in `engine.cli._words`) and its names (`engine.report._labels`). What other parts of
the engine print in English (a run's summary, `mfr reproduce`'s verdicts, an explanation) is said
in the output language by the console `console_for` gives, and by `say` for a plain line
(`engine.cli._words.translate`): one mechanism for every command.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import time
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    import polars as pl
    from rich.console import Console

    from engine.errors import EngineError, Interrupted

__all__ = [
    "LANG_ENV",
    "LANG_OPTION",
    "WIDE",
    "choose_lang",
    "chosen_lang",
    "console_for",
    "error_line",
    "hromada_names",
    "internal_error_line",
    "interrupted_line",
    "oblast_names",
    "output_lang",
    "print_json",
    "progress",
    "say",
    "service_names",
    "set_lang",
    "speaking_log",
    "step_line",
    "text",
]

LANG_ENV = "MFR_LANG"
_CLI_DEFAULT_LANG = "en"
_chosen: dict[str, str] = {}  # the language `--lang` chose for this invocation


def set_lang(lang: str | None) -> str | None:
    """Choose the output language (`uk` or `en`; None leaves the choice as it is)."""
    if lang is not None:
        from engine.errors import ConfigError
        from engine.report._text import LANGS

        if lang not in LANGS:
            raise ConfigError(f"--lang {lang!r}: one of {', '.join(LANGS)}")
        _chosen["lang"] = lang
    return lang


def choose_lang(lang: str | None) -> str | None:
    """The root `mfr --lang`: a new invocation's choice (None: back to `$MFR_LANG` or English)."""
    _chosen.clear()
    return set_lang(lang)


def chosen_lang() -> str | None:
    """The language `--lang` or `$MFR_LANG` chose, None when neither did (an output then keeps
    its own default: English on the terminal, Ukrainian in the report)."""
    from engine.report._text import LANGS

    chosen = _chosen.get("lang") or os.environ.get(LANG_ENV, "").strip().lower()
    return chosen if chosen in LANGS else None


def output_lang() -> str:
    """The language of this command's output: `--lang`, else `$MFR_LANG`, else English."""
    return chosen_lang() or _CLI_DEFAULT_LANG


LANG_OPTION: Any = typer.Option(
    None,
    "--lang",
    callback=set_lang,
    is_eager=True,
    help="Language of the output: en (default; or $MFR_LANG) or uk — words and names alike.",
)


def text(key: str, **values: object) -> str:
    """A command's words (`engine.cli._words.WORDS`, else the report's `cli_*` words in
    `engine.report._text.TEXT`) in the output language."""
    from engine.cli._words import WORDS
    from engine.report._text import tr

    lang = output_lang()
    if key not in WORDS:
        return tr(key, lang, **values)
    uk, en = WORDS[key]
    said = uk if lang == "uk" else en
    return said.format(**values) if values else said


def say(line: str, stream: IO[str] | None = None) -> None:
    """Print one line the engine built in English, in the output language (`translate`)."""
    from engine.cli._words import translate

    print(translate(line, output_lang()), file=stream or sys.stdout)


def _speak(item: Any, lang: str) -> Any:
    """`item` (a line, a table, a panel) as printed in `lang`: its English sentences translated."""
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from engine.cli._words import translate

    if isinstance(item, str):
        return translate(item, lang)
    if isinstance(item, Text):
        said = translate(item.plain, lang)
        return item if said == item.plain else Text(said, style=item.style)
    if isinstance(item, Panel):
        item.renderable = _speak(item.renderable, lang)
    elif isinstance(item, Table):
        if isinstance(item.title, str):
            item.title = translate(item.title, lang)
        for column in item.columns:
            if isinstance(column.header, str):
                column.header = translate(column.header, lang)
            # rich keeps a column's cells in `_cells` and has no public way to rewrite them
            column._cells = [_speak(cell, lang) for cell in column._cells]
    return item


@functools.cache
def _speaking_console() -> type[Console]:
    """A rich Console whose `print` says English sentences in the output language."""
    from rich.console import Console

    class Speaking(Console):
        def print(self, *objects: Any, **options: Any) -> None:
            lang = output_lang()
            super().print(*(_speak(o, lang) for o in objects), **options)

    return Speaking


def oblast_names(territories: pl.DataFrame | None) -> dict[str, str]:
    """oblast_code -> its name in the output language (reference territories)."""
    from engine.report._labels import oblast_labels

    return oblast_labels(territories, output_lang())


def hromada_names(territories: pl.DataFrame | None) -> dict[str, str]:
    """hromada_code -> its name in the output language (English: the official transliteration)."""
    from engine.report._labels import hromada_labels

    return hromada_labels(territories, output_lang())


def service_names(services: pl.DataFrame | None) -> dict[str, str]:
    """service_code -> 'code name' in the output language (reference services)."""
    from engine.report._labels import service_labels

    return service_labels(services, output_lang())


WIDE = 100_000  # columns of a console off a terminal: wide enough that nothing is cut


def console_for(stream: IO[str] | None = None, *, stderr: bool = False) -> Console:
    """A rich console for `stream` (default stdout, or stderr): the window's width on a terminal,
    else one no value is cut by (`WIDE`), plain text without colour; what it prints is said in
    the output language (`_speak`)."""
    console = _speaking_console()
    target = stream or (sys.stderr if stderr else sys.stdout)
    if target.isatty():
        return console(file=target, highlight=False)
    return console(file=target, width=WIDE, highlight=False, color_system=None, soft_wrap=True)


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

        with Console(stderr=True).status(text("cli_progress_start", command=command, step=step)):
            yield
        return
    started = time.perf_counter()
    target.write(text("cli_progress_start", command=command, step=step) + "\n")
    target.flush()
    yield
    seconds = time.perf_counter() - started
    target.write(text("cli_progress_done", command=command, step=step, seconds=seconds) + "\n")
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
        line = f"{event.get('step')} …"
    else:
        from engine.cli._words import translate

        line = text(
            "cli_step_done",
            step=event.get("step"),
            status=translate(str(event.get("status")), output_lang()),
            seconds=event.get("seconds") or 0,
            reused=text("cli_step_reused") if event.get("cached") else "",
        )
    target.write(f"{now} {line}\n")
    target.flush()


def _error_frame(key: str, lang: str, **fields: object) -> str:
    from engine.cli._error_words import ERROR_FRAME

    uk, en = ERROR_FRAME[key]
    return (uk if lang == "uk" else en).format(**fields)


def error_line(exc: EngineError | Interrupted, lang: str | None = None) -> str:
    """The one line an engine error prints, in `lang` (default: the output language): `error:
    <file>, line N, column 'x': <message>`, in Ukrainian the frame and the messages
    `engine.cli._error_words` knows.

    >>> from engine.errors import InputFileError
    >>> error_line(InputFileError("missing required column", path="cases.csv", column="id"), "uk")
    "помилка: cases.csv, стовпець 'id': немає обов'язкового стовпця"
    """
    from engine.cli._words import translate
    from engine.errors import Interrupted

    lang = lang or output_lang()
    if lang != "uk":
        return f"error: {exc}"
    if isinstance(exc, Interrupted):
        return f"{_error_frame('error', lang)}: {translate(str(exc), lang)}"
    where = [str(exc.path)] if exc.path is not None else []
    if exc.line is not None:
        where.append(_error_frame("line", lang, n=exc.line))
    if exc.column is not None:
        where.append(_error_frame("column", lang, name=exc.column))
    message = translate(exc.message, lang)
    said = f"{', '.join(where)}: {message}" if where else message
    return f"{_error_frame('error', lang)}: {said}"


def internal_error_line(exc: BaseException) -> str:
    """The line an unexpected error prints: its type and text, and how to see the traceback."""
    return _error_frame("internal", output_lang(), kind=type(exc).__name__, detail=exc)


def interrupted_line() -> str:
    return _error_frame("interrupted", output_lang())


@contextlib.contextmanager
def speaking_log(stream: IO[str] | None = None) -> Iterator[None]:
    """While a command runs, the engine's logged warnings (`engine.*` loggers, e.g. a reader's
    `unknown columns dropped`) go to stderr in the output language, one plain line each, instead
    of Python's last-resort English line."""
    import logging

    class _Speaking(logging.StreamHandler):
        def format(self, record: logging.LogRecord) -> str:
            from engine.cli._words import translate

            return translate(record.getMessage(), output_lang())

    handler = _Speaking(stream or sys.stderr)
    handler.setLevel(logging.WARNING)
    logger = logging.getLogger("engine")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
