"""Who wins, who loses by group, with the state budget as a party: hand-checked, then on the sample.

The hand-checked scenario (four cases, amounts over the period, UAH):

| case | income | disability | IDP | age | hromada | provider | baseline | scenario | why |
|------|--------|------------|-----|-----|---------|----------|----------|----------|-----|
| c1   | 2.5    | I          | yes | 70  | rural   | communal | 700      | 1000     | co-payment 300 → 0 |
| c2   | 3.5    | none       | no  | 30  | urban   | nonstate | 700      | 700      | untouched |
| c3   | 1.0    | II         | no  | 85  | urban   | state    | 1000     | 1000     | untouched |
| c4   | 0.5    | none       | no  | 10  | rural   | state    | 500      | 400      | tariff cut: gross 500 → 400 |

The state pays 3100 − 2900 = +200: one winner (c1), one loser (c4), and the budget loses 200.
Budget-neutral: every scenario amount × 2900/3100 (0.935484): c1 935.48 (+235.48, wins), c2 654.84
(−45.16), c3 935.48 (−64.52), c4 374.19 (−125.81) all lose, and the total change is 0.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from engine.scenario_groups import case_groups, winners_losers
from engine.schemas import Registry

RURAL_H, URBAN_H = "UA00000000000000001", "UA00000000000000002"


def _cases() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "case_id": ["c1", "c2", "c3", "c4"],
            "recipient_id": ["r1", "r2", "r3", "r4"],
            "hromada_code": [RURAL_H, URBAN_H, URBAN_H, RURAL_H],
            "age": [70, 30, 85, 10],
            "is_idp": [True, False, False, False],
            "disability_group": ["I", "none", "II", "none"],
            "ownership": ["communal", "nonstate", "state", "state"],
            "baseline_gross_uah": [1000.0, 700.0, 1000.0, 500.0],
            "baseline_copay_uah": [300.0, 0.0, 0.0, 0.0],
            "baseline_state_uah": [700.0, 700.0, 1000.0, 500.0],
            "scenario_gross_uah": [1000.0, 700.0, 1000.0, 400.0],
            "scenario_copay_uah": [0.0, 0.0, 0.0, 0.0],
            "scenario_state_uah": [1000.0, 700.0, 1000.0, 400.0],
        }
    )


def _registry() -> Registry:
    empty = pl.DataFrame()
    return Registry(
        recipients=pl.DataFrame(
            {"recipient_id": ["r1", "r2", "r3", "r4"], "income_ratio": [2.5, 3.5, 1.0, 0.5]}
        ),
        cases=empty,
        case_locations=empty,
        providers=empty,
        services=empty,
        territory_status=pl.DataFrame(
            {
                "hromada_code": [RURAL_H, URBAN_H],
                "status": ["rural", "rural"],
                "valid_from": [dt.date(2020, 1, 1), dt.date(2020, 1, 1)],
                "valid_to": [None, dt.date(2023, 12, 31)],  # no longer rural in 2026
            }
        ),
        extract_date=dt.date(2026, 10, 31),
    )


def _row(table: pl.DataFrame, dimension: str, group: str) -> dict:
    rows = table.filter((pl.col("dimension") == dimension) & (pl.col("group") == group))
    assert rows.height == 1, (dimension, group)
    return rows.row(0, named=True)


def test_groups_of_each_case() -> None:
    cases = case_groups(_cases(), _registry())
    assert cases["income_band"].to_list() == ["2–3", "3–4", "1–2", "<1"]
    assert cases["age_group"].to_list() == ["60–79", "18–39", "80+", "0–17"]
    assert cases["settlement"].to_list() == ["rural", "urban", "urban", "rural"]
    assert cases["is_idp"].to_list() == ["IDP", "not IDP", "not IDP", "not IDP"]


def test_hand_checked_winners_and_losers_when_the_budget_pays() -> None:
    table = winners_losers(case_groups(_cases(), _registry()))
    band = _row(table, "income_band", "2–3")
    assert (band["cases"], band["winners"], band["losers"]) == (1, 1, 0)
    assert band["diff_state_uah"] == 300.0 and band["recipients_gain_uah"] == 300.0
    young = _row(table, "age_group", "0–17")  # c4: the tariff cut
    assert (young["winners"], young["losers"], young["providers_gain_uah"]) == (0, 1, -100.0)
    rural = _row(table, "settlement", "rural")  # c1 wins, c4 loses
    assert (rural["cases"], rural["winners"], rural["losers"]) == (2, 1, 1)
    assert rural["diff_state_uah"] == 200.0
    state = _row(table, "ownership", "state")  # c3 unchanged, c4 loses
    assert (state["unchanged"], state["losers"], state["diff_state_uah"]) == (1, 1, -100.0)
    budget = _row(table, "budget", "budget")
    assert (budget["losers"], budget["diff_state_uah"]) == (1, -200.0)  # the budget pays 200
    # every dimension splits the same four cases and the same money
    per_dimension = (
        table.filter(pl.col("dimension") != "budget")
        .group_by("dimension")
        .agg(pl.col("cases", "winners", "losers").sum(), pl.col("diff_state_uah").sum())
    )
    assert per_dimension["cases"].to_list() == [4] * 6
    assert per_dimension["winners"].to_list() == [1] * 6
    assert per_dimension["losers"].to_list() == [1] * 6
    assert per_dimension["diff_state_uah"].to_list() == pytest.approx([200.0] * 6)


def test_hand_checked_winners_and_losers_on_the_same_budget() -> None:
    table = winners_losers(case_groups(_cases(), _registry()), budget_neutral=True)
    factor = 2900 / 3100
    band = _row(table, "income_band", "2–3")
    assert band["diff_state_uah"] == pytest.approx(round(1000 * factor - 700, 2))  # +235.48
    assert (band["winners"], band["losers"]) == (1, 0)
    urban = _row(table, "settlement", "urban")  # c2 and c3 pay for c1
    assert (urban["winners"], urban["losers"]) == (0, 2)
    assert urban["diff_state_uah"] == pytest.approx(-45.16 - 64.52, abs=0.01)
    everyone = table.filter(pl.col("dimension") == "disability_group")
    assert (int(everyone["winners"].sum()), int(everyone["losers"].sum())) == (1, 3)
    assert float(everyone["diff_state_uah"].sum()) == pytest.approx(0.0, abs=0.02)
    budget = _row(table, "budget", "budget")
    assert (budget["winners"], budget["losers"], budget["unchanged"]) == (0, 0, 1)


def test_on_the_sample_the_copay_reform_moves_only_the_2_to_3_band() -> None:
    """copay-threshold-3 makes the 2–3 income band free: only that band gains; on the same
    budget, everybody else pays for it."""
    import engine
    from engine.scenarios import scenario_diff

    registry = engine.read_registry("data_samples/registry")
    territories = engine.load_territories()
    months = ("2026-01", "2026-03")
    baseline = engine.load_funding_model("models/funding/baseline")
    reform = engine.load_funding_model(
        "models/funding/baseline", "models/scenarios/copay-threshold-3.yaml"
    )
    diff = scenario_diff(
        engine.compute_entitlements(registry, baseline, territories, months=months),
        engine.compute_entitlements(registry, reform, territories, months=months),
    )
    cases = case_groups(diff.cases, registry)
    table = winners_losers(cases)
    bands = table.filter(pl.col("dimension") == "income_band")
    winners = dict(zip(bands["group"], bands["winners"], strict=True))
    assert winners["2–3"] == diff.summary()["winners"] > 0
    assert sum(winners.values()) == winners["2–3"]
    assert int(bands["losers"].sum()) == 0
    total = float(diff.cases["diff_state_uah"].cast(pl.Float64).sum())
    assert float(bands["diff_state_uah"].sum()) == pytest.approx(total, abs=0.05)
    assert _row(table, "budget", "budget")["diff_state_uah"] == pytest.approx(-total, abs=0.01)
    neutral = winners_losers(cases, budget_neutral=True)
    paid_by = neutral.filter(pl.col("dimension") == "income_band")
    assert int(paid_by["losers"].sum()) > 0
    assert float(paid_by["diff_state_uah"].sum()) == pytest.approx(0.0, abs=1.0)
