"""Reconcilers as small objects, on hierarchicalforecast's conventions: `BottomUp()`,
`TopDown("average_proportions")`, `MinTrace("mint_shrink")`, ...

A reconciler only names a method; `HierarchicalFit.reconcile` applies any number of them to one fit
(the base models are fitted once). Its `name` is the column suffix of its forecasts, as in
hierarchicalforecast: `<model>/BottomUp`, `<model>/MinTrace_method-ols`,
`<model>/TopDown_method-average_proportions`.

    >>> [r.name for r in (BottomUp(), MinTrace("wls_var"), TopDown("proportion_averages"))]
    ['BottomUp', 'MinTrace_method-wls_var', 'TopDown_method-proportion_averages']
    >>> MinTrace("mint_shrink").method
    'mint_shrink'
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import ConfigError

__all__ = [
    "MINTRACE_METHODS",
    "TOPDOWN_METHODS",
    "BottomUp",
    "MinTrace",
    "Reconciler",
    "TopDown",
    "as_reconciler",
]

MINTRACE_METHODS = ("ols", "wls_struct", "wls_var", "mint_shrink")
TOPDOWN_METHODS = ("average_proportions", "proportion_averages")


@dataclass(frozen=True)
class BottomUp:
    """The bottom-level base forecasts, summed up the structure."""

    @property
    def name(self) -> str:
        return "BottomUp"

    @property
    def method(self) -> str:
        return "bottom_up"


@dataclass(frozen=True)
class MinTrace:
    """MinT (Wickramasuriya, Athanasopoulos & Hyndman 2019): `ols`, `wls_struct`, `wls_var` or
    `mint_shrink` (see `engine.forecasting._reconcile` for W and the fallbacks)."""

    method: str = "mint_shrink"

    def __post_init__(self) -> None:
        if self.method not in MINTRACE_METHODS:
            known = ", ".join(MINTRACE_METHODS)
            raise ConfigError(f"unknown MinTrace method {self.method!r}; known: {known}")

    @property
    def name(self) -> str:
        return f"MinTrace_method-{self.method}"


@dataclass(frozen=True)
class TopDown:
    """The total's base forecast shared over the bottom series by historical proportions
    (Gross & Sohl 1990), as hierarchicalforecast defines them over the in-sample periods:

    - `average_proportions`: p_j = mean_t (y_jt / y_total,t) over periods with a positive total;
    - `proportion_averages`: p_j = mean_t y_jt / mean_t y_total,t.

    Needs a node that sums every bottom series (the total)."""

    method: str = "average_proportions"

    def __post_init__(self) -> None:
        if self.method not in TOPDOWN_METHODS:
            known = ", ".join(TOPDOWN_METHODS)
            raise ConfigError(f"unknown TopDown method {self.method!r}; known: {known}")

    @property
    def name(self) -> str:
        return f"TopDown_method-{self.method}"


Reconciler = BottomUp | MinTrace | TopDown


def as_reconciler(value: Reconciler | str) -> Reconciler:
    """A reconciler from itself or a method name (`bottom_up`, `ols`, ..., `average_proportions`).

    >>> as_reconciler("wls_struct")
    MinTrace(method='wls_struct')
    """
    if isinstance(value, BottomUp | MinTrace | TopDown):
        return value
    if value == "bottom_up":
        return BottomUp()
    if value in MINTRACE_METHODS:
        return MinTrace(value)
    if value in TOPDOWN_METHODS:
        return TopDown(value)
    known = ", ".join(("bottom_up", *MINTRACE_METHODS, *TOPDOWN_METHODS))
    raise ConfigError(f"unknown reconciliation method {value!r}; known: {known}")
