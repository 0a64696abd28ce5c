"""Write the bundled sample extract `data_samples/registry/` and its list of planted bad rows.

Re-runnable and deterministic:

    .venv/bin/python tools/make_sample.py

The extract is a synthetic registry of 3,000 recipients written the way real ones arrive (CP1251,
`;`, decimal commas, `dd.mm.yyyy`), with the personal identifiers real extracts carry (the privacy
step must drop them), plus a handful of deliberately bad rows of every quarantine rule. Each bad row
has exactly one problem and touches nothing else, except the rows planted to show the cascade rule
`parent_quarantined` (a child of a quarantined row). `tests/golden/sample_planted.yaml` lists every
planted row with its 1-based line in its file (header = line 1), rule and column: the validator must
find exactly these. Bad rows stay well under 1% of each table, so the demo run exits 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from engine.synth import DEFAULT_EXTRACT_DATE, generate_registry
from engine.synth.pii import add_personal_identifiers
from engine.synth.write import format_csv_text, write_extract

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "data_samples" / "registry"
GOLDEN = REPO / "tests" / "golden" / "sample_planted.yaml"
SEED = 2026
N_RECIPIENTS = 3_000


@dataclass(frozen=True)
class Plant:
    table: str
    row: dict[str, str | None]
    rule: str | None  # None: a valid helper row (e.g. a case that hosts a bad location)
    column: str | None = None
    why: str = ""


def _row(df: pl.DataFrame, i: int, **changes: str | None) -> dict[str, str | None]:
    row = df.row(i, named=True)
    unknown = set(changes) - set(row)
    if unknown:
        raise KeyError(f"no such columns: {unknown}")
    return {**row, **changes}


# Bad rows: (key, rule, column, why, changes to a valid template row). Text as in the messy files.
_Changes = dict[str, str | None]
_BAD_RECIPIENTS: list[tuple[str, str, str, str, _Changes]] = [
    ("R90000001", "unparseable_value", "birth_date", "31 February", {"birth_date": "31.02.1950"}),
    ("R90000002", "unparseable_value", "income_ratio", "not a number", {"income_ratio": "2,5x"}),
    ("R90000003", "missing_value", "sex", "sex empty", {"sex": None}),
    ("R90000004", "invalid_value", "sex", "sex 'X'", {"sex": "X"}),
    ("R90000005", "invalid_value", "disability_group", "group 'IV'", {"disability_group": "IV"}),
    ("R90000006", "unknown_code", "registered_hromada", "not in KATOTTG",
     {"registered_hromada": "UA99999999999999999"}),
    ("R90000007", "out_of_range", "income_ratio", "negative income", {"income_ratio": "-1,5"}),
    ("R90000008", "duplicate_key", "recipient_id", "same id twice (1/2)", {}),
    ("R90000008", "duplicate_key", "recipient_id", "same id twice (2/2)", {"sex": "M"}),
    ("R90000009", "future_date", "birth_date", "born after the extract date",
     {"birth_date": "15.03.2027"}),
]  # fmt: skip
_BAD_CASES: list[tuple[str, str, str, str, _Changes]] = [
    ("C900000001", "unparseable_value", "start_date", "30 February", {"start_date": "30.02.2024"}),
    ("C900000002", "unparseable_value", "assessed_units", "words, not a number",
     {"assessed_units": "сорок"}),
    ("C900000003", "missing_value", "start_date", "start date empty", {"start_date": None}),
    ("C900000004", "invalid_value", "need_level", "need level 4", {"need_level": "4"}),
    ("C900000005", "invalid_value", "status", "status 'suspended'", {"status": "suspended"}),
    ("C900000006", "out_of_range", "assessed_units", "negative volume", {"assessed_units": "-10"}),
    ("C900000007", "unknown_code", "service_code", "not in the catalogue",
     {"service_code": "999.9"}),
    ("C900000008", "orphan_key", "recipient_id", "no such recipient",
     {"recipient_id": "R99999999"}),
    ("C900000009", "parent_quarantined", "recipient_id", "its recipient R90000004 is bad",
     {"recipient_id": "R90000004"}),
    ("C900000010", "end_before_start", "end_date", "ends before it starts",
     {"end_date": "01.03.2024"}),
    ("C900000011", "future_date", "start_date", "starts after the extract date",
     {"start_date": "15.01.2027", "end_date": None, "status": "waiting"}),
    ("C900000012", "duplicate_key", "case_id", "same id twice (1/2)", {}),
    ("C900000012", "duplicate_key", "case_id", "same id twice (2/2)", {"need_level": "3"}),
]  # fmt: skip
_BAD_PROVIDERS: list[tuple[str, str, str, str, _Changes]] = [
    ("P900001", "invalid_value", "ownership", "ownership 'приватна'", {"ownership": "приватна"}),
    ("P900002", "unknown_code", "hromada_code", "not in KATOTTG",
     {"hromada_code": "UA99999999999999999"}),
    ("P900003", "missing_value", "name", "name empty", {"name": None}),
    ("P900004", "duplicate_key", "provider_id", "same id twice (1/2)", {}),
    ("P900004", "duplicate_key", "provider_id", "same id twice (2/2)", {"ownership": "state"}),
]  # fmt: skip
# Bad locations: (rule, column, why, changes, host). Each gets its own valid host case (changes to
# the host template), so one bad row cannot collide with another; host None = the row names its
# case itself, "previous" = share the previous row's host (the overlapping pair).
_BAD_LOCATIONS: list[tuple[str, str, str, _Changes, _Changes | str | None]] = [
    ("unparseable_value", "valid_from", "32 January", {"valid_from": "32.01.2024"}, {}),
    ("missing_value", "hromada_code", "hromada empty", {"hromada_code": None}, {}),
    ("unknown_code", "hromada_code", "not in KATOTTG",
     {"hromada_code": "UA12345678901234567"}, {}),
    ("orphan_key", "case_id", "no such case", {"case_id": "C999999999"}, None),
    ("orphan_key", "provider_id", "no such provider", {"provider_id": "P999999"}, {}),
    ("parent_quarantined", "case_id", "its case C900000004 is bad",
     {"case_id": "C900000004"}, None),
    ("parent_quarantined", "provider_id", "its provider P900001 is bad",
     {"provider_id": "P900001"}, {}),
    ("end_before_start", "valid_to", "ends before it starts",
     {"valid_from": "15.04.2024", "valid_to": "12.03.2024"}, {}),
    ("location_outside_case", "valid_from", "starts before its case (10.03.2024)",
     {"valid_from": "01.03.2024"}, {}),
    ("future_date", "valid_from", "starts after the extract date (case open)",
     {"valid_from": "05.11.2026", "valid_to": None},
     {"start_date": "01.09.2026", "end_date": None, "status": "served"}),
    ("overlapping_locations", "valid_from", "overlaps the next row (25-31.03.2024)",
     {"valid_to": "31.03.2024"}, {}),
    ("overlapping_locations", "valid_from", "overlaps the previous row",
     {"valid_from": "25.03.2024"}, "previous"),
]  # fmt: skip
_BAD_STATUSES: list[tuple[str, str, str, _Changes]] = [
    ("unparseable_value", "valid_from", "30 February", {"valid_from": "30.02.2022"}),
    ("invalid_value", "status", "status 'contested'", {"status": "contested"}),
    ("unknown_code", "hromada_code", "not in KATOTTG", {"hromada_code": "UA99999999999999999"}),
    ("end_before_start", "valid_to", "ends before it starts", {"valid_to": "01.05.2023"}),
    ("future_date", "valid_from", "starts after the extract date", {"valid_from": "01.01.2027"}),
]  # fmt: skip


def _location_plants(text: dict[str, pl.DataFrame], case: _Changes) -> list[Plant]:
    cases, locs = text["cases"], text["case_locations"]
    # a served location whose hromada has a provider: a realistic place for planted locations
    place = locs.filter(pl.col("provider_id").is_not_null()).row(0, named=True)
    loc = {"hromada_code": place["hromada_code"], "provider_id": place["provider_id"],
           "valid_from": "10.03.2024", "valid_to": "20.04.2024"}  # fmt: skip
    host = {**case, "service_code": "015.1"}
    out: list[Plant] = []
    host_id = ""
    for k, (rule, column, why, changes, host_changes) in enumerate(_BAD_LOCATIONS):
        if isinstance(host_changes, dict):
            host_id = f"C91000{k + 1:04d}"
            row = _row(cases, 0, case_id=host_id, **{**host, **host_changes})
            out.append(Plant("cases", row, None))
        case_id = host_id if host_changes is not None else changes["case_id"]
        row = _row(locs, 0, **{**loc, "case_id": case_id, **changes})
        out.append(Plant("case_locations", row, rule, column, why))
    return out


def _plants(text: dict[str, pl.DataFrame]) -> list[Plant]:
    """Every planted row, bad ones and the valid host cases of bad locations."""
    case = {"recipient_id": text["recipients"]["recipient_id"][0], "service_code": "002.0",
            "need_level": "2", "assessed_units": None, "start_date": "10.03.2024",
            "end_date": "20.04.2024", "status": "closed"}  # fmt: skip
    plants = [
        Plant(
            "recipients", _row(text["recipients"], 5, recipient_id=key, **changes), rule, col, why
        )
        for key, rule, col, why, changes in _BAD_RECIPIENTS
    ]
    plants += [
        Plant(
            "cases", _row(text["cases"], 0, **{**case, "case_id": key, **changes}), rule, col, why
        )
        for key, rule, col, why, changes in _BAD_CASES
    ]
    plants += [
        Plant("providers", _row(text["providers"], 0, provider_id=key,
                                edrpou=f"{99_000_000 + k:08d}", **changes), rule, col, why)
        for k, (key, rule, col, why, changes) in enumerate(_BAD_PROVIDERS)
    ]  # fmt: skip
    plants += _location_plants(text, case)
    # a hromada with no other status row, so a planted status cannot interact with a real one
    ts = text["territory_status"]
    free = text["providers"].filter(~pl.col("hromada_code").is_in(ts["hromada_code"].implode()))
    status = {"hromada_code": free["hromada_code"][0], "status": "frontline",
              "valid_from": "01.06.2023", "valid_to": None}  # fmt: skip
    plants += [
        Plant("territory_status", _row(ts, 0, **{**status, **changes}), rule, col, why)
        for rule, col, why, changes in _BAD_STATUSES
    ]
    return plants


def _insert(df: pl.DataFrame, rows: list[dict[str, str | None]]) -> tuple[pl.DataFrame, list[int]]:
    """Spread `rows` through `df` at even positions; returns the frame and their 0-based indices."""
    k = len(rows)
    keys = [(j + 1) * df.height / (k + 1) - 0.5 for j in range(k)]
    planted = pl.DataFrame(rows, schema=df.schema).with_columns(
        _key=pl.Series(keys), _plant=pl.int_range(k)
    )
    base = df.with_columns(
        _key=pl.int_range(df.height).cast(pl.Float64), _plant=pl.lit(None, pl.Int64)
    )
    both = pl.concat([base, planted]).sort("_key", maintain_order=True)
    where = both.with_row_index("_i").filter(pl.col("_plant").is_not_null()).sort("_plant")
    return both.drop("_key", "_plant"), where["_i"].cast(pl.Int64).to_list()


def _golden(entries: list[tuple[str, int, str, str, str]]) -> str:
    lines = [
        "# Planted bad rows of the sample extract data_samples/registry/ (CP1251 ';' CSV).",
        "# Written by tools/make_sample.py; re-run it rather than editing by hand.",
        "# source_line is 1-based with the header as line 1. Each row has exactly one problem.",
        "# Every row sharing a duplicated key is quarantined (order-independent), both overlapping",
        "# locations of a case are quarantined, and a row whose parent was quarantined is",
        "# parent_quarantined. Valid cases whose only locations were quarantined (or planted",
        "# without locations) may give location_gap warnings: warnings are not listed here.",
    ]
    for table, line, rule, column, why in entries:
        lines.append(
            f"- {{table: {table}, source_line: {line}, rule: {rule}, column: {column}}}  # {why}"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    tables = generate_registry(N_RECIPIENTS, SEED, extract_date=DEFAULT_EXTRACT_DATE)
    tables["recipients"] = add_personal_identifiers(
        tables["recipients"], SEED, as_of=DEFAULT_EXTRACT_DATE
    )
    text = {name: format_csv_text(df, messy=True) for name, df in tables.items()}
    plants = _plants(text)
    entries: list[tuple[str, int, str, str, str]] = []
    for name in list(text):
        mine = [x for x in plants if x.table == name]
        if not mine:
            continue
        text[name], positions = _insert(text[name], [x.row for x in mine])
        for plant, pos in zip(mine, positions, strict=True):
            if plant.rule is not None:
                entries.append((name, pos + 2, plant.rule, plant.column or "", plant.why))
    entries.sort(key=lambda e: (list(text).index(e[0]), e[1]))
    OUT.mkdir(parents=True, exist_ok=True)
    write_extract(text, OUT, "csv", messy=True, extract_date=DEFAULT_EXTRACT_DATE)
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(_golden(entries), encoding="utf-8")
    sizes = ", ".join(f"{n} {df.height}" for n, df in text.items())
    print(f"wrote {OUT} ({sizes}) and {GOLDEN} ({len(entries)} planted rows)")


if __name__ == "__main__":
    main()
