"""The package's public face and the project's two-command promise."""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import engine

HEAVY = ("pandera", "plotly", "scipy", "duckdb", "pandas", "polars", "engine.forecasting")


def _fresh(code: str) -> str:
    """Run `code` in a fresh interpreter (nothing imported yet) and return what it printed."""
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return done.stdout


def _submodules() -> set[str]:
    return {info.name for info in pkgutil.iter_modules(engine.__path__)}


def test_every_public_name_resolves_from_the_module_it_is_imported_from() -> None:
    homes = engine._homes()
    assert set(engine.__all__) - {"__version__"} == set(homes)
    for name in engine.__all__:
        assert getattr(engine, name) is not None, name
    for name, module in homes.items():
        assert getattr(engine, name) is getattr(importlib.import_module(module), name), name


def test_no_public_name_is_also_a_submodule() -> None:
    assert _submodules() & set(engine.__all__) == set()
    assert {"forecasting", "allocation", "demand", "need", "segments", "rollups"} <= _submodules()


def test_public_names_stay_the_functions_after_every_module_is_imported() -> None:
    # `import engine.X` sets the attribute X on the package: a public name equal to a submodule
    # would turn into the module (once `engine.forecast(...)` raised "'module' is not callable")
    code = (
        "import importlib, pkgutil, engine\n"
        "first = {name: getattr(engine, name) for name in engine.__all__}\n"
        "for info in pkgutil.walk_packages(engine.__path__, 'engine.'):\n"
        "    if not info.name.startswith(('engine.cli', 'engine.__main__')):\n"
        "        importlib.import_module(info.name)\n"
        "print(sorted(n for n in engine.__all__ if getattr(engine, n) is not first[n]))\n"
        "print(callable(engine.forecast), callable(engine.allocate), callable(engine.demand_series))\n"
    )
    assert _fresh(code).split("\n")[:2] == ["[]", "True True True"]


def test_public_functions_after_compute_entitlements(sample_extract: Path) -> None:
    code = (
        "import engine\n"
        f"registry = engine.read_registry({str(sample_extract)!r})\n"
        "model = engine.load_funding_model('models/funding/baseline')\n"
        "engine.compute_entitlements(registry, model, months=('2025-01', '2025-01'))\n"
        "print(type(engine.forecast).__name__, type(engine.allocate).__name__)\n"
    )
    assert _fresh(code).strip() == "function function"


def test_import_engine_loads_no_heavy_module() -> None:
    code = f"import sys, engine\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    assert _fresh(code).strip() == "[]"


def test_pricing_modules_import_without_pandera() -> None:
    # the registry's pandera models load with ingestion, not with the stages that price or report
    code = (
        "import sys\n"
        "import engine.entitlements, engine.segments, engine.rollups, engine.schemas\n"
        "print(sorted(m for m in ('pandera', 'pandas') if m in sys.modules))\n"
    )
    assert _fresh(code).strip() == "[]"


def test_the_registry_models_are_still_found_in_engine_schemas() -> None:
    from engine.schemas import REGISTRY_TABLES, Cases

    assert REGISTRY_TABLES["cases"] is Cases
    assert list(REGISTRY_TABLES) == [
        "recipients",
        "cases",
        "case_locations",
        "providers",
        "services",
        "territory_status",
    ]


def test_mfr_help_loads_no_heavy_module() -> None:
    code = (
        "import contextlib, io, sys\n"
        "from engine.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    code = main(['--help'])\n"
        "assert code == 0 and 'entitle' in out.getvalue(), (code, out.getvalue())\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    assert _fresh(code).strip() == "[]"


def test_every_command_help_loads_no_heavy_module() -> None:
    # each command imports its stage modules when it runs, not when it is registered or shown
    code = (
        "import contextlib, io, sys, typer\n"
        "from engine.cli import app, main\n"
        "names = sorted(typer.main.get_command(app).commands)\n"
        "for name in names:\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        assert main([name, '--help']) == 0, name\n"
        f"print(len(names), sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    count, loaded = _fresh(code).strip().split(" ", 1)
    assert int(count) >= 8 and loaded == "[]"


def test_mfr_help_runs_as_a_console_script() -> None:
    mfr = Path(sys.executable).with_name("mfr")
    done = subprocess.run([str(mfr), "--help"], check=True, capture_output=True, text=True)
    assert "entitle" in done.stdout and "forecast" in done.stdout


def test_readme_opens_with_the_two_commands_and_ci_runs_the_second(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```[a-z]*\n(.*?)```", readme, re.S)
    assert first_block is not None
    lines = [line for line in first_block.group(1).splitlines() if line.strip()]
    assert len(lines) == 2
    ci = (repo_root / ".ci" / "run").read_text(encoding="utf-8")
    assert lines[1].strip() in ci.splitlines()


def _section(readme: str, title: str) -> str:
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", readme, re.S | re.M)
    assert found is not None, f"README has no section '## {title}'"
    return found.group(1)


def test_readme_layout_names_every_module_of_the_package(repo_root: Path) -> None:
    layout = _section((repo_root / "README.md").read_text(encoding="utf-8"), "Layout")
    listed = set(re.findall(r"^  ([a-z_]+(?:/|\.py))\s", layout, re.M))
    engine_dir = repo_root / "engine"
    present = {
        f"{p.name}/" if p.is_dir() else p.name
        for p in engine_dir.iterdir()
        if not p.name.startswith(("_", ".")) and (p.is_dir() or p.suffix == ".py")
    }
    assert listed == present


def test_readme_api_list_is_engine_all(repo_root: Path) -> None:
    api = _section((repo_root / "README.md").read_text(encoding="utf-8"), "Python API")
    # every name in backticks is public, and every public name is there
    assert set(re.findall(r"`([A-Za-z_]+)`", api)) == set(engine.__all__) - {"__version__"}
