"""Every public function of `engine` shows a short example in its docstring, and every example of
every public name runs (from the repository root, on data_samples/ or tiny inline frames)."""

from __future__ import annotations

import doctest
import inspect
import io
import tempfile
from pathlib import Path

import pytest

import engine

_PUBLIC = [name for name in engine.__all__ if name != "__version__"]
_FUNCTIONS = [name for name in _PUBLIC if inspect.isfunction(getattr(engine, name))]
_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _doctests(name: str) -> list[doctest.DocTest]:
    obj = getattr(engine, name)
    module = inspect.getmodule(obj)
    globs = dict(vars(module)) if module is not None else {}
    found = doctest.DocTestFinder(exclude_empty=True).find(obj, name, module=False, globs=globs)
    return [test for test in found if test.examples]


def test_there_are_about_thirty_public_names_and_most_are_functions() -> None:
    assert 25 <= len(_PUBLIC) <= 45
    assert len(_FUNCTIONS) >= 20


@pytest.mark.parametrize("name", _FUNCTIONS)
def test_each_public_function_has_an_example(name: str) -> None:
    own = [test for test in _doctests(name) if test.name == name]
    assert own, f"engine.{name}: its docstring has no >>> example"


@pytest.mark.parametrize("name", _PUBLIC)
def test_the_examples_of_each_public_name_run(
    name: str, repo_root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(repo_root)  # examples read data_samples/ and models/ as a user would
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # what examples write goes here
    runner = doctest.DocTestRunner(optionflags=_FLAGS)
    out = io.StringIO()
    for test in _doctests(name):
        runner.run(test, out=out.write)
    assert runner.failures == 0, out.getvalue()


def test_a_wrong_example_fails() -> None:
    """The runner above can fail: a docstring whose output is wrong is reported."""

    def wrong() -> None:
        """>>> 1 + 1
        3
        """

    test = doctest.DocTestFinder().find(wrong, "wrong", module=False, globs={})[0]
    runner = doctest.DocTestRunner(optionflags=_FLAGS)
    runner.run(test, out=io.StringIO().write)
    assert runner.failures == 1
