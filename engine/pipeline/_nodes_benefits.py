"""A run with a benefits extract: the registry node that joins it, and the IDP host burden.

A spec's `benefits: data_samples/benefits` names the extract. Then the run's `registry` is read
as without it (the same function, the same quarantine threshold) and the benefits extract is
read, validated and matched to it on the pseudonymised РНОКПП (`engine.benefits`, with the key in
`$MFR_PSEUDONYM_KEY`); its quarantine above the threshold stops the run (exit 4) unless accepted.
Pricing then uses the dated circumstances; nothing else changes. The product `idp_burden`
publishes the IDP host burden of the spec's months and the benefits extract's quarantine and
warnings. Without `benefits:` the run is exactly what it was.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from engine.pipeline._execute import RunFacts
from engine.pipeline._graph import node, product
from engine.pipeline._nodes import Reference
from engine.pipeline._nodes import registry as registry_alone
from engine.pipeline._pricing import Priced
from engine.pipeline._spec import RunSpec
from engine.pipeline._step import StepOutput

if TYPE_CHECKING:
    from engine.schemas import Registry

__all__ = ["idp_burden", "registry_with_benefits"]


@node(
    title="Reading and validating the extract and its benefits extract",
    name="registry",
    reads=("extract", "benefits", "reference"),
    params=("extract_date", "quarantine_threshold", "pseudonymise", "pseudonym_key"),
    cache=True,
    when=lambda s: s.benefits is not None,
)
def registry_with_benefits(spec: RunSpec, run: RunFacts, reference: Reference) -> Registry:
    from engine.benefits import check_benefits_threshold, read_benefits, with_benefits

    validated = registry_alone.fn(spec, run, reference)
    assert spec.benefits is not None
    benefits = read_benefits(
        spec.benefits,
        validated,
        spec.extract,
        territories=reference.territories,
        pseudonymise=spec.pseudonymise,
    )
    check_benefits_threshold(benefits, spec.quarantine_threshold, accept=run.accept_quarantine)
    return with_benefits(validated, benefits)


@product(title="IDP host burden", publishes=("idp_burden", "benefits_quarantine"), cache=True)
def idp_burden(priced: Priced, registry: Registry) -> StepOutput:
    """IDPs served per host hromada / oblast by the oblast they were displaced from, per month
    (`engine.rollups.idp_host_burden`), and what the benefits extract had rejected or noted."""
    from engine.benefits import Benefits
    from engine.rollups import IDP_BURDEN_COLUMNS

    benefits: Benefits | None = registry.benefits
    burden = priced.idp_burden
    if burden is None:
        burden = pl.DataFrame(schema=dict.fromkeys(IDP_BURDEN_COLUMNS, pl.String))
    if benefits is None:
        report = pl.DataFrame(schema={"kind": pl.String, **registry.quarantine.schema})
        notes = ("No benefits extract: IDP status is the registry's single value.",)
    else:
        report = pl.concat(
            [
                benefits.quarantine.with_columns(kind=pl.lit("quarantine")),
                benefits.warnings.with_columns(kind=pl.lit("warning")),
            ]
        ).select("kind", *registry.quarantine.columns)
        national = burden.filter(pl.col("level") == "national")
        last = national["month"].max() if national.height else None
        latest = last if isinstance(last, dt.date) else None
        hosted = national.filter(pl.col("month") == latest) if latest is not None else national
        notes = (
            f"Benefits extract: {sum(benefits.rows_read.values()):,} rows read, "
            f"{benefits.quarantine['source_line'].n_unique():,} quarantined; IDP host burden in "
            f"{latest:%Y-%m}: {float(hosted['case_months'].sum()):,.1f} IDP case-months, "
            f"{float(hosted['state_uah'].sum()):,.2f} UAH"
            if latest is not None
            else "Benefits extract read; no IDP served in the spec's months.",
        )
    return StepOutput(
        frames={"idp_burden": burden, "benefits_quarantine": report},
        publish={"idp_burden": "idp_burden", "benefits_quarantine": "benefits_quarantine"},
        rows_read=report.height,
        rows_quarantined=int(report.filter(pl.col("kind") == "quarantine").height),
        notes=notes,
    )
