"""Allocation: a budget envelope distributed over claims by an explicit policy (DESIGN.md §6).

Policies are data (`models/allocation/*.yaml`, read by `load_policy`); the default rule — caps,
floors, priority tiers with one pro-rata factor in the marginal tier, per-oblast envelopes run
independently — is vectorised over all rows and exact to the kopiyka. `mode="optimise"` maximises
priority-weighted coverage with HiGHS under the envelope, floors, caps and an equity bound.

    >>> from engine.allocation import allocate, claims_from_case_months, load_policy
    >>> result = allocate(claims_from_case_months(case_months), load_policy(path))  # doctest: +SKIP
    >>> result.by_territory, result.equity, result.unspent_uah  # doctest: +SKIP
"""

from __future__ import annotations

from engine.allocation._allocate import allocate
from engine.allocation._claims import claims_from_case_months, claims_from_forecast
from engine.allocation._equity import Equity, weighted_gini
from engine.allocation._policy import Policy, Tier, load_policy, policy_from_dict
from engine.allocation._result import Allocation

__all__ = [
    "Allocation",
    "Equity",
    "Policy",
    "Tier",
    "allocate",
    "claims_from_case_months",
    "claims_from_forecast",
    "load_policy",
    "policy_from_dict",
    "weighted_gini",
]
