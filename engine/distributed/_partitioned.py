"""Partitioned pricing: the run's `priced` node with the registry's partitions priced on workers.

The driver (the `mfr run` process) has read and validated the extract. It writes the registry in
partitions by a hash of the recipient (`_partition`) as Parquet under a folder every worker sees,
each worker reads its own partition and prices it with the engine's `compute_entitlements` over
the same month blocks as one process would, and the driver puts the results together
(`_combine`): case-months, rollups and flows identical to the kopiyka to pricing in one process,
whatever the number of partitions. Allocation and forecasting then run as always on them.

>>> import engine
>>> from engine.distributed import partitioned
>>> spec = engine.load_spec("pipelines/nightly.yaml")
>>> with partitioned("local", workers=2, partitions=4):  # doctest: +SKIP
...     engine.run_pipeline(spec)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from engine.distributed._cluster import open_client
from engine.distributed._combine import (
    combine_case_months,
    combine_flows,
    combine_history,
    combine_rollups,
)
from engine.distributed._context import Scheduler, using_pricing
from engine.distributed._partition import read_partition, write_partitions
from engine.errors import ConfigError
from engine.pipeline._pricing import HISTORY_COLUMNS, Priced

if TYPE_CHECKING:
    from engine.params import FundingModel
    from engine.pipeline._nodes import HistoryWindow, Months
    from engine.schemas import Registry

__all__ = ["PartitionedPricing", "partitioned", "price_partition"]

Block = tuple[dt.date, dt.date]


def price_partition(
    part: Path,
    *,
    extract_date: dt.date,
    model: FundingModel,
    territories: pl.DataFrame,
    blocks: Sequence[Block],
    spec_first: dt.date | None,
    window: tuple[dt.date, dt.date] | None,
) -> dict[str, Any]:
    """On a worker: read one partition and price it over `blocks` (what `priced` does for the
    whole registry). Returns the spec block's case-months, rollups and flows and, per block, the
    history's segment columns (text kept as text: the driver orders them, then casts)."""
    from engine.entitlements import compute_entitlements

    registry = read_partition(part, extract_date)
    out: dict[str, Any] = {"history": []}
    for first, last in blocks:
        result = compute_entitlements(
            registry, model, territories, months=(first, last), segments=window is not None
        )
        if first == spec_first:
            out |= {"case_months": result.case_months, "rollups": result.rollups}
            out["flows"] = result.flows
        if window is not None:
            out["history"].append(
                result.segments.filter(pl.col("month").is_between(*window)).select(HISTORY_COLUMNS)
            )
        del result
    return out


@dataclass
class PartitionedPricing:
    """The `priced` node's pricing on a Dask cluster (the hook `engine.pipeline` calls)."""

    client: Any  # distributed.Client
    partitions: int
    scratch: Path  # a folder every worker sees; each pricing writes and removes its own below

    def __call__(
        self,
        registry: Registry,
        model: FundingModel,
        territories: pl.DataFrame,
        *,
        blocks: Sequence[Block],
        spec_months: Months | None,
        window: HistoryWindow | None,
    ) -> Priced:
        if registry.benefits is not None:
            raise ConfigError(
                "--scheduler: a run with a benefits extract is priced in one process "
                "(its IDP host burden is rounded per cell over all people); drop --scheduler"
            )
        folder = self.scratch / f"mfr-partitions-{secrets.token_hex(6)}"
        try:
            results = self._price(
                registry,
                model,
                territories,
                blocks=blocks,
                spec_months=spec_months,
                window=window,
                folder=folder,
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        totals: dict[str, pl.DataFrame | None] = dict.fromkeys(("case_months", "rollups", "flows"))
        if spec_months is not None:
            totals["case_months"] = combine_case_months([r["case_months"] for r in results])
            totals["rollups"] = combine_rollups([r["rollups"] for r in results], territories)
            totals["flows"] = combine_flows([r["flows"] for r in results])
        history = None
        if window is not None and blocks:
            history = combine_history(
                [[r["history"][b] for r in results] for b in range(len(blocks))]
            )
        return Priced(
            case_months=totals["case_months"],
            rollups=totals["rollups"],
            flows=totals["flows"],
            model_version=str(model.version),
            history_segments=history,
            blocks=tuple(blocks),
            cases=registry.cases.height,
        )

    def _price(
        self,
        registry: Registry,
        model: FundingModel,
        territories: pl.DataFrame,
        *,
        blocks: Sequence[Block],
        spec_months: Months | None,
        window: HistoryWindow | None,
        folder: Path,
    ) -> list[dict[str, Any]]:
        extract_date = registry.extract_date
        parts = write_partitions(registry, self.partitions, folder)
        shared_model, shared_territories = self.client.scatter([model, territories], broadcast=True)
        spec_first = spec_months.first if spec_months is not None else None
        span = (window.first, window.last) if window is not None else None
        token = folder.name.removeprefix("mfr-partitions-")
        futures = [
            self.client.submit(
                price_partition,
                part,
                extract_date=extract_date,
                model=shared_model,
                territories=shared_territories,
                blocks=list(blocks),
                spec_first=spec_first,
                window=span,
                key=f"mfr-price-{token}-{i:05d}",
                retries=1,
            )
            for i, part in enumerate(parts)
        ]
        return list(self.client.gather(futures))


@contextlib.contextmanager
def partitioned(
    scheduler: Scheduler | str = "local",
    *,
    workers: int = 2,
    partitions: int | None = None,
    scratch: Path | str,
    client: Any = None,
) -> Iterator[PartitionedPricing]:
    """Runs started in this block price the registry in `partitions` partitions (default: one
    per worker) on `scheduler` ("local": a `LocalCluster` of `workers` processes, or a Dask
    scheduler's address). `scratch` must be a folder every worker sees. The results, the run's
    fingerprint and its cache keys are those of a run in one process. An open `client`
    (`distributed.Client`) is used as it is, instead of `scheduler`."""
    if isinstance(scheduler, str):
        scheduler = Scheduler(scheduler, workers=workers)
    if partitions is not None and partitions < 1:
        raise ConfigError(f"--partitions must be at least 1, not {partitions}")
    folder = Path(scratch)
    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(open_client(scheduler))
        count = partitions or max(1, len(client.scheduler_info().get("workers", {})))
        hook = PartitionedPricing(client, count, folder)
        with using_pricing(hook):
            yield hook
