"""The package's public face and the project's two-command promise."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import engine


def test_every_public_name_resolves() -> None:
    for name in engine.__all__:
        assert getattr(engine, name) is not None, name


def test_public_names_match_the_lazy_table() -> None:
    assert set(engine.__all__) - {"__version__"} == set(engine._PUBLIC)


def test_import_engine_stays_light() -> None:
    code = (
        "import sys, engine\n"
        "heavy = [m for m in ('plotly', 'scipy', 'duckdb', 'pandas') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_readme_opens_with_the_two_commands_and_ci_runs_the_second(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```[a-z]*\n(.*?)```", readme, re.S)
    assert first_block is not None
    lines = [line for line in first_block.group(1).splitlines() if line.strip()]
    assert len(lines) == 2
    ci = (repo_root / ".ci" / "run").read_text(encoding="utf-8")
    assert lines[1].strip() in ci.splitlines()
