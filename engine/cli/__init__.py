"""`mfr`: a thin command-line layer over the same functions notebooks call.

Each sub-command lives in its own module with a `register(app)` function. Errors the engine raises on
purpose become a one-line message and a distinct exit code (see `engine.errors.ExitCode`); anything
else is an internal error, reported in one line with the traceback kept out of the operator's way.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback

import typer

from engine.errors import EngineError, ExitCode

__all__ = ["app", "main"]

_COMMAND_MODULES = (
    "generate",
    "validate",
    "entitle",
    "allocate",
    "forecast",
    "run",
    "report",
    "bench",
)


def _build_app() -> typer.Typer:
    app = typer.Typer(
        name="mfr",
        help="Money follows the recipient: entitlements, need, forecasts and allocations.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `mfr` console script; returns (and exits with) an `ExitCode`."""
    try:
        app(args=argv, standalone_mode=False)
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = int(exc.exit_code)
    except typer.Exit as exc:
        code = int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("error: interrupted", file=sys.stderr)
        code = 130
    except typer.TyperException as exc:  # usage errors: unknown option, bad value
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print(f"error: {exc.format_message()}", file=sys.stderr)
        code = int(ExitCode.BAD_CONFIG)
    except Exception as exc:
        if os.environ.get("MFR_DEBUG"):
            traceback.print_exc()
        print(
            f"internal error: {type(exc).__name__}: {exc} (set MFR_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        code = int(ExitCode.INTERNAL_ERROR)
    else:
        code = int(ExitCode.OK)
    if argv is None:
        sys.exit(code)
    return code
