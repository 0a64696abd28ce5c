"""The strict funding-model loader: one failing fixture per error kind, each naming file and line."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import polars as pl
import pytest

from engine.errors import ConfigError, ExitCode
from engine.params import PARAMETER_SPECS, load_funding_model
from engine.reference import load_services

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bad_models"
BASELINE = Path(__file__).resolve().parents[2] / "models" / "funding" / "baseline"

# kind (fixture folder) → (file named in the message, line, fragment of the message)
REJECTIONS = {
    "unknown_key": ("territory_coef.yaml", 3, "unknown key 'refrence'"),
    "bad_date": ("territory_coef.yaml", 7, "bad date '2024-02-30'"),
    "duplicate_date": ("territory_coef.yaml", 8, "duplicate key '2024-01-01' (first at line 6)"),
    "duplicate_dimension": ("territory_coef.yaml", 9, "duplicate key 'frontline'"),
    "wrong_type": ("territory_coef.yaml", 6, "wrong type"),
    "missing_dimension_value": ("modifier.yaml", 9, "missing dimension value"),
    "unknown_dimension_value": ("territory_coef.yaml", 9, "unknown status 'seaside'"),
    "wrong_dimensions": (
        "territory_coef_cap.yaml",
        3,
        "dimensions of territory_coef_cap must be []",
    ),
    "unknown_parameter": ("tarrif.yaml", 1, "unknown parameter file"),
    "invalid_yaml": ("unknown_income_band.yaml", 6, "invalid YAML"),
    "share_out_of_range": ("unknown_income_band.yaml", 6, "between 0 and 1"),
    "negative_value": ("territory_coef_cap.yaml", 5, "non-negative"),
    "model_unknown_key": ("model.yaml", 4, "unknown key 'author'"),
    "missing_service": ("tariff.yaml", 9, "service_code=015.3 (Palliative care)"),
}


def _model_with(tmp_path: Path, kind: str) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(BASELINE, folder)
    for file in (FIXTURES / kind).iterdir():
        if file.suffix == ".yaml":
            shutil.copy(file, folder / file.name)
    return folder


@pytest.fixture(scope="module")
def services() -> pl.DataFrame:
    return load_services()


@pytest.mark.parametrize("kind", sorted(REJECTIONS))
def test_loader_rejects(kind: str, tmp_path: Path, services: pl.DataFrame) -> None:
    file, line, fragment = REJECTIONS[kind]
    with pytest.raises(ConfigError) as caught:
        load_funding_model(_model_with(tmp_path, kind), services=services)
    message = str(caught.value)
    assert re.search(rf"{re.escape(file)}, line {line}\b", message), message
    assert fragment in message, message
    assert caught.value.exit_code == ExitCode.BAD_CONFIG


def test_every_fixture_is_checked() -> None:
    folders = {p.name for p in FIXTURES.iterdir() if p.is_dir()}
    assert folders == set(REJECTIONS) | {"missing_parameter"}


def test_missing_parameter_file_is_named(tmp_path: Path, services: pl.DataFrame) -> None:
    folder = _model_with(tmp_path, "missing_parameter")
    (folder / "copay_bands.yaml").unlink()
    with pytest.raises(ConfigError, match=r"copay_bands\.yaml is missing"):
        load_funding_model(folder, services=services)


def test_missing_folder_and_model_yaml(tmp_path: Path, services: pl.DataFrame) -> None:
    with pytest.raises(ConfigError, match="folder not found"):
        load_funding_model(tmp_path / "nope", services=services)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"model\.yaml is missing"):
        load_funding_model(tmp_path / "empty", services=services)


def test_baseline_covers_the_whole_catalogue(services: pl.DataFrame) -> None:
    model = load_funding_model(BASELINE, services=services)
    assert set(model.table("tariff")["service_code"]) == set(services["service_code"])
    priced = services.filter(pl.col("unit") != "month")
    norms = model.table("norm_units").select("service_code", "need_level").unique()
    assert norms.height == priced.height * 3
    assert model.version == "2025.1"
    assert len(model.content_hash) == 64
    for name, param in model.parameters.items():
        assert param.description and param.unit, name
        assert param.dimensions == PARAMETER_SPECS[name].dimensions


def test_interval_table_and_null_ending(tmp_path: Path, services: pl.DataFrame) -> None:
    folder = _model_with(tmp_path, "unknown_key")  # any copy; restore a valid territory_coef
    shutil.copy(BASELINE / "territory_coef.yaml", folder / "territory_coef.yaml")
    text = (BASELINE / "tariff.yaml").read_text(encoding="utf-8")
    text = text.replace(
        '    2025-01-01: 585.00\n  "018.0"',
        '    2025-01-01: 585.00\n    2027-01-01: null\n  "018.0"',
    )
    (folder / "tariff.yaml").write_text(text, encoding="utf-8")
    model = load_funding_model(folder, services=services)
    rows = model.table("tariff").filter(pl.col("service_code") == "017.2").sort("valid_from")
    assert rows.select("valid_from", "valid_to", "value").rows() == [
        (dt.date(2024, 1, 1), dt.date(2024, 12, 31), 530.66),
        (dt.date(2025, 1, 1), dt.date(2026, 12, 31), 585.0),
    ]
    home = model.table("tariff").filter(pl.col("service_code") == "015.1").sort("valid_from")
    assert home["valid_to"].to_list() == [dt.date(2025, 3, 9), None]
    assert model.content_hash != load_funding_model(BASELINE, services=services).content_hash


def test_describe_lists_every_parameter(services: pl.DataFrame) -> None:
    described = load_funding_model(BASELINE, services=services).describe()
    assert set(described["parameter"]) == set(PARAMETER_SPECS)
    assert (
        described.filter(pl.col("parameter") == "monthly_cap")["reference"]
        .item()
        .startswith("Stationary care")
    )
