"""A planted-identifier campaign: personal identifiers put where registries really hold them, then
the whole nightly pipeline and `mfr validate --out` run on the extract, and not one byte of any file
they write (store, Parquet exports, cache, logs, report, manifest), nor their terminal output,
holds any of them.

Planted: the named columns a registry exports (`rnokpp`, `full_name`, `phone`, `passport`,
`email`); a phone and a tax number inside a provider's name, passport numbers in a service name and
a territory field; individual providers (ФОП, Cyrillic and transliterated) with a tax number as
their code; a recipients row whose fields shifted by two, so a tax number lands in
`registered_hromada` and a full name in `income_ratio`; and, in a second extract, tax numbers used
as `recipient_id` on three rows, which the nightly refuses and a pseudonymised validation hashes.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import polars as pl
import pytest

from engine.cli import main
from engine.errors import ExitCode
from engine.synth import add_personal_identifiers, generate_registry
from engine.synth.write import write_extract

REPO = Path(__file__).resolve().parents[1]
NIGHTLY = REPO / "pipelines" / "nightly.yaml"
SEED = 19
KEY = "planted-identifiers-test-key"
PROVIDER_PHONE = "+38 (066) 496-62-56"
PROVIDER_TAX_NUMBER = "2914503217"
FOP_CODE = "3187609451"
LATIN_FOP = "FOP Ivanenko I.B."
SERVICE_PASSPORT = "ВА338887"
TERRITORY_PASSPORT = "КВ123987"
EMAILS = ["olena.koval@example.ua", "petro.shevchuk@example.ua"]


def _digits(value: str) -> list[str]:
    """The value's digits-only variants worth searching for (a phone also without its +38)."""
    digits = re.sub(r"\D", "", value)
    variants = [digits] if len(digits) >= 9 else []
    if len(digits) == 12 and digits.startswith("38"):
        variants.append(digits[2:])
    return variants


def _planted_extract(folder: Path) -> tuple[Path, list[str]]:
    """A 300-recipient CSV extract full of identifiers; returns it and every planted string."""
    tables = generate_registry(300, seed=SEED)
    people = add_personal_identifiers(tables["recipients"], seed=SEED)
    emails = [*EMAILS, *[None] * (people.height - len(EMAILS))]
    people = people.with_columns(email=pl.Series(emails, dtype=pl.String))
    providers = tables["providers"]
    fop = providers.filter(pl.col("ownership") == "individual")
    assert fop.height >= 2, "the seed must give individual providers"
    fop_names = fop["name"].to_list()
    first_fop, legal = fop["provider_id"][0], providers.filter(pl.col("ownership") == "communal")
    providers = providers.with_columns(
        name=pl.when(pl.col("provider_id") == legal["provider_id"][0])
        .then(pl.col("name") + f", тел. {PROVIDER_PHONE}")
        .when(pl.col("provider_id") == legal["provider_id"][1])
        .then(pl.col("name") + f" (ІПН директора {PROVIDER_TAX_NUMBER})")
        .when(pl.col("provider_id") == legal["provider_id"][2])
        .then(pl.lit(LATIN_FOP))  # a person, whatever the ownership column says
        .otherwise(pl.col("name")),
        edrpou=pl.when(pl.col("provider_id") == first_fop)
        .then(pl.lit(FOP_CODE))
        .otherwise(pl.col("edrpou")),
    )
    services = tables["services"].with_columns(
        name_uk=pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.col("name_uk") + f" (паспорт {SERVICE_PASSPORT})")
        .otherwise(pl.col("name_uk"))
    )
    locations = tables["case_locations"].with_columns(
        hromada_code=pl.when(pl.int_range(pl.len()) == 5)
        .then(pl.lit(TERRITORY_PASSPORT))
        .otherwise(pl.col("hromada_code"))
    )
    tables = {
        **tables,
        "recipients": people,
        "providers": providers,
        "services": services,
        "case_locations": locations,
    }
    write_extract(tables, folder, "csv")
    shifted = _shift_by_two(folder / "recipients.csv", row=10)
    planted = [
        *people["rnokpp"].drop_nulls(),
        *people["full_name"],
        *people["phone"].drop_nulls(),
        *people["passport"].drop_nulls(),
        *EMAILS,
        *fop_names,
        *(name.removeprefix("ФОП ") for name in fop_names),
        PROVIDER_PHONE,
        PROVIDER_TAX_NUMBER,
        FOP_CODE,
        LATIN_FOP,
        LATIN_FOP.removeprefix("FOP "),
        SERVICE_PASSPORT,
        TERRITORY_PASSPORT,
        *shifted,
    ]
    return folder, sorted({*planted, *(d for p in planted for d in _digits(p))})


def _shift_by_two(path: Path, row: int) -> list[str]:
    """Drop `sex` and `disability_group` from one row and pad the end: every later field moves two
    columns left, so the tax number lands in `registered_hromada`, the name in `income_ratio`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    fields = lines[row + 1].split(",")
    assert len(fields) == len(header)
    moved = [fields[0], fields[1], *fields[4:], "", ""]
    lines[row + 1] = ",".join(moved)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    named = dict(zip(header, moved, strict=True))
    assert named["income_ratio"] == fields[header.index("full_name")]
    return [f for f in fields[header.index("rnokpp") :] if f]


def _tax_number_ids(source: Path, folder: Path) -> tuple[Path, list[str]]:
    """The planted extract with three recipients identified by their tax numbers."""
    tables = {
        name: pl.read_csv(source / f"{name}.csv", infer_schema=False)
        for name in ("recipients", "cases", "case_locations", "providers", "services")
    }
    tables["territory_status"] = pl.read_csv(source / "territory_status.csv", infer_schema=False)
    people = tables["recipients"].filter(pl.col("rnokpp").str.contains(r"^\d{10}$")).head(3)
    ids = dict(zip(people["recipient_id"], people["rnokpp"], strict=True))
    for name in ("recipients", "cases"):
        tables[name] = tables[name].with_columns(pl.col("recipient_id").replace(ids))
    folder.mkdir(parents=True)
    for name, frame in tables.items():
        (folder / f"{name}.csv").write_text(frame.write_csv(), encoding="utf-8")
    (folder / "extract.yaml").write_bytes((source / "extract.yaml").read_bytes())
    return folder, list(ids.values())


def _every_byte_and_cell(root: Path) -> tuple[bytes, str]:
    """All bytes of every file under `root`, and every cell of its Parquet files and DuckDB stores
    as text (their pages may be compressed, so a byte search alone could miss a value)."""
    raw, cells = [], []
    files = sorted(p for p in root.rglob("*") if p.is_file())
    assert files
    for file in files:
        raw.append(file.read_bytes())
        if file.suffix == ".parquet":
            cells.append(pl.read_parquet(file).cast(pl.String).write_csv())
        elif file.suffix == ".duckdb":
            with duckdb.connect(str(file), read_only=True) as con:
                names = con.execute(
                    "SELECT table_schema, table_name FROM information_schema.tables"
                ).fetchall()
                for schema, name in names:
                    frame = con.sql(f'SELECT * FROM "{schema}"."{name}"').pl()
                    cells.append(frame.cast(pl.String).write_csv())
    return b"\n".join(raw), "\n".join(cells)


def _leaks(planted: list[str], raw: bytes, text: str) -> list[str]:
    """The planted strings found in the cells, or in the bytes read as UTF-8 or as CP1251.

    One Aho-Corasick pass of polars per corpus: a plain `in` per string would read the ~50 MB of
    outputs once for each of the ~1,500 strings.
    """
    corpus = pl.Series([text, raw.decode("utf-8", "ignore"), raw.decode("cp1251", "replace")])
    found = corpus.str.extract_many(planted, overlapping=True).explode().drop_nulls()
    return sorted(set(found))


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    return _planted_extract(tmp_path_factory.mktemp("planted") / "extract")


def test_no_planted_identifier_reaches_any_output_of_the_nightly(
    planted, tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("CI", "true")  # as a scheduled job: no progress bars
    extract, secrets = planted
    work = tmp_path / "work"
    run = ["run", str(NIGHTLY), "--extract", str(extract), "--store", str(work / "mfr.duckdb")]
    assert main([*run, "--accept-quarantine"]) == ExitCode.OK, capsys.readouterr().err
    out = work / "validate"
    assert main(["validate", str(extract), "--out", str(out), "--accept-quarantine"]) == 0
    printed = capsys.readouterr()
    raw, text = _every_byte_and_cell(work)
    # the search does find what was planted where it is, and does see the outputs' values
    assert len(_leaks(secrets, (extract / "recipients.csv").read_bytes(), "")) > 1_000
    assert "015.1" in text and "C000000001" in text
    assert (work / "runs").is_dir() and (work / "logs").is_dir() and (work / "cache").is_dir()
    assert not _leaks(secrets, raw, text)
    assert "ФОП (individual provider)" in text and "<redacted: personal name>" in text
    assert "<redacted: phone>" in text and "<redacted: passport>" in text
    terminal = printed.out + printed.err
    assert "income_ratio" in terminal  # the shifted row's example is printed, masked
    assert not [s for s in secrets if s in terminal]


def test_a_tax_number_as_an_id_is_refused_then_pseudonymised(
    planted, tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("CI", "true")
    extract, secrets = planted
    folder, ids = _tax_number_ids(extract, tmp_path / "ids")
    secrets = sorted({*secrets, *ids})
    work = tmp_path / "work"
    run = ["run", str(NIGHTLY), "--extract", str(folder), "--store", str(work / "mfr.duckdb")]
    assert main([*run, "--accept-quarantine"]) == ExitCode.BAD_INPUT_FILE
    refused = capsys.readouterr()
    assert "--pseudonymise recipient_id" in refused.err
    assert not [s for s in secrets if s in refused.out + refused.err]

    monkeypatch.setenv("MFR_PSEUDONYM_KEY", KEY)
    out = work / "validate"
    args = ["validate", str(folder), "--out", str(out)]
    assert main([*args, "--pseudonymise", "recipient_id", "--accept-quarantine"]) == 0
    printed = capsys.readouterr()
    raw, text = _every_byte_and_cell(work)
    assert "015.1" in text
    assert not _leaks(secrets, raw, text)
    assert not [s for s in secrets if s in printed.out + printed.err]


def test_a_spec_pseudonymises_tax_number_ids_in_the_nightly(planted, tmp_path, monkeypatch) -> None:
    """`pseudonymise: [recipient_id]` in a run spec: the nightly hashes the ids at the door, and a
    run under another key is another run (its pseudonyms differ), never "up to date"."""
    monkeypatch.setenv("CI", "true")
    extract, secrets = planted
    folder, ids = _tax_number_ids(extract, tmp_path / "ids")
    secrets = sorted({*secrets, *ids})
    spec = tmp_path / "nightly-pseudonymised.yaml"
    spec.write_text(
        NIGHTLY.read_text(encoding="utf-8") + f"\nroot: {REPO}\npseudonymise: [recipient_id]\n",
        encoding="utf-8",
    )
    work = tmp_path / "work"
    run = ["run", str(spec), "--extract", str(folder), "--store", str(work / "mfr.duckdb")]
    monkeypatch.setenv("MFR_PSEUDONYM_KEY", KEY)
    assert main([*run, "--accept-quarantine"]) == ExitCode.OK
    raw, text = _every_byte_and_cell(work)
    assert "015.1" in text
    assert not _leaks(secrets, raw, text)
    with duckdb.connect(str(work / "mfr.duckdb"), read_only=True) as con:
        (first,) = con.execute("SELECT count(*) FROM runs WHERE status = 'succeeded'").fetchone()
    assert first == 1
    monkeypatch.setenv("MFR_PSEUDONYM_KEY", KEY + "-rotated")
    assert main([*run, "--accept-quarantine"]) == ExitCode.OK
    with duckdb.connect(str(work / "mfr.duckdb"), read_only=True) as con:
        (runs,) = con.execute("SELECT count(*) FROM runs WHERE status = 'succeeded'").fetchone()
    assert runs == 2  # another key: computed again, not found identical
