"""Reading the bundled benefits sample: planted bad rows, privacy at the door, the join."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import yaml
from benefit_cases import REPO, territories_fixture  # noqa: F401 (fixtures)

import engine
from engine.benefits import benefits_summary, read_benefits, with_benefits
from engine.errors import ConfigError, InputFileError
from engine.registry._read import read_table_file

SAMPLE = REPO / "data_samples" / "benefits"
REGISTRY = REPO / "data_samples" / "registry"
PLANTED = yaml.safe_load((Path(__file__).parent / "sample_planted.yaml").read_text("utf-8"))


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MFR_PSEUDONYM_KEY", "a key kept by the operator")
    return "a key kept by the operator"


@pytest.fixture
def registry() -> engine.Registry:
    return engine.read_registry(REGISTRY)


def test_the_sample_quarantines_exactly_the_planted_rows(key, registry) -> None:
    benefits = read_benefits(SAMPLE, registry, REGISTRY)
    found = benefits.quarantine.select(
        "table", pl.col("source_line").alias("line"), "rule", "column"
    ).to_dicts()
    assert found == PLANTED
    rules = benefits_summary(benefits)
    assert set(rules.filter(pl.col("kind") == "quarantine")["rule"]) == {p["rule"] for p in PLANTED}
    # every row read is valid or quarantined: nothing dropped silently
    for table, read in benefits.rows_read.items():
        rejected = benefits.quarantine.filter(pl.col("table") == table)["source_line"].n_unique()
        assert benefits.table(table).height + rejected == read, table


def test_personal_columns_never_pass_and_keys_are_pseudonyms(key, registry) -> None:
    benefits = read_benefits(SAMPLE, registry, REGISTRY)
    dropped = benefits.warnings.filter(pl.col("rule") == "personal_data_dropped")["column"]
    assert sorted(dropped) == ["full_name", "phone"]
    for frame in benefits.tables.values():
        assert not {"rnokpp", "person_key", "full_name", "phone"} & set(frame.columns)
        assert frame["recipient_id"].is_in(registry.recipients["recipient_id"].implode()).all()
    declared = benefits.table("income_declarations")
    assert declared["income_ratio"].null_count() == 0  # income ÷ subsistence minimum filled in


def test_the_join_needs_the_key(monkeypatch: pytest.MonkeyPatch, registry) -> None:
    monkeypatch.delenv("MFR_PSEUDONYM_KEY", raising=False)
    with pytest.raises(ConfigError, match="MFR_PSEUDONYM_KEY"):
        read_benefits(SAMPLE, registry, REGISTRY)


def test_a_table_without_rnokpp_is_refused_naming_file_and_column(key, registry, tmp_path) -> None:
    (tmp_path / "disability_assessments.csv").write_text(
        "person;disability_group;valid_from;valid_to\nx;I;01.01.2020;\n", encoding="utf-8"
    )
    with pytest.raises(InputFileError, match=r"disability_assessments\.csv.*rnokpp"):
        read_benefits(tmp_path, registry, REGISTRY)


def test_pseudonymised_registry_ids_join_alike(key) -> None:
    plain = engine.read_registry(REGISTRY)
    hashed = engine.read_registry(REGISTRY, pseudonymise=["recipient_id"])
    one = read_benefits(SAMPLE, plain, REGISTRY)
    other = read_benefits(SAMPLE, hashed, REGISTRY, pseudonymise=["recipient_id"])
    for name in one.tables:
        assert one.table(name).height == other.table(name).height, name
    assert not other.table("income_declarations")["recipient_id"].str.starts_with("R").any()


def test_the_sample_moves_money_on_the_days_circumstances_change(key, registry) -> None:
    model = engine.load_funding_model(REPO / "models" / "funding" / "baseline")
    territories = engine.load_territories()
    benefits = read_benefits(SAMPLE, registry, REGISTRY)
    months = ("2026-01", "2026-10")
    plain = engine.compute_entitlements(registry, model, territories, months=months)
    dated = engine.compute_entitlements(
        with_benefits(registry, benefits), model, territories, months=months
    )
    assert dated.n_segments > plain.n_segments
    assert dated.case_months.height == plain.case_months.height
    assert dated.idp_burden is not None and dated.idp_burden.height > 0
    national = dated.idp_burden.filter(pl.col("level") == "national")
    assert national["month"].min() == dt.date(2026, 1, 1)


def _cells(frame: pl.DataFrame) -> set[str]:
    text = frame.select(pl.all().cast(pl.String))
    return {v for column in text.columns for v in text[column].drop_nulls().to_list()}


def test_no_identifier_of_either_extract_reaches_any_output(key, registry, tmp_path) -> None:
    """Plant РНОКПП, names and phones in the benefits extract (named columns, ordinary columns,
    text values) and search every cell of everything read and priced for any of them."""
    planted_names = ["Поліщук Іван Юрійович", "Ткаченко Олена Петрівна"]
    planted_phones = ["+380661234567", "0951112233"]
    tax = read_table_file("recipients", REGISTRY / "recipients.csv").frame["rnokpp"].drop_nulls()
    for file in SAMPLE.iterdir():
        (tmp_path / file.name).write_bytes(file.read_bytes())
    assistance = pl.read_csv(
        SAMPLE / "assistance_paid.csv", separator=";", encoding="cp1251", infer_schema=False
    )
    n = assistance.height
    assistance = assistance.with_columns(
        pib=pl.Series([planted_names[i % 2] for i in range(n)]),
        contact=pl.Series([planted_phones[i % 2] for i in range(n)]),
        programme=pl.when(pl.int_range(n) % 50 == 0)
        .then(pl.format("{} тел. {}", pl.col("programme"), pl.lit(planted_phones[0])))
        .otherwise(pl.col("programme")),
        copy_of_tax_number=pl.col("rnokpp"),
    )
    (tmp_path / "assistance_paid.csv").write_bytes(
        assistance.write_csv(separator=";").encode("cp1251")
    )
    benefits = read_benefits(tmp_path, registry, REGISTRY)
    model = engine.load_funding_model(REPO / "models" / "funding" / "baseline")
    dated = engine.compute_entitlements(
        with_benefits(registry, benefits),
        model,
        engine.load_territories(),
        months=("2026-01", "2026-10"),
    )
    frames = [*benefits.tables.values(), benefits.quarantine, benefits.warnings]
    frames += [dated.segments, dated.case_months, dated.rollups, dated.flows, dated.idp_burden]
    secrets = set(tax.to_list()) | set(planted_names) | set(planted_phones)
    for frame in frames:
        assert frame is not None
        cells = _cells(frame)
        assert not cells & secrets
        assert not any(p in cell for cell in cells for p in planted_phones)
    masked = benefits.warnings.filter(pl.col("rule") == "personal_data_masked")["column"]
    assert "programme" in masked.to_list()


def test_a_tax_number_shared_by_two_recipients_is_quarantined_not_guessed(
    key, registry, tmp_path
) -> None:
    """Two registry recipients with one РНОКПП: their benefits rows are `ambiguous_person`."""
    extract = tmp_path / "registry"
    extract.mkdir()
    for file in REGISTRY.iterdir():
        (extract / file.name).write_bytes(file.read_bytes())
    recipients = pl.read_csv(
        REGISTRY / "recipients.csv", separator=";", encoding="cp1251", infer_schema=False
    )
    declared = pl.read_csv(
        SAMPLE / "income_declarations.csv", separator=";", encoding="cp1251", infer_schema=False
    )
    shared = declared["rnokpp"][0]  # a person with declarations
    owner = recipients.filter(pl.col("rnokpp") == shared)["recipient_id"][0]
    other = recipients.filter(pl.col("rnokpp") != shared)["recipient_id"][0]
    copied = recipients.with_columns(
        rnokpp=pl.when(pl.col("recipient_id") == other).then(pl.lit(shared)).otherwise("rnokpp")
    )
    (extract / "recipients.csv").write_bytes(copied.write_csv(separator=";").encode("cp1251"))
    benefits = read_benefits(SAMPLE, engine.read_registry(extract), extract)
    ambiguous = benefits.quarantine.filter(pl.col("rule") == "ambiguous_person")
    assert ambiguous.height > 0
    owners = {owner, other}
    for frame in benefits.tables.values():
        assert not frame["recipient_id"].is_in(list(owners)).any()
