"""The synthetic registry generator: valid, relationally sound, realistic, deterministic."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from engine.cli import main
from engine.errors import ConfigError, ExitCode
from engine.schemas import (
    DISABILITY_GROUPS,
    OWNERSHIPS,
    REGISTRY_TABLES,
    STATUSES,
    TERRITORY_STATUSES,
)
from engine.synth import DEFAULT_EXTRACT_DATE, generate_registry
from engine.synth._providers import edrpou_check_digit
from engine.synth.pii import PII_COLUMNS, add_personal_identifiers, rnokpp_check_digit
from engine.synth.write import write_extract

EXTRACT = DEFAULT_EXTRACT_DATE
FAR = dt.date(9999, 12, 31)
EAST_SOUTH = ("UA14", "UA63", "UA44", "UA23", "UA65", "UA48", "UA01", "UA85", "UA12")


@pytest.fixture(scope="module")
def reg() -> dict[str, pl.DataFrame]:
    return generate_registry(6_000, seed=11)


def _missing(child: pl.DataFrame, key: str, parent: pl.DataFrame, parent_key: str) -> int:
    keys = child.select(key).drop_nulls()
    return keys.join(parent.select(pl.col(parent_key).alias(key)), on=key, how="anti").height


def _with_prev(locations: pl.DataFrame) -> pl.DataFrame:
    return locations.sort("case_id", "valid_from").with_columns(
        pl.col("valid_to", "hromada_code", "provider_id")
        .shift()
        .over("case_id")
        .name.prefix("prev_"),
        first=pl.int_range(pl.len()).over("case_id") == 0,
    )


def test_same_seed_same_extract_other_seed_another() -> None:
    a, b, c = (generate_registry(800, seed=s) for s in (5, 5, 6))
    for name in REGISTRY_TABLES:
        assert_frame_equal(a[name], b[name])
    assert not a["cases"].equals(c["cases"])


def test_every_table_satisfies_its_model(reg: dict[str, pl.DataFrame]) -> None:
    assert list(reg) == list(REGISTRY_TABLES)
    for name, model in REGISTRY_TABLES.items():
        model.validate(reg[name])
        columns = model.to_schema().columns
        assert reg[name].columns == list(columns), name
        for col, spec in columns.items():
            assert reg[name].schema[col] == spec.dtype.type, (name, col)


def test_every_key_resolves(reg: dict[str, pl.DataFrame]) -> None:
    r, c, loc, p, s = (
        reg[k] for k in ("recipients", "cases", "case_locations", "providers", "services")
    )
    assert _missing(c, "recipient_id", r, "recipient_id") == 0
    assert _missing(c, "service_code", s, "service_code") == 0
    assert _missing(loc, "case_id", c, "case_id") == 0
    assert _missing(loc, "provider_id", p, "provider_id") == 0
    assert _missing(r, "recipient_id", c, "recipient_id") == 0  # everyone has a case
    assert _missing(c, "case_id", loc, "case_id") == 0  # every case has a location
    from engine.reference import load_territories

    t = load_territories()
    for frame, col in ((r, "registered_hromada"), (loc, "hromada_code"), (p, "hromada_code")):
        assert _missing(frame, col, t, "hromada_code") == 0, col
    assert _missing(reg["territory_status"], "hromada_code", t, "hromada_code") == 0


def test_locations_tile_their_case_without_overlap(reg: dict[str, pl.DataFrame]) -> None:
    # tables come ordered as a registry issues them: cases by start, locations by case and date
    assert reg["cases"]["start_date"].is_sorted()
    assert reg["case_locations"].select(pl.struct("case_id", "valid_from").is_sorted()).item()
    loc = _with_prev(reg["case_locations"])
    later = loc.filter(~pl.col("first"))
    assert later["prev_valid_to"].null_count() == 0  # only a case's last location may be open
    assert (later["valid_from"] == later["prev_valid_to"] + dt.timedelta(days=1)).all()
    assert (loc["valid_to"].fill_null(FAR) >= loc["valid_from"]).all()
    span = (
        loc.group_by("case_id")
        .agg(
            pl.col("valid_from").min(),
            pl.col("valid_to").last(),
            open=pl.col("valid_to").is_null().any(),
        )
        .join(reg["cases"], on="case_id")
    )
    assert (span["valid_from"] == span["start_date"]).all()
    assert (span["valid_to"].fill_null(FAR) == span["end_date"].fill_null(FAR)).all()
    assert (span["open"] == span["end_date"].is_null()).all()


def test_statuses_match_dates_and_providers(reg: dict[str, pl.DataFrame]) -> None:
    cases = reg["cases"]
    last = _with_prev(reg["case_locations"]).group_by("case_id").agg(pl.col("provider_id").last())
    c = cases.join(last, on="case_id")
    assert (c.filter(pl.col("status") == "closed")["end_date"].is_not_null()).all()
    assert (c.filter(pl.col("status") != "closed")["end_date"].is_null()).all()
    assert c.filter(pl.col("status") == "waiting")["provider_id"].is_null().all()
    assert c.filter(pl.col("status") == "served")["provider_id"].is_not_null().all()
    counts = dict(cases["status"].value_counts().iter_rows())
    assert counts["waiting"] > 0 and counts["served"] > counts["waiting"] and counts["closed"] > 0


def test_no_date_after_the_extract_date(reg: dict[str, pl.DataFrame]) -> None:
    for name, df in reg.items():
        for col, dtype in df.schema.items():
            if dtype == pl.Date:
                assert (df[col].drop_nulls() <= EXTRACT).all(), (name, col)


def test_moves_change_hromada_and_provider_mid_month(reg: dict[str, pl.DataFrame]) -> None:
    loc = _with_prev(reg["case_locations"]).filter(~pl.col("first"))
    moves = loc.filter(pl.col("hromada_code") != pl.col("prev_hromada_code"))
    assert moves.height > 50
    assert (moves["valid_from"].dt.day() != 1).all()
    served = moves.filter(
        pl.col("provider_id").is_not_null() & pl.col("prev_provider_id").is_not_null()
    )
    assert (served["provider_id"] != served["prev_provider_id"]).mean() > 0.95
    # waiting cases that later got a provider: a row without provider, then one with
    became_served = loc.filter(
        pl.col("prev_provider_id").is_null() & pl.col("provider_id").is_not_null()
    )
    assert became_served.height > 50


def test_idps_come_from_the_east_and_south_and_are_served_elsewhere(
    reg: dict[str, pl.DataFrame],
) -> None:
    r = reg["recipients"]
    assert 0.05 < r["is_idp"].mean() < 0.25
    origin = r.filter("is_idp")["registered_hromada"].str.slice(0, 4)
    assert origin.is_in(list(EAST_SOUTH)).mean() > 0.8
    rows = reg["case_locations"].join(reg["cases"], on="case_id").join(r, on="recipient_id")
    idp = rows.filter("is_idp")
    away = (idp["hromada_code"] != idp["registered_hromada"]).mean()
    local = rows.filter(~pl.col("is_idp"))
    assert away > 0.8
    assert (local["hromada_code"] != local["registered_hromada"]).mean() < 0.1


def test_people_fit_their_services(reg: dict[str, pl.DataFrame]) -> None:
    c = (
        reg["cases"]
        .join(reg["recipients"], on="recipient_id")
        .with_columns(age=(pl.col("start_date") - pl.col("birth_date")).dt.total_days() / 365.25)
    )
    early = c.filter(pl.col("service_code") == "022.0")
    assert early.height > 0 and early["age"].max() < 4
    assert c.filter(pl.col("service_code") == "015.1")["age"].median() > 60
    assert (c["age"] >= 0).all()
    r = reg["recipients"]
    age_now = (pl.lit(EXTRACT) - pl.col("birth_date")).dt.total_days() / 365.25
    assert r.filter(pl.col("disability_group") == "child").select(age_now.max()).item() < 18
    assert 0 < r["income_ratio"].null_count() < 0.2 * r.height
    units = c["assessed_units"]
    assert 0 < units.is_not_null().mean() < 0.3


def test_case_starts_grow_and_peak_in_winter() -> None:
    c = generate_registry(20_000, seed=2)["cases"].filter(pl.col("start_date").dt.year() >= 2021)
    by_year = dict(c.group_by(pl.col("start_date").dt.year()).len().iter_rows())
    assert by_year[2025] > by_year[2021]
    by_month = dict(c.group_by(pl.col("start_date").dt.month()).len().iter_rows())
    assert by_month[1] + by_month[12] > by_month[6] + by_month[7]


def test_territory_statuses_change_over_time(reg: dict[str, pl.DataFrame]) -> None:
    ts = reg["territory_status"]
    war = ts.filter(pl.col("status").is_in(["frontline", "occupied"]))
    assert war.filter(pl.col("valid_from") == dt.date(2022, 2, 24)).height > 50
    ended = war.filter(pl.col("status") == "frontline", pl.col("valid_to").is_not_null())
    assert ended.height > 5
    entered = war.filter(
        pl.col("status") == "frontline", pl.col("valid_from") > dt.date(2023, 1, 1)
    )
    assert entered.height > 0 and (entered["valid_from"].dt.day() != 1).all()
    crimea = ts.filter(pl.col("hromada_code").str.starts_with("UA01"))
    assert set(crimea["status"]) == {"occupied"} and crimea.height == 303
    mountain = ts.filter(pl.col("status") == "mountain")
    assert set(mountain["hromada_code"].str.slice(0, 4)) == {"UA21", "UA26", "UA46", "UA73"}
    assert mountain["valid_to"].is_null().all()
    # a hromada is never frontline and occupied on the same day
    w = war.sort("hromada_code", "valid_from").with_columns(
        prev_to=pl.col("valid_to").shift().over("hromada_code"),
        first=pl.int_range(pl.len()).over("hromada_code") == 0,
    )
    later = w.filter(~pl.col("first"))
    assert later["prev_to"].null_count() == 0
    assert (later["valid_from"] > later["prev_to"]).all()


def test_providers_are_plausible(reg: dict[str, pl.DataFrame]) -> None:
    p = reg["providers"]
    assert set(p["ownership"]) == {"state", "communal", "nonstate", "individual"}
    code = p["edrpou"].cast(pl.Int64).to_numpy()
    assert (edrpou_check_digit(code // 10) == code % 10).all()
    assert p["edrpou"].is_unique().all()


def test_personal_identifiers_are_realistic(reg: dict[str, pl.DataFrame]) -> None:
    r = add_personal_identifiers(reg["recipients"], seed=1)
    assert r.columns[-4:] == list(PII_COLUMNS)
    tax = r.filter(pl.col("rnokpp").is_not_null())
    assert tax["rnokpp"].str.contains(r"^\d{10}$").all()
    code = tax["rnokpp"].cast(pl.Int64).to_numpy()
    assert (rnokpp_check_digit(code // 10) == code % 10).all()
    born = dt.date(1899, 12, 31) + pl.duration(days=tax["rnokpp"].str.slice(0, 5).cast(pl.Int64))
    assert (tax.select(born.alias("b"))["b"] == tax["birth_date"]).all()
    male_digit = tax["rnokpp"].str.slice(8, 1).cast(pl.Int64) % 2 == 1
    assert (male_digit == (tax["sex"] == "M")).all()
    assert r["full_name"].str.split(" ").list.len().eq(3).all()


def test_tax_numbers_are_unique_even_when_many_share_a_birth_date() -> None:
    # 4,000 people born on two days: 3 serial digits and a sex digit give 5,000 numbers per
    # birth date and sex, so drawn at random about 1,500 of them would collide
    n = 4_000
    people = pl.DataFrame(
        {
            "birth_date": [dt.date(1960, 5, 1), dt.date(1960, 5, 2)] * (n // 2),
            "sex": ["F"] * (n // 4) + ["M"] * (n // 4) + ["F"] * (n // 4) + ["M"] * (n // 4),
        }
    )
    r = add_personal_identifiers(people, seed=3).filter(pl.col("rnokpp").is_not_null())
    assert r["rnokpp"].is_unique().all()
    code = r["rnokpp"].cast(pl.Int64).to_numpy()
    assert (rnokpp_check_digit(code // 10) == code % 10).all()
    born = dt.date(1899, 12, 31) + pl.duration(days=r["rnokpp"].str.slice(0, 5).cast(pl.Int64))
    assert (r.select(born.alias("b"))["b"] == r["birth_date"]).all()
    assert ((r["rnokpp"].str.slice(8, 1).cast(pl.Int64) % 2 == 1) == (r["sex"] == "M")).all()


def test_unique_serials_keep_the_first_holder_and_redraw_the_rest() -> None:
    import numpy as np

    from engine.synth.pii import _unique_serials

    preferred = np.array([7, 7, 7, 9, 7, 9])
    group = np.array([0, 0, 0, 0, 1, 1])
    serial = _unique_serials(preferred, group, np.random.default_rng(0))
    assert serial[0] == 7 and serial[3] == 9 and serial[4] == 7 and serial[5] == 9
    assert len({(g, s) for g, s in zip(group.tolist(), serial.tolist(), strict=True)}) == 6
    assert ((serial >= 0) & (serial < 5_000)).all()


def test_messy_csv_round_trip_is_cp1251_semicolon(
    tmp_path: Path, reg: dict[str, pl.DataFrame]
) -> None:
    small = {k: v.head(300) for k, v in reg.items()}
    write_extract(small, tmp_path, "csv", messy=True, extract_date=EXTRACT)
    assert (tmp_path / "extract.yaml").read_text().strip().endswith("extract_date: 2026-10-31")
    text = (tmp_path / "recipients.csv").read_bytes().decode("cp1251")
    assert text.startswith("recipient_id;birth_date;sex;") and "\r\n" in text
    back = pl.read_csv(text.encode(), separator=";", infer_schema=False)
    assert back["birth_date"].str.contains(r"^\d\d\.\d\d\.\d{4}$").all()
    assert back["income_ratio"].drop_nulls().str.contains(r"^\d+(,\d+)?$").all()
    typed = back.with_columns(
        pl.col("birth_date").str.to_date("%d.%m.%Y"),
        pl.col("is_idp") == "true",
        pl.col("income_ratio").str.replace(",", ".").cast(pl.Float64),
    )
    assert_frame_equal(typed, small["recipients"])
    names = (tmp_path / "providers.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        names.decode("utf-8")
    assert "«" in names.decode("cp1251")  # Ukrainian names survive the encoding


@pytest.mark.parametrize("fmt", ["parquet", "xlsx"])
def test_parquet_and_xlsx_round_trip(
    tmp_path: Path, reg: dict[str, pl.DataFrame], fmt: str
) -> None:
    small = {k: v.head(50) for k, v in reg.items()}
    paths = write_extract(small, tmp_path, fmt)
    assert {p.name for p in paths} == {f"{k}.{fmt}" for k in small} | {"extract.yaml"}
    read = pl.read_parquet if fmt == "parquet" else pl.read_excel
    back = read(tmp_path / f"providers.{fmt}")
    assert_frame_equal(back, small["providers"])


def test_write_extract_refuses_bad_options(tmp_path: Path, reg: dict[str, pl.DataFrame]) -> None:
    with pytest.raises(ConfigError, match="unknown extract format"):
        write_extract(reg, tmp_path, "json")
    with pytest.raises(ConfigError, match="CSV only"):
        write_extract(reg, tmp_path, "parquet", messy=True)


def test_cli_generate(tmp_path: Path) -> None:
    out = tmp_path / "extract"
    assert main(["generate", "--recipients", "200", "--seed", "3", "--out", str(out)]) == 0
    cases = pl.read_parquet(out / "cases.parquet")
    assert_frame_equal(cases, generate_registry(200, seed=3)["cases"])
    code = main(["generate", "-n", "10", "--out", str(out), "--format", "xlsx", "--messy"])
    assert code == ExitCode.BAD_CONFIG


def test_recipients_have_one_to_three_cases_one_per_service(reg: dict[str, pl.DataFrame]) -> None:
    per = (
        reg["cases"]
        .group_by("recipient_id")
        .agg(n=pl.len(), services=pl.col("service_code").n_unique())
    )
    assert per["n"].min() == 1 and per["n"].max() == 3
    assert (per["n"] == per["services"]).all()
    assert 1.1 < per["n"].mean() < 1.5


# --- the bundled sample extract and its planted bad rows -------------------------------------

_ALLOWED = {
    "sex": ("F", "M"),
    "disability_group": DISABILITY_GROUPS,
    "need_level": ("1", "2", "3"),
    "status": STATUSES + TERRITORY_STATUSES,
    "ownership": OWNERSHIPS,
}
_TABLE_KEYS = {"recipients": "recipient_id", "cases": "case_id", "providers": "provider_id"}
_ROW_RULES = {
    "unparseable_value", "missing_value", "invalid_value", "out_of_range", "unknown_code",
    "duplicate_key", "orphan_key", "parent_quarantined", "end_before_start",
    "overlapping_locations", "location_outside_case", "future_date",
}  # fmt: skip


@pytest.fixture(scope="module")
def sample(sample_extract: Path) -> dict[str, pl.DataFrame]:
    """Each sample table as text, with `line` = its 1-based line in the file (header = 1)."""
    out = {}
    for name in REGISTRY_TABLES:
        text = (sample_extract / f"{name}.csv").read_bytes().decode("cp1251")
        df = pl.read_csv(text.encode(), separator=";", infer_schema=False)
        out[name] = df.with_row_index("line", offset=2).with_columns(pl.col("line").cast(pl.Int64))
    return out


@pytest.fixture(scope="module")
def planted(repo_root: Path) -> pl.DataFrame:
    import yaml

    rows = yaml.safe_load((repo_root / "tests/golden/sample_planted.yaml").read_text("utf-8"))
    return pl.DataFrame(rows, schema={"table": pl.String, "source_line": pl.Int64,
                                      "rule": pl.String, "column": pl.String})  # fmt: skip


def _typed(text: pl.DataFrame, name: str) -> pl.DataFrame:
    """Parse messy text to the model's types (unparseable values become null)."""
    exprs = []
    for col, spec in REGISTRY_TABLES[name].to_schema().columns.items():
        dtype, c = spec.dtype.type, pl.col(col)
        if dtype == pl.Date:
            c = c.str.to_date("%d.%m.%Y", strict=False)
        elif dtype == pl.Float64:
            c = c.str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
        elif dtype == pl.Boolean:
            c = c == "true"
        elif dtype == pl.Int64:
            c = c.cast(pl.Int64, strict=False)
        exprs.append(c.alias(col))
    return text.select(exprs)


def test_sample_is_a_small_messy_extract(
    sample_extract: Path, sample: dict[str, pl.DataFrame]
) -> None:
    files = sorted(p.name for p in sample_extract.iterdir())
    assert files == sorted([f"{n}.csv" for n in REGISTRY_TABLES] + ["extract.yaml"])
    assert sum(p.stat().st_size for p in sample_extract.iterdir()) < 3_000_000
    assert "extract_date: 2026-10-31" in (sample_extract / "extract.yaml").read_text()
    for name in REGISTRY_TABLES:
        raw = (sample_extract / f"{name}.csv").read_bytes()
        header = raw.split(b"\r\n", 1)[0].decode("cp1251").split(";")
        assert header == sample[name].columns[1:]  # after our `line` column
        assert raw.count(b"\n") == raw.count(b"\r\n") == sample[name].height + 1
    with pytest.raises(UnicodeDecodeError):
        (sample_extract / "recipients.csv").read_bytes().decode("utf-8")
    assert 2_500 < sample["recipients"].height < 4_000
    assert set(PII_COLUMNS) <= set(sample["recipients"].columns)
    assert sample["recipients"]["income_ratio"].str.contains(",").any()


def test_sample_plants_every_rule_under_one_percent(
    sample: dict[str, pl.DataFrame], planted: pl.DataFrame
) -> None:
    assert set(planted["rule"]) == _ROW_RULES
    assert planted.select("table", "source_line").is_unique().all()
    for (table,), rows in planted.group_by("table"):
        assert rows.height / sample[str(table)].height < 0.01, table
    assert "services" not in set(planted["table"])
    orphan_columns = set(planted.filter(pl.col("rule") == "orphan_key")["column"])
    assert orphan_columns == {"recipient_id", "case_id", "provider_id"}


def test_sample_rows_not_planted_are_clean(
    sample: dict[str, pl.DataFrame], planted: pl.DataFrame
) -> None:
    clean = {}
    for name, text in sample.items():
        bad = planted.filter(pl.col("table") == name)["source_line"].implode()
        rows = text.filter(~pl.col("line").is_in(bad))
        clean[name] = _typed(rows, name)
        REGISTRY_TABLES[name].validate(clean[name])
        # every non-empty value parsed
        assert clean[name].null_count().row(0) == rows.drop("line").select(
            clean[name].columns
        ).null_count().row(0), name
    assert _missing(clean["cases"], "recipient_id", clean["recipients"], "recipient_id") == 0
    assert _missing(clean["case_locations"], "case_id", clean["cases"], "case_id") == 0
    assert _missing(clean["case_locations"], "provider_id", clean["providers"], "provider_id") == 0
    for name, df in clean.items():
        for col, dtype in df.schema.items():
            if dtype == pl.Date:
                assert (df[col].drop_nulls() <= EXTRACT).all(), (name, col)
    loc = _with_prev(clean["case_locations"]).filter(~pl.col("first"))
    assert (loc["valid_from"] == loc["prev_valid_to"] + dt.timedelta(days=1)).all()


def test_each_planted_row_has_its_defect(
    sample: dict[str, pl.DataFrame], planted: pl.DataFrame
) -> None:
    from engine.reference import load_services, load_territories

    hromadas = set(load_territories()["hromada_code"])
    catalogue = set(load_services()["service_code"])
    bad_keys = {
        (t, sample[t].filter(pl.col("line") == line)[_TABLE_KEYS[t]].item())
        for t, line in planted.select("table", "source_line").iter_rows()
        if t in _TABLE_KEYS
    }
    for table, line, rule, column in planted.iter_rows():
        text = sample[table].filter(pl.col("line") == line)
        assert text.height == 1, (table, line)
        value = text[column].item()
        typed = _typed(text, table).row(0, named=True)
        where = (table, line, rule)
        if rule == "missing_value":
            assert value is None, where
        elif rule == "unparseable_value":
            assert value is not None and typed[column] is None, where
        elif rule == "invalid_value":
            assert value not in _ALLOWED[column], where
        elif rule == "out_of_range":
            assert typed[column] < 0, where
        elif rule == "unknown_code":
            assert value not in (catalogue if column == "service_code" else hromadas), where
        elif rule == "future_date":
            assert typed[column] > EXTRACT, where
        elif rule == "end_before_start":
            start = "start_date" if table == "cases" else "valid_from"
            assert typed[column] < typed[start], where
        elif rule == "duplicate_key":
            assert (sample[table][column] == value).sum() == 2, where
        elif rule in ("orphan_key", "parent_quarantined"):
            parent = {"recipient_id": "recipients", "case_id": "cases", "provider_id": "providers"}[
                column
            ]
            exists = (sample[parent][column] == value).any()
            assert exists == (rule == "parent_quarantined"), where
            assert ((parent, value) in bad_keys) == (rule == "parent_quarantined"), where
        elif rule == "location_outside_case":
            case = _typed(sample["cases"].filter(pl.col("case_id") == typed["case_id"]), "cases")
            assert typed["valid_from"] < case["start_date"].item(), where
        elif rule == "overlapping_locations":
            mates = planted.filter(pl.col("rule") == rule, pl.col("source_line") != line)
            others = _typed(sample["case_locations"].filter(
                pl.col("line").is_in(mates["source_line"].implode()),
                pl.col("case_id") == typed["case_id"],
            ), "case_locations")  # fmt: skip
            assert (
                (others["valid_from"] <= typed["valid_to"])
                & (others["valid_to"] >= typed["valid_from"])
            ).any(), where
