from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))  # the fake steps (_fakes.py) live next to the tests

from _fakes import make_project  # noqa: E402


@pytest.fixture(autouse=True)
def _fixed_code_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin the engine's code hash within a test: engineers editing the package while the tests run
    must not make two runs of one test look like different code."""
    monkeypatch.setattr("engine.pipeline._runner.code_hash", lambda: "code-under-test")


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    """A tiny project (extract of three numbers, a policy) and its spec `produce → scale`."""
    return make_project(tmp_path)


@contextlib.contextmanager
def child_run(
    spec: Path, marker: Path, *, hang_on_publish: float = 0.0
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `spec` with the fake steps in a separate Python process, for the test to kill."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        sys.path.insert(0, {str(HERE)!r})
        from _fakes import make_steps
        from engine.pipeline import load_spec, run_pipeline

        marker = Path({str(marker)!r})
        steps = make_steps(marker=marker)
        spec = load_spec({str(spec)!r}, steps=steps)

        def on_event(event):
            if {hang_on_publish!r} and event["event"] == "table_published":
                marker.write_text("publishing")
                time.sleep({hang_on_publish!r})

        run_pipeline(spec, steps=steps, progress=False, on_event=on_event)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=30)  # reaps it and closes the pipes
