"""Who wins, who loses: a scenario's change by group of recipients, and who pays for it.

Policy tools show a reform's effect on groups of people, not only on territories. Each case of
`ScenarioDiff.cases` gets its groups (`case_groups`): income band (income ÷ subsistence minimum),
disability group, IDP status, age group, urban or rural hromada and the ownership of the provider
serving it, each as of the case's last month in the period. `winners_losers` then counts, per
group, the cases that gain, lose or stay, and sums the money: what the state pays more
(`diff_state_uah`), what recipients pay less (`-diff_copay_uah`), what providers receive more
(`diff_gross_uah`).

The budget side: a scenario that adds money is paid by someone. With `budget_neutral=True` the
state's total is held at the baseline's, and every case's scenario amount is scaled by the same
factor (baseline total ÷ scenario total): the extra money of some is then taken pro rata from all,
and the cases the reform does not touch become losers. The `budget` row of `winners_losers` says
what the state budget gains or loses either way.

>>> import polars as pl
>>> cases = pl.DataFrame({
...     "case_id": ["a", "b", "c"], "disability_group": ["I", "none", "none"],
...     "baseline_state_uah": [100.0, 100.0, 100.0], "scenario_state_uah": [160.0, 100.0, 100.0],
...     "baseline_copay_uah": [0.0, 0.0, 0.0], "scenario_copay_uah": [0.0, 0.0, 0.0],
...     "baseline_gross_uah": [100.0, 100.0, 100.0], "scenario_gross_uah": [160.0, 100.0, 100.0],
... })
>>> winners_losers(cases, groups=("disability_group",)).select("group", "winners", "losers")
shape: (3, 3)
┌────────┬─────────┬────────┐
│ group  ┆ winners ┆ losers │
│ ---    ┆ ---     ┆ ---    │
│ str    ┆ i64     ┆ i64    │
╞════════╪═════════╪════════╡
│ none   ┆ 0       ┆ 0      │
│ I      ┆ 1       ┆ 0      │
│ budget ┆ 0       ┆ 1      │
└────────┴─────────┴────────┘
>>> neutral = winners_losers(cases, groups=("disability_group",), budget_neutral=True)
>>> neutral.select("group", "winners", "losers").rows()  # 360 UAH held at 300: ×5/6
[('none', 0, 2), ('I', 1, 0), ('budget', 0, 0)]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from engine.schemas import Registry

__all__ = ["AGE_GROUPS", "GROUPS", "INCOME_BANDS", "case_groups", "winners_losers"]

GROUPS = ("income_band", "disability_group", "is_idp", "age_group", "settlement", "ownership")
# (lower bound, label): income ratio = average monthly income ÷ subsistence minimum
INCOME_BANDS = ((0.0, "<1"), (1.0, "1–2"), (2.0, "2–3"), (3.0, "3–4"), (4.0, "≥4"))
AGE_GROUPS = ((0, "0–17"), (18, "18–39"), (40, "40–59"), (60, "60–79"), (80, "80+"))
_KOPIYKA = 0.01
# groups in their natural order (bands low to high), "unknown" last
_ORDER = {
    label: i
    for i, label in enumerate(
        [
            *(label for _, label in INCOME_BANDS),
            *(label for _, label in AGE_GROUPS),
            *("none", "I", "II", "III", "child"),
            *("IDP", "not IDP", "urban", "rural"),
            *("state", "communal", "nonstate", "individual"),
        ]
    )
} | {"unknown": 99}


def _banded(value: pl.Expr, bands: Sequence[tuple[float, str]], missing: str) -> pl.Expr:
    out = pl.lit(missing)
    for low, label in bands:  # the highest lower bound that the value reaches wins
        out = pl.when(value >= low).then(pl.lit(label)).otherwise(out)
    return pl.when(value.is_null()).then(pl.lit(missing)).otherwise(out)


def case_groups(
    cases: pl.DataFrame,
    registry: Registry | None = None,
    *,
    on: dt.date | None = None,
) -> pl.DataFrame:
    """`cases` with its groups added (`GROUPS`), from the columns it carries and the registry.

    `cases` has `case_id` and, where known, `recipient_id`, `hromada_code`, `age`, `is_idp`,
    `disability_group`, `ownership` (as `scenario_diff` keeps them from the case-months). The
    registry gives the income ratio (`recipients.income_ratio`) and the rural status of the
    serving hromada in force `on` that day (default: the extract date). A group that cannot be
    told reads "unknown".
    """
    out = cases
    if registry is not None and "recipient_id" in out.columns:
        income = registry.recipients.select(
            pl.col("recipient_id").cast(out.schema["recipient_id"]), "income_ratio"
        ).unique("recipient_id")
        out = out.join(income, on="recipient_id", how="left")
    if registry is not None and "hromada_code" in out.columns:
        day = on or registry.extract_date
        status = registry.territory_status
        rural = status.filter(
            (pl.col("status") == "rural")
            & (pl.col("valid_from") <= day)
            & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= day))
        ).select(pl.col("hromada_code").unique(), _rural=pl.lit(True))
        out = out.join(
            rural,
            left_on=pl.col("hromada_code").cast(pl.String),
            right_on="hromada_code",
            how="left",
        ).with_columns(
            settlement=pl.when(pl.col("_rural")).then(pl.lit("rural")).otherwise(pl.lit("urban"))
        )
        out = out.drop("_rural", *(c for c in out.columns if c.endswith("_right")))
    columns = set(out.columns)
    add = []
    if "income_ratio" in columns:
        add.append(_banded(pl.col("income_ratio"), INCOME_BANDS, "unknown").alias("income_band"))
    if "age" in columns:
        add.append(_banded(pl.col("age"), AGE_GROUPS, "unknown").alias("age_group"))
    for column in ("disability_group", "ownership"):
        if column in columns:
            add.append(pl.col(column).cast(pl.String).fill_null("unknown"))
    if "is_idp" in columns:
        add.append(
            pl.when(pl.col("is_idp"))
            .then(pl.lit("IDP"))
            .when(pl.col("is_idp").not_())
            .then(pl.lit("not IDP"))
            .otherwise(pl.lit("unknown"))
            .alias("is_idp")
        )
    return out.with_columns(add)


def _amount(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Float64).fill_null(0.0)


def winners_losers(
    cases: pl.DataFrame,
    *,
    groups: Sequence[str] = GROUPS,
    budget_neutral: bool = False,
) -> pl.DataFrame:
    """Per group of each of `groups` (the ones `cases` has): cases that win, lose or stay, and the
    money moved, then one `budget` row for the state budget.

    Columns: `dimension, group, cases, winners, losers, unchanged, diff_state_uah,
    recipients_gain_uah, providers_gain_uah`. A case wins when the state's money for it rises by at
    least a kopiyka and loses when it falls (as `scenario_diff` says); recipients gain what their
    co-payment falls, providers what the gross amount rises. With `budget_neutral`, the scenario's
    state amounts are first scaled so their total is the baseline's (see the module docstring).
    The `budget` row counts the budget as one party: a loser when the state pays more in all.
    """
    state = _amount("scenario_state_uah")
    if budget_neutral:
        base_total = float(cases["baseline_state_uah"].cast(pl.Float64).sum() or 0.0)
        scen_total = float(cases["scenario_state_uah"].cast(pl.Float64).sum() or 0.0)
        factor = base_total / scen_total if scen_total > 0 else 1.0
        state = state * factor
    diff = state - _amount("baseline_state_uah")
    rows = cases.with_columns(
        _diff=diff,
        _recipients=_amount("baseline_copay_uah") - _amount("scenario_copay_uah"),
        _providers=_amount("scenario_gross_uah") - _amount("baseline_gross_uah"),
    )
    measures = [
        pl.len().alias("cases"),
        (pl.col("_diff") >= _KOPIYKA).sum().cast(pl.Int64).alias("winners"),
        (pl.col("_diff") <= -_KOPIYKA).sum().cast(pl.Int64).alias("losers"),
        pl.col("_diff").abs().lt(_KOPIYKA).sum().cast(pl.Int64).alias("unchanged"),
        pl.col("_diff").sum().round(2).alias("diff_state_uah"),
        pl.col("_recipients").sum().round(2).alias("recipients_gain_uah"),
        pl.col("_providers").sum().round(2).alias("providers_gain_uah"),
    ]
    frames = [
        rows.group_by(pl.col(g).cast(pl.String).alias("group"))
        .agg(measures)
        .with_columns(_order=pl.col("group").replace_strict(_ORDER, default=50))
        .sort("_order", "group")
        .drop("_order")
        .select(pl.lit(g).alias("dimension"), pl.all())
        for g in groups
        if g in rows.columns
    ]
    total = float(rows["_diff"].sum() or 0.0)
    budget = pl.DataFrame(
        {
            "dimension": ["budget"],
            "group": ["budget"],
            "cases": [0],
            "winners": [int(total <= -_KOPIYKA)],
            "losers": [int(total >= _KOPIYKA)],
            "unchanged": [int(abs(total) < _KOPIYKA)],
            "diff_state_uah": [round(-total, 2)],  # the budget's own side: what it gains
            "recipients_gain_uah": [0.0],
            "providers_gain_uah": [0.0],
        },
        schema_overrides={c: pl.Int64 for c in ("cases", "winners", "losers", "unchanged")},
    )
    return pl.concat([*frames, budget], how="vertical_relaxed")
