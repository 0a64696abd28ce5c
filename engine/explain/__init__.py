"""The audit trail: why an amount is what it is, and what a case that does not exist yet would cost.

- `explain_amount(registry, model, case_id, month)` — one case-month, priced by the engine's own pricing
  restricted to that case: every segment with the causes of its cuts, every factor with its file,
  key, effective date and legal reference, the cap, the co-payment band, the rounding and the sum
  (`Explanation`: frames plus `.to_text()` and `.to_json()`).
- `explain_run(store, run, case_id, month)` — the same for a past run, from the store alone.
- `price_case(service=..., need_level=..., hromada=..., start=...)` — a case that does not exist
  yet, month by month, baseline beside a scenario (`PricedCase`).
- `CutCause`, `DEFAULT_CAUSES` — the sources of cut dates; extensible.
"""

from __future__ import annotations

from engine.explain._causes import CAUSE_SCHEMA, DEFAULT_CAUSES, CaseContext, CutCause, cause_rows
from engine.explain._explain import explain_amount
from engine.explain._factors import FACTOR_SCHEMA
from engine.explain._price import PricedCase, price_case
from engine.explain._result import Explanation
from engine.explain._stored import explain_run, stored_inputs

__all__ = [
    "CAUSE_SCHEMA",
    "DEFAULT_CAUSES",
    "FACTOR_SCHEMA",
    "CaseContext",
    "CutCause",
    "Explanation",
    "PricedCase",
    "cause_rows",
    "explain_amount",
    "explain_run",
    "price_case",
    "stored_inputs",
]
