"""Every notebook runs top to bottom in a real Jupyter kernel, on the sample data in the repo.

Notebooks are kept as jupytext percent scripts (`notebooks/*.py`, readable diffs) with a paired
`.ipynb` without outputs for people who open them without jupytext; the pair must not drift apart.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.py"))
# each notebook must stay quick: the whole suite runs them on every test run
_CELL_TIMEOUT = 60


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def test_there_are_notebooks() -> None:
    names = {p.stem for p in NOTEBOOKS}
    assert {"01_quickstart", "02_entitlements_and_relocation"} <= names, names


@pytest.mark.parametrize("script", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_paired_ipynb_matches_the_script(script: Path) -> None:
    import jupytext
    import nbformat

    paired = script.with_suffix(".ipynb")
    assert paired.exists(), f"{paired.name} missing: run `jupytext --sync {script.name}`"
    source = jupytext.read(script)
    stored = nbformat.read(paired, as_version=4)
    assert [(c.cell_type, c.source) for c in stored.cells] == [
        (c.cell_type, c.source) for c in source.cells
    ], f"{paired.name} differs from {script.name}: run `jupytext --sync {script.name}`"
    assert all(not c.get("outputs") for c in stored.cells if c.cell_type == "code"), (
        f"{paired.name} holds outputs: store it clean"
    )


async def _execute(script: Path) -> BaseException | None:
    import jupytext
    from nbclient import NotebookClient

    notebook = jupytext.read(script)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    client = NotebookClient(
        notebook,
        timeout=_CELL_TIMEOUT,
        kernel_name="python3",
        extra_arguments=["--colors=NoColor"],  # plain tracebacks in the test report
        resources={"metadata": {"path": str(script.parent)}},
    )
    try:
        await client.async_execute()
    except Exception as exc:  # CellExecutionError names the failing cell; reported per notebook
        return exc
    return None


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BaseException | None]:
    """Run every notebook once, all kernels at the same time (most of a run is waiting)."""
    import asyncio

    async def run_all() -> list[BaseException | None]:
        return await asyncio.gather(*(_execute(script) for script in NOTEBOOKS))

    with pytest.MonkeyPatch.context() as env:
        # jupyter_core warns about its directory layout unless told which one to use
        env.setenv("JUPYTER_PLATFORM_DIRS", "1")
        env.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        # files a notebook writes go to a temporary folder, not the repository's out/
        env.setenv("MFR_NOTEBOOK_OUT", str(tmp_path_factory.mktemp("notebooks")))
        results = asyncio.run(run_all())
    return {script.stem: result for script, result in zip(NOTEBOOKS, results, strict=True)}


@pytest.mark.parametrize("script", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_executes(script: Path, executed: dict[str, BaseException | None]) -> None:
    error = executed[script.stem]
    if error is not None:
        raise error
