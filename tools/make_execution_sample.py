"""Write the bundled budget-execution sample `data_samples/execution/` and its planted gaps.

Re-runnable and deterministic:

    .venv/bin/python tools/make_execution_sample.py

The report is what a treasury would show as paid for the bundled registry sample over 2026-01 to
2026-09, per hromada × programme code × quarter (`engine.synth.execution`), written the way such
exports come (CP1251, `;`, decimal commas, thousands of UAH, Ukrainian headers), with three
planted gaps (a hromada paying for more people than the registry holds, a service paid at its old
tariff, a quarter paid late) and four bad rows, one per quarantine rule shown. Both are listed in
`execution_planted.yaml` beside it.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

import engine
from engine.synth.execution import synthetic_execution, write_execution

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "data_samples" / "execution"
MONTHS = ("2026-01", "2026-09")
# (period, territory, programme, name, amount, recipients, case-months) as the file writes them
_BAD = [
    (("I квартал 2026", "UA05020010000053508", "0819999.01", "Невідома програма", "12,50000",
      "3", "3"), "unknown_code", "programme_code"),
    (("I квартал 2026", "UA99000000000000000", "0813104.03", "Догляд вдома", "4,20000", "2",
      "6"), "unknown_code", "territory_code"),
    (("I квартал 2027", "UA05020010000053508", "0813104.03", "Догляд вдома", "8,10000", "3",
      "9"), "outside_run", "period"),
    (("III квартал 2026", "UA05020010000053508", "0813121.05", "Представництво інтересів", "12,5 тис", "4",
      "12"), "unparseable_value", "paid"),
]  # fmt: skip


def main() -> None:
    registry = engine.read_registry(REPO / "data_samples" / "registry")
    model = engine.load_funding_model(REPO / "models" / "funding" / "baseline")
    ent = engine.compute_entitlements(registry, model, engine.load_territories(), months=MONTHS)
    report, record = synthetic_execution(ent.case_months, model.table("tariff"))
    record = {"extract": "data_samples/registry", "months": f"{MONTHS[0]}..{MONTHS[1]}", **record}
    columns = ["period", "territory_code", "programme_code", "name", "paid", "recipients"]
    extra = [dict(zip([*columns, "case_months"], values, strict=True)) for values, _, _ in _BAD]
    record["bad_rows"] = [
        {"line": report.height + 2 + i, "rule": rule, "column": column}
        for i, (_, rule, column) in enumerate(_BAD)
    ]
    for path in write_execution(report, record, OUT, extra_rows=extra):
        print(f"wrote {path.relative_to(REPO)}")
    print(pl.read_csv(OUT / "execution.csv", separator=";", encoding="cp1251").height, "rows")


if __name__ == "__main__":
    main()
