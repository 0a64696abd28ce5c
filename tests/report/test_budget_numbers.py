"""The plan's numbers read off the page: claims after caps − allocated = shortfall."""

from __future__ import annotations

import polars as pl

from engine.report._figures_budget import budget_numbers, plan_figure


def _groups(capped: list[float]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "envelope_group": ["01", "05"],
            "envelope_uah": [1_000.0, 500.0],
            "claim_uah": [1_400.0, 450.0],
            "capped_claim_uah": capped,
            "allocated_uah": [1_000.0, 450.0],
            "unspent_uah": [0.0, 50.0],
        }
    )


def test_caps_that_cut_claims_are_shown_between_claims_and_allocated() -> None:
    numbers = budget_numbers(_groups([1_200.0, 450.0]), None)
    assert numbers is not None
    assert numbers["claim_uah"] == 1_850.0
    assert numbers["capped_claim_uah"] == 1_650.0
    assert numbers["shortfall_uah"] == numbers["capped_claim_uah"] - numbers["allocated_uah"]
    titles = [t.title.text for t in plan_figure(numbers, lang="en").data]
    assert titles == [
        "Envelope, UAH",
        "Claims, UAH",
        "Claims after caps, UAH",
        "Allocated, UAH",
        "Shortfall, UAH",
        "Unspent, UAH",
    ]
    assert numbers["unspent_groups"] == ["05"]


def test_caps_that_cut_nothing_add_no_tile() -> None:
    numbers = budget_numbers(_groups([1_400.0, 450.0]), None)
    assert numbers is not None and numbers["capped_claim_uah"] is None
    assert numbers["shortfall_uah"] == numbers["claim_uah"] - numbers["allocated_uah"]
    titles = [t.title.text for t in plan_figure(numbers, lang="en").data]
    assert "Claims, UAH" in titles and "Claims after caps, UAH" not in titles
