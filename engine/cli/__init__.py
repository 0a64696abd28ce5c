"""`mfr`: a thin command-line layer over the same functions notebooks call.

Each sub-command lives in its own module with a `register(app)` function. Errors the engine raises on
purpose become a one-line message and a distinct exit code (see `engine.errors.ExitCode`); anything
else is an internal error, reported in one line with the traceback kept out of the operator's way.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator

import typer

from engine.cli._console import (
    choose_lang,
    error_line,
    internal_error_line,
    interrupted_line,
    speaking_log,
)
from engine.errors import EngineError, ExitCode, Interrupted, describe_os_error, file_system_error

__all__ = ["app", "main"]

_COMMAND_MODULES = (
    "generate",
    "validate",
    "entitle",
    "allocate",
    "forecast",
    "run",
    "report",
    "explain",
    "price",
    "reproduce",
    "validate_totals",
    "sweep",
    "bench",
)


def _root(
    lang: str | None = typer.Option(
        None,
        "--lang",
        callback=choose_lang,
        is_eager=True,
        help="Language of every command's output: en (default; or $MFR_LANG) or uk — words and "
        "names of territories and services alike (also accepted after the command).",
    ),
) -> None:
    """Money follows the recipient: entitlements, need, forecasts and allocations."""


def _build_app() -> typer.Typer:
    app = typer.Typer(
        name="mfr",
        help="Money follows the recipient: entitlements, need, forecasts and allocations.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.callback()(_root)
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"engine.cli.{name}")
        except ModuleNotFoundError as exc:  # a command still being built is simply absent
            if exc.name != f"engine.cli.{name}":
                raise
            continue
        module.register(app)
    return app


app = _build_app()


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def _signals_unwind() -> Iterator[None]:
    """SIGINT and SIGTERM raise `Interrupted` in the main thread, so cleanup code (staging folders,
    the store lock, a run's failure record) runs before the process exits 130 or 143. Without this,
    SIGTERM would kill the process on the spot and typer would turn Ctrl-C into exit 0."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _raise_interrupted) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _os_error_line(exc: OSError) -> str | None:
    """One line for an OS error that names its file (disk full, read-only, a file where a folder
    should be): a fault of the machine the operator can fix, not an internal error."""
    if exc.filename is None and describe_os_error(exc) is None:
        return None
    return f"error: {file_system_error(exc)}"


def _invoke(argv: list[str] | None) -> int:
    try:
        returned = app(args=argv, standalone_mode=False)
    except (Exception, Interrupted) as exc:
        return _failed(exc)
    # With standalone_mode=False typer returns `typer.Exit`'s code (and 130 for a Ctrl-C it caught
    # itself) instead of raising: an int returned here is an exit code, never success.
    if isinstance(returned, int) and not isinstance(returned, bool) and returned != 0:
        if returned == ExitCode.INTERRUPTED:
            print(interrupted_line(), file=sys.stderr)
        return returned
    return int(ExitCode.OK)


def _failed(exc: BaseException) -> int:
    """Print the one line an error deserves and return its exit code."""
    line: str | None
    if isinstance(exc, EngineError | Interrupted):
        if isinstance(exc, Interrupted):  # a second signal while unwinding ends the process now
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, signal.SIG_DFL)
        line, code = error_line(exc), int(exc.exit_code)
    elif isinstance(exc, typer.Exit):
        line, code = None, int(exc.exit_code)
    elif isinstance(exc, typer.Abort):
        line, code = interrupted_line(), int(ExitCode.INTERRUPTED)
    elif isinstance(exc, typer.TyperException):  # usage errors: unknown option, bad value
        show = getattr(exc, "show", None)
        if callable(show):
            show()
            line = None
        else:
            line = f"error: {exc.format_message()}"
        code = int(ExitCode.BAD_CONFIG)
    elif isinstance(exc, OSError) and (line := _os_error_line(exc)) is not None:
        if os.environ.get("MFR_DEBUG"):
            traceback.print_exc()
        code = int(ExitCode.BAD_INPUT_FILE)
    else:
        return _internal_error(exc)
    if line is not None:
        print(line, file=sys.stderr)
    return code


def _internal_error(exc: BaseException) -> int:
    if os.environ.get("MFR_DEBUG"):
        traceback.print_exc()
    print(internal_error_line(exc), file=sys.stderr)
    return int(ExitCode.INTERNAL_ERROR)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `mfr` console script; returns (and exits with) an `ExitCode`."""
    with _signals_unwind(), speaking_log():
        code = _invoke(argv)
    if argv is None:
        sys.exit(code)
    return code
