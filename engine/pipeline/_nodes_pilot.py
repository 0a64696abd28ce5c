"""The `pilot` product: a spec's pilot hromadas against comparable ones, month by month, and the
difference-in-differences estimate per indicator (`engine.pilot`), published to the store.

Two typed tables: `pilot_indicators` (every pilot and comparison hromada, every observed month:
`group` pilot / comparison and the `PILOT_INDICATORS`) and `pilot_effects` (one row per indicator:
before and after for each group, the estimate and its 95 % interval, how many hromadas). Both carry
the pilot's name and start, so the report reads them from the store as they are (`mfr report RUN`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from engine.pipeline._graph import product
from engine.pipeline._spec import RunSpec
from engine.pipeline._step import StepOutput

if TYPE_CHECKING:
    from engine.pilot import Pilot

__all__ = ["GROUPS", "pilot", "pilot_tables"]

GROUPS = ("pilot", "comparison")


def pilot_tables(
    need: pl.DataFrame, case_months: pl.DataFrame | None, spec_pilot: Pilot
) -> dict[str, pl.DataFrame]:
    """`pilot_indicators` and `pilot_effects` of a pilot (`engine.pilot.Pilot`) from a run's
    need indicators and case-months: `engine.pilot`'s panel and estimates, typed for the store
    (groups and indicators as Enums, the pilot's name and start on every row)."""
    from engine.pilot import PILOT_INDICATORS, pilot_effects, pilot_panel

    panel = pilot_panel(need, case_months, spec_pilot)
    effects = pilot_effects(panel, spec_pilot.start)
    tag = [
        pl.lit(spec_pilot.name).alias("pilot"),
        pl.lit(spec_pilot.start, dtype=pl.Date).alias("pilot_start"),
        pl.lit(spec_pilot.comparison).alias("comparison"),
    ]
    indicators = panel.select(
        *tag,
        "hromada_code",
        "oblast_code",
        pl.col("group").cast(pl.Enum(GROUPS)),
        "month",
        *(pl.col(c).cast(pl.Float64) for c in PILOT_INDICATORS),
    )
    effects = effects.select(
        *tag, pl.col("indicator").cast(pl.Enum(PILOT_INDICATORS)), pl.exclude("indicator")
    )
    return {"pilot_indicators": indicators, "pilot_effects": effects}


@product(
    title="Monitoring the pilot",
    publishes=("pilot_indicators", "pilot_effects"),
    params=("pilot",),
    requires=("pilot",),
    cache=True,
)
def pilot(spec: RunSpec, need: StepOutput, case_months: pl.DataFrame) -> StepOutput:
    """The spec's pilot from the run's own need indicators and case-months."""
    assert spec.pilot is not None  # `requires` refused a spec without one
    frames = pilot_tables(need.frames["need"], case_months, spec.pilot)
    effects = frames["pilot_effects"]
    counts = dict(
        frames["pilot_indicators"]
        .group_by(pl.col("group").cast(pl.String))
        .agg(pl.col("hromada_code").n_unique())
        .iter_rows()
    )
    notes = [
        f"Pilot {spec.pilot.name} from {spec.pilot.start:%Y-%m-%d}: {counts.get('pilot', 0)} "
        f"hromadas against {counts.get('comparison', 0)} comparable ones "
        f"({spec.pilot.comparison}); difference in differences: "
        + (
            "; ".join(
                f"{r['indicator']} {r['did']:+.3g}"
                + (f" (95% {r['lo_95']:+.3g}..{r['hi_95']:+.3g})" if r["lo_95"] is not None else "")
                for r in effects.iter_rows(named=True)
            )
            or "none (no hromada measured before and after)"
        )
        + ".",
    ]
    return StepOutput(
        frames=frames,
        publish={name: name for name in frames},
        rows_read=need.frames["need"].height,
        notes=tuple(notes),
    )
