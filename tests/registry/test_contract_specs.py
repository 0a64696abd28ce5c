"""The registry's compiled contract is the pandera models' own, and valid rows satisfy the models.

Reading an extract checks its valid rows' types only (no pandera import, no second pass over the
data): every row rule of the models is compiled into the normaliser's checks. These tests hold
both halves of that bargain: `REGISTRY_SPECS` is exactly what `specs_from_model` makes of each
pandera model, and pandera itself accepts the valid rows of messy extracts (the planted sample and
a messy synthetic CSV extract).
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

from engine.registry import read_registry
from engine.registry._contract import (
    REGISTRY_SPECS,
    REGISTRY_TABLE_NAMES,
    specs_from_model,
    table_spec,
)
from engine.schemas import REGISTRY_TABLES


def test_written_out_specs_are_the_models_own() -> None:
    assert list(REGISTRY_TABLE_NAMES) == list(REGISTRY_TABLES)
    for name, model in REGISTRY_TABLES.items():
        assert REGISTRY_SPECS[name] == specs_from_model(model, name), name
        assert list(REGISTRY_SPECS[name]) == list(model.to_schema().columns), name


def test_table_spec_with_a_model_reads_that_model() -> None:
    assert table_spec("cases", REGISTRY_TABLES["cases"]) == table_spec("cases")
    spec = table_spec("cases")
    spec.pop("case_id")  # a copy: the compiled contract itself is untouched
    assert "case_id" in table_spec("cases")


def _validate_with_pandera(path: Path) -> None:
    registry = read_registry(path)
    for name, model in REGISTRY_TABLES.items():
        model.validate(registry.table(name), lazy=True)


def test_valid_rows_of_the_planted_sample_satisfy_the_models(sample_extract: Path) -> None:
    _validate_with_pandera(sample_extract)


@pytest.mark.parametrize("messy", [True, False], ids=["messy CSV", "clean CSV"])
def test_valid_rows_of_a_synthetic_extract_satisfy_the_models(tmp_path: Path, messy: bool) -> None:
    from engine.synth.generate import generate_registry
    from engine.synth.write import write_extract

    write_extract(generate_registry(400, seed=3), tmp_path, "csv", messy=messy)
    _validate_with_pandera(tmp_path)


def test_a_wrong_type_in_the_valid_rows_is_a_bug() -> None:
    from engine import registry as registry_module

    frame = pl.DataFrame({"recipient_id": ["R1"], "birth_date": ["1990-01-01"]})
    with pytest.raises(RuntimeError, match="birth_date is String, not Date"):
        registry_module._check_contract("recipients", frame)


def test_reading_an_extract_imports_no_pandera(sample_extract: Path) -> None:
    import subprocess

    code = (
        "import sys; from engine.registry import read_registry; "
        f"read_registry({str(sample_extract)!r}); "
        "print('pandera' in sys.modules, 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
