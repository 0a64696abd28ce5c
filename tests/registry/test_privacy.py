"""Privacy at the door: personal identifiers never get past reading, and no output holds them."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import polars as pl
import pytest
from registry_kit import base_tables, read, set_cell

from engine.cli import main
from engine.errors import ConfigError, ExitCode, InputFileError

RNOKPP = ["2914503217", "3012298765", "1987654321"]
NAMES = ["Іваненко Марія Петрівна", "Петренко Іван Олексійович", "Шевчук Олена Іванівна"]
PHONES = ["+380671234567", "+380501112233", "+380939876543"]
PASSPORTS = ["МК123456", "ТТ654321", "АВ777888"]
EMAILS = ["maria@example.ua", "ivan@example.ua", "olena@example.ua"]
SECRETS = [*RNOKPP, *NAMES, *PHONES, *PASSPORTS, *EMAILS]
KEY = "test-key-not-a-secret"


def _with_personal_data() -> dict[str, pl.DataFrame]:
    tables = base_tables()
    tables["recipients"] = tables["recipients"].with_columns(
        pl.Series("РНОКПП", RNOKPP),
        pl.Series("ПІБ", NAMES),
        pl.Series("Телефон", PHONES),
        pl.Series("passport_no", PASSPORTS),
        pl.Series("e-mail", EMAILS),
        pl.Series("ref", RNOKPP),  # an innocent name, but its content is tax numbers
    )
    tables["cases"] = tables["cases"].with_columns(
        pl.Series("last_name", [NAMES[0].split()[0], NAMES[1].split()[0], "x", "y"])
    )
    # an individual provider (ФОП) whose "ЄДРПОУ" is its owner's РНОКПП: invalid, and redacted
    return set_cell(tables, "providers", 1, "edrpou", RNOKPP[1])


def _text_of_every_output(folder: Path) -> str:
    """Every cell of every Parquet output, as text (a raw byte search would miss compressed pages)."""
    files = sorted(folder.glob("*.parquet"))
    assert files
    return "\n".join(pl.read_parquet(f).cast(pl.String).write_csv() for f in files)


def test_personal_columns_are_dropped_and_reported_by_name(extract):
    registry = read(extract(_with_personal_data()))
    assert registry.recipients.columns == [*base_tables()["recipients"].columns, "source_line"]
    dropped = registry.warnings.filter(pl.col("rule") == "personal_data_dropped")
    assert sorted(dropped.select("table", "column").rows()) == [
        ("cases", "last_name"),
        ("recipients", "e-mail"),
        ("recipients", "passport_no"),
        ("recipients", "ref"),
        ("recipients", "піб"),
        ("recipients", "рнокпп"),
        ("recipients", "телефон"),
    ]
    assert dropped["value"].is_null().all()
    # a 10-digit code is an individual's (ФОП): the provider stays, its code withheld
    assert registry.quarantine.filter(pl.col("column") == "edrpou").height == 0
    assert registry.providers.sort("provider_id")["edrpou"][1] == "00000000"


def test_no_output_file_holds_an_identifier(extract, tmp_path):
    folder = extract(_with_personal_data())
    out = tmp_path / "out"
    code = main(["validate", str(folder), "--out", str(out), "--accept-quarantine"])
    assert code == ExitCode.OK
    text = _text_of_every_output(out)
    assert "C1" in text and "Догляд вдома" in text  # the search does see the outputs' values
    leaked = [s for s in SECRETS if s in text]
    assert not leaked


def test_identifier_that_is_a_tax_number_needs_pseudonymisation(extract):
    tables = base_tables()
    tables = set_cell(tables, "recipients", 0, "recipient_id", RNOKPP[0])
    tables = set_cell(tables, "recipients", 1, "recipient_id", RNOKPP[1])
    tables = set_cell(tables, "recipients", 2, "recipient_id", RNOKPP[2])
    with pytest.raises(InputFileError, match="--pseudonymise recipient_id") as err:
        read(extract(tables))
    assert err.value.column == "recipient_id"
    assert not any(s in str(err.value) for s in RNOKPP)


def _tax_number_ids() -> dict[str, pl.DataFrame]:
    tables = base_tables()
    ids = dict(zip(["R1", "R2", "R3"], RNOKPP, strict=True))
    for name in ("recipients", "cases"):
        tables[name] = tables[name].with_columns(pl.col("recipient_id").replace_strict(ids))
    return tables


def test_pseudonymised_ids_are_keyed_hashes_consistent_across_tables(extract, monkeypatch):
    monkeypatch.setenv("MFR_PSEUDONYM_KEY", KEY)
    registry = read(extract(_tax_number_ids()), pseudonymise=("recipient_id",))
    expected = hmac.new(KEY.encode(), RNOKPP[0].encode(), hashlib.sha256).hexdigest()
    assert registry.recipients["recipient_id"][0] == expected
    assert registry.quarantine.height == 0  # cases still find their recipients
    assert (
        registry.cases["recipient_id"].to_list()
        == registry.recipients["recipient_id"].gather([0, 1, 2, 0]).to_list()
    )
    notes = registry.warnings.filter(pl.col("rule") == "pseudonymised")
    assert sorted(notes["table"]) == ["cases", "recipients"]


def test_another_key_gives_other_pseudonyms(extract, monkeypatch):
    folder = extract(_tax_number_ids())
    monkeypatch.setenv("MY_KEY", "another key")
    other = read(folder, pseudonymise=("recipient_id",), key_env="MY_KEY")
    monkeypatch.setenv("MFR_PSEUDONYM_KEY", KEY)
    first = read(folder, pseudonymise=("recipient_id",))
    assert set(other.recipients["recipient_id"]).isdisjoint(first.recipients["recipient_id"])


def test_pseudonymisation_without_a_key_is_a_config_error(extract, monkeypatch):
    monkeypatch.delenv("MFR_PSEUDONYM_KEY", raising=False)
    with pytest.raises(ConfigError, match="MFR_PSEUDONYM_KEY"):
        read(extract(_tax_number_ids()), pseudonymise=("recipient_id",))


def test_pseudonymising_an_unknown_column_is_a_config_error(extract, monkeypatch):
    monkeypatch.setenv("MFR_PSEUDONYM_KEY", KEY)
    with pytest.raises(ConfigError, match="cannot pseudonymise 'rnokpp'"):
        read(extract(), pseudonymise=("rnokpp",))


def test_cli_pseudonymises_and_leaks_nothing(extract, tmp_path, monkeypatch):
    monkeypatch.setenv("MFR_PSEUDONYM_KEY", KEY)
    folder = extract(_tax_number_ids())
    out = tmp_path / "out"
    assert main(["validate", str(folder), "--out", str(out)]) == ExitCode.BAD_INPUT_FILE
    assert not out.exists()
    args = ["validate", str(folder), "--out", str(out), "--pseudonymise", "recipient_id"]
    assert main(args) == ExitCode.OK
    text = _text_of_every_output(out)
    assert not [s for s in RNOKPP if s in text]
    assert hmac.new(KEY.encode(), RNOKPP[2].encode(), hashlib.sha256).hexdigest() in text
