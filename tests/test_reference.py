"""Reference data: KATOTTG territories with population, and the services catalogue."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from engine.errors import InputFileError
from engine.reference import (
    REFERENCE_DIR,
    SERVICES_SCHEMA,
    TERRITORIES_SCHEMA,
    load_services,
    load_territories,
)
from engine.schemas import Services

KYIV_CITY = "UA80000000000093317"
SEVASTOPOL = "UA85000000000065278"


@pytest.fixture(scope="module")
def territories() -> pl.DataFrame:
    return load_territories()


@pytest.fixture(scope="module")
def services() -> pl.DataFrame:
    return load_services()


def test_territories_have_the_contract_columns_and_types(territories: pl.DataFrame) -> None:
    assert territories.schema == pl.Schema(TERRITORIES_SCHEMA)


def test_territories_cover_every_hromada_and_region(territories: pl.DataFrame) -> None:
    assert territories.height >= 1_700
    assert territories["hromada_code"].is_unique().all()
    assert territories["oblast_code"].n_unique() == 27
    assert territories["oblast_name_en"].n_unique() == 27
    assert territories.null_count().sum_horizontal().item() == 0


def test_codes_are_katottg_and_nested(territories: pl.DataFrame) -> None:
    for col in ("oblast_code", "raion_code", "hromada_code"):
        assert territories[col].str.contains(r"^UA\d{17}$").all(), col
    # a hromada's code starts with its raion's 4 digits, a raion's with its oblast's 2
    t = territories.filter(~pl.col("hromada_code").is_in([KYIV_CITY, SEVASTOPOL]))
    assert (t["hromada_code"].str.slice(0, 6) == t["raion_code"].str.slice(0, 6)).all()
    assert (t["raion_code"].str.slice(0, 4) == t["oblast_code"].str.slice(0, 4)).all()


def test_names_are_normalised(territories: pl.DataFrame) -> None:
    for col, dtype in TERRITORIES_SCHEMA.items():
        if dtype == pl.String():
            values = territories[col]
            assert (values == values.str.strip_chars()).all(), col
            assert not values.str.contains("  ").any(), col
    assert "Андріївська" in territories["hromada_name"].to_list()  # published as "Андріївська "


def test_kyiv_and_sevastopol_are_single_unit_regions(territories: pl.DataFrame) -> None:
    cities = territories.filter(pl.col("oblast_code").is_in([KYIV_CITY, SEVASTOPOL]))
    assert cities.height == 2
    assert (cities["oblast_code"] == cities["raion_code"]).all()
    assert (cities["oblast_code"] == cities["hromada_code"]).all()
    assert sorted(cities["hromada_name"]) == ["Київ", "Севастополь"]


def test_population_sums_to_the_stated_regional_totals(territories: pl.DataFrame) -> None:
    stated = pl.read_csv(REFERENCE_DIR / "oblast_population.csv", infer_schema=False).select(
        "oblast_code", stated=pl.col("population_thousands").cast(pl.Int64) * 1000
    )
    sums = territories.group_by("oblast_code").agg(pl.col("population").sum())
    both = sums.join(stated, on="oblast_code", how="full", coalesce=True)
    assert both.height == 27
    assert (both["population"] == both["stated"]).all()
    assert territories["population"].min() > 0
    # figures from DESIGN.md §3 (State Statistics, 1 Dec 2021, thousands)
    by_name = dict(
        sums.join(territories.select("oblast_code", "oblast_name_en").unique(), on="oblast_code")
        .select("oblast_name_en", "population")
        .iter_rows()
    )
    assert by_name["Vinnytsia"] == 1_512_000
    assert by_name["Lviv"] == 2_480_000
    assert by_name["Kyiv City"] == 2_953_000
    assert by_name["Donetsk"] == 4_063_000


def test_regional_centres_are_the_largest_hromadas(territories: pl.DataFrame) -> None:
    top = (
        territories.sort("population", descending=True)
        .group_by("oblast_code", maintain_order=True)
        .first()
    )
    assert set(top.filter(pl.col("oblast_name_en") == "Kharkiv")["hromada_name"]) == {"Харківська"}
    assert set(top.filter(pl.col("oblast_name_en") == "Lviv")["hromada_name"]) == {"Львівська"}


def test_services_catalogue_is_valid(services: pl.DataFrame) -> None:
    assert services.schema == pl.Schema(SERVICES_SCHEMA)
    Services.validate(services)
    assert 20 <= services.height <= 30
    units = dict(services.select("service_code", "unit").iter_rows())
    assert units["015.1"] == "hour"
    assert (
        services.filter((pl.col("unit") == "day") & (pl.col("group") == "residential")).height >= 1
    )
    assert set(services["unit"]) <= {"hour", "visit", "day", "month"}


def test_services_cover_the_basic_services(services: pl.DataFrame) -> None:
    names = " | ".join(services["name_en"].str.to_lowercase())
    for basic in (
        "information", "counselling", "mediation", "social accompaniment", "representation",
        "home care", "day care", "in-kind", "supported living", "palliative", "prevention",
        "crisis intervention", "inclusive-education", "social adaptation", "shelter",
        "physical accompaniment", "sign-language", "respite", "early intervention",
    ):  # fmt: skip
        assert basic in names, basic


def test_missing_reference_file_is_an_input_file_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not found"):
        load_territories(tmp_path / "nope.csv")


def test_missing_column_names_the_column(tmp_path: Path) -> None:
    path = tmp_path / "services.csv"
    path.write_text("service_code,name_uk,name_en,unit\n015.1,Догляд вдома,Home care,hour\n")
    with pytest.raises(InputFileError) as err:
        load_services(path)
    assert err.value.column == "group"


def test_bad_population_names_the_line(tmp_path: Path) -> None:
    header = ",".join(TERRITORIES_SCHEMA)
    row = "UA80000000000093317,Київ,Kyiv City,UA80000000000093317,Київ,UA80000000000093317,Київ"
    path = tmp_path / "territories.csv"
    path.write_text(f"{header}\n{row},2953000\n{row},lots\n", encoding="utf-8")
    with pytest.raises(InputFileError) as err:
        load_territories(path)
    assert (err.value.column, err.value.line) == ("population", 3)
