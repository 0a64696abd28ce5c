"""Write the bundled benefits sample `data_samples/benefits/` and its list of planted bad rows.

Re-runnable and deterministic (after `tools/make_sample.py`):

    .venv/bin/python tools/make_benefits_sample.py

The persons are the registry sample's (`data_samples/registry/`), matched on the `rnokpp` its
recipients file carries: about two thirds of them have records in the benefits system (the others
keep the registry's values). Written the way real exports arrive (CP1251, `;`, decimal commas,
`dd.mm.yyyy`), with personal columns the reader must drop (full name, phone), some declarations
giving income and subsistence minimum instead of the ratio, and one planted bad row of each rule,
listed in `tests/benefits/sample_planted.yaml` with its line, rule and column.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import yaml

from engine.registry import read_registry
from engine.registry._read import read_table_file
from engine.synth.benefits import generate_benefits
from engine.synth.write import format_csv_text

REPO = Path(__file__).resolve().parents[1]
REGISTRY = REPO / "data_samples" / "registry"
OUT = REPO / "data_samples" / "benefits"
GOLDEN = REPO / "tests" / "benefits" / "sample_planted.yaml"
SEED = 2026
SINCE = dt.date(2024, 7, 1)  # a small sample: the declarations of the last two years
SUBSISTENCE_MINIMUM = 2920.0  # UAH, 2024 (persons who lost working capacity: 2,361; planning)

# (table, row as text, rule, column): one bad row per rule, appended to the table
PLANTS: list[tuple[str, dict[str, str | None], str, str]] = [
    ("income_declarations", {"rnokpp": "12345", "period_from": "01.03.2024",
     "period_to": "28.02.2025", "income_ratio": "1,5"}, "invalid_value", "rnokpp"),
    ("income_declarations", {"rnokpp": "2999999999", "period_from": "01.03.2024",
     "period_to": "28.02.2025", "income_ratio": "1,5"}, "unmatched_person", "person_key"),
    ("income_declarations", {"rnokpp": None, "period_from": "01.03.2025",
     "period_to": "28.02.2025", "income_ratio": "2,5"}, "end_before_start", "period_to"),
    ("income_declarations", {"rnokpp": None, "period_from": "01.03.2024",
     "period_to": "28.02.2025", "average_income_uah": "5840,00",
     "subsistence_minimum_uah": "2920,00", "income_ratio": "3,5"},
     "contradictory_values", "income_ratio"),
    ("income_declarations", {"rnokpp": None, "period_from": "01.03.2024",
     "period_to": "28.02.2025"}, "missing_value", "income_ratio"),
    ("income_declarations", {"rnokpp": None, "period_from": "31.02.2024",
     "period_to": "28.02.2025", "income_ratio": "1,0"}, "unparseable_value", "period_from"),
    ("income_declarations", {"rnokpp": None, "period_from": "01.12.2026",
     "period_to": "30.11.2027", "income_ratio": "1,0"}, "future_date", "period_from"),
    ("disability_assessments", {"rnokpp": None, "disability_group": "IV",
     "valid_from": "01.02.2020", "valid_to": None}, "invalid_value", "disability_group"),
    ("idp_certificates", {"rnokpp": None, "issued": "15.04.2022", "cancelled": None,
     "hromada_code": "UA99999999999999999", "origin_hromada": None},
     "unknown_code", "hromada_code"),
    ("assistance_paid", {"rnokpp": None, "programme": "idp_living_allowance",
     "month": "01.09.2026", "amount_uah": "-2000,00"}, "out_of_range", "amount_uah"),
]  # fmt: skip


def _persons() -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    registry = read_registry(REGISTRY)
    raw = read_table_file("recipients", REGISTRY / "recipients.csv").frame
    keys = raw.select("recipient_id", "rnokpp").filter(pl.col("rnokpp").is_not_null())
    recipients = registry.recipients.drop("source_line").join(keys, on="recipient_id")
    chosen = recipients.filter(pl.col("recipient_id").hash(SEED) % 3 != 0)  # two thirds
    tables = {
        "recipients": chosen,
        "cases": registry.cases.drop("source_line"),
        "case_locations": registry.case_locations.drop("source_line"),
    }
    return recipients, generate_benefits(tables, SEED, extract_date=registry.extract_date)[1]


def main() -> None:
    recipients, benefits = _persons()
    declarations = benefits["income_declarations"].filter(pl.col("period_to") >= SINCE)
    # one declaration in five gives income and subsistence minimum instead of the ratio
    by_income = pl.col("period_from").dt.day() % 5 == 0
    declarations = declarations.with_columns(
        average_income_uah=pl.when(by_income).then(
            (pl.col("income_ratio") * SUBSISTENCE_MINIMUM).round(2)
        ),
        subsistence_minimum_uah=pl.when(by_income).then(pl.lit(SUBSISTENCE_MINIMUM)),
        income_ratio=pl.when(~by_income).then(pl.col("income_ratio")),
    )
    # personal columns an export carries: the reader must drop them
    declarations = declarations.with_columns(
        full_name=pl.when(by_income).then(pl.lit("Клименко Сергій Вікторович")),
        phone=pl.when(by_income).then(pl.lit("+380957454617")),
    )
    benefits = {**benefits, "income_declarations": declarations}
    benefits["assistance_paid"] = benefits["assistance_paid"].filter(
        pl.col("month") >= dt.date(2026, 8, 1)
    )
    some = recipients["rnokpp"][0]
    OUT.mkdir(parents=True, exist_ok=True)
    planted = []
    for table, frame in benefits.items():
        text = format_csv_text(frame, messy=True)
        for plant_table, row, rule, column in PLANTS:
            if plant_table != table:
                continue
            line = text.height + 2
            filled = {c: row.get(c) for c in text.columns}
            filled["rnokpp"] = row["rnokpp"] if row["rnokpp"] is not None else some
            text = pl.concat([text, pl.DataFrame([filled], schema=text.schema)])
            planted.append({"table": table, "line": line, "rule": rule, "column": column})
        data = text.write_csv(separator=";", line_terminator="\r\n", null_value="")
        (OUT / f"{table}.csv").write_bytes(data.encode("cp1251"))
    (OUT / "extract.yaml").write_text(
        "# Benefits extract (ІАССЗН): the date it was taken.\nextract_date: 2026-10-31\n",
        encoding="utf-8",
    )
    header = (
        "# Planted bad rows of data_samples/benefits (tools/make_benefits_sample.py): table, the\n"
        "# 1-based line in its file (header = line 1), the rule and column that must catch it.\n"
    )
    GOLDEN.write_text(header + yaml.safe_dump(planted, sort_keys=False), encoding="utf-8")


if __name__ == "__main__":
    main()
