"""Shared helpers for the forecast tests: golden files and small synthetic panels."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import yaml

GOLDEN = Path(__file__).parent / "golden"
HIERARCHY = {"nested": ["oblast", "hromada"], "crossed": [["group", "service"]]}


def golden(name: str) -> dict:
    return yaml.safe_load((GOLDEN / name).read_text(encoding="utf-8"))


def months(n: int, start: dt.date = dt.date(2021, 1, 1)) -> pl.Series:
    return pl.select(
        pl.lit(start).dt.offset_by(pl.Series([f"{k}mo" for k in range(n)])).alias("month")
    ).to_series()


def panel(n_months: int = 36, seed: int = 0) -> pl.DataFrame:
    """2 oblasts × 3 hromadas × 3 services in 2 groups: seasonal Poisson counts, one all-zero
    series and one that starts late."""
    rng = np.random.default_rng(seed)
    dates = months(n_months)
    frames = []
    for o in ("A", "B"):
        for h in range(3):
            for service, group in (("015.1", "care"), ("016.0", "care"), ("020.0", "info")):
                lam = rng.gamma(2.0, 2.0) * (1 + 0.3 * np.sin(2 * np.pi * np.arange(n_months) / 12))
                y = rng.poisson(lam).astype(float)
                if (o, h, service) == ("A", 0, "020.0"):
                    y[:] = 0.0
                start = n_months - 4 if (o, h, service) == ("B", 2, "016.0") else 0
                frames.append(
                    pl.DataFrame(
                        {
                            "oblast": o,
                            "hromada": f"{o}{h}",
                            "group": group,
                            "service": service,
                            "month": dates[start:],
                            "y": y[start:],
                        }
                    )
                )
    return pl.concat(frames)
