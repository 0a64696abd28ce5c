"""What `mfr entitle` writes, and the summary it prints of it, without holding every frame at once.

Without a scenario the output frames are built, checked and written one at a time
(`PricedMonths.frames`): at 10 M segments the case-months and the segments are over 1 GB each in
memory, and writing each before the next is built keeps about a gigabyte off the run's peak (and
on a virtual machine the time the kernel spends handing that memory over). A scenario compares two
pricings' case-months, so that path keeps them (`EntitleSummary.of`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.cli._output import staged_folder

if TYPE_CHECKING:
    import polars as pl

    from engine.entitlements import Entitlements, PricedMonths

__all__ = ["EntitleSummary", "check_frames", "write_frame", "write_outputs", "write_streamed"]


@dataclass(frozen=True)
class EntitleSummary:
    """What the manifest and the terminal show of one pricing: counts, totals and the rollups."""

    months: tuple[dt.date, dt.date]
    model_version: str
    model_hash: str
    n_segments: int
    n_cases: int
    n_case_months: int
    by_funding: dict[str, dict[str, Any]]  # `engine.entitlements.totals_by_funding`
    rollups: pl.DataFrame

    @classmethod
    def of(cls, result: Entitlements) -> EntitleSummary:
        return cls(
            result.months,
            result.model_version,
            result.model_hash,
            result.n_segments,
            result.n_cases,
            result.case_months.height,
            result.totals_by_funding(),
            result.rollups,
        )

    def totals(self) -> dict[str, float]:
        from engine.entitlements import headline_totals

        return headline_totals(self.by_funding)


def write_frame(staging: Path, name: str, frame: pl.DataFrame) -> None:
    """One output as zstd Parquet at level 1 (at 10 M segments a third faster to write than
    polars' default level 3, for files 6-9 % larger); segments without min/max statistics (a
    fifth of its write, and nothing skips its row groups)."""
    frame.write_parquet(
        staging / f"{name}.parquet",
        compression="zstd",
        compression_level=1,
        statistics=name != "segments",
    )


def _checked(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    from engine.invariants import assert_finite_money

    if name not in ("quarantine", "benefits_quarantine"):  # not money (rejected values)
        assert_finite_money(frame, None, name)  # a NaN is never published with exit 0
    return frame


def check_frames(frames: dict[str, pl.DataFrame]) -> None:
    """Every money column of `frames` finite (before anything is computed from them)."""
    for name, frame in frames.items():
        _checked(name, frame)


def _write_manifest(staging: Path, manifest: dict[str, Any]) -> None:
    (staging / "entitlements.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8"
    )


def write_outputs(
    out: Path,
    frames: dict[str, pl.DataFrame],
    manifest: dict[str, Any],
    *,
    overwrite: bool,
) -> None:
    """Frames already built (the scenario path), checked, then staged and moved into `out`."""
    check_frames(frames)
    with staged_folder(out, command="entitle", overwrite=overwrite) as staging:
        for name, frame in frames.items():
            write_frame(staging, name, frame)
        _write_manifest(staging, manifest)


def write_streamed(
    out: Path,
    priced: PricedMonths,
    others: Iterable[tuple[str, pl.DataFrame]],
    manifest_of: Callable[[EntitleSummary], dict[str, Any]],
    *,
    segments: bool,
    overwrite: bool,
) -> EntitleSummary:
    """Each frame of `priced` built, checked and written before the next is built, then `others`
    (the quarantine, ...) and the manifest; all staged, so a failure leaves `out` as it was."""
    from engine.entitlements import totals_by_funding

    by_funding: dict[str, dict[str, Any]] = {}
    n_case_months = 0
    rollups: pl.DataFrame | None = None
    with staged_folder(out, command="entitle", overwrite=overwrite) as staging:
        for name, frame in priced.frames(segments=segments, release=True):
            write_frame(staging, name, _checked(name, frame))
            if name == "case_months":
                by_funding, n_case_months = totals_by_funding(frame), frame.height
            elif name == "rollups":
                rollups = frame  # small; the top oblasts are read from it
            del frame  # let go before the generator builds the next frame
        for name, frame in others:
            write_frame(staging, name, _checked(name, frame))
        if rollups is None:
            raise RuntimeError("the priced frames held no rollups")
        core = priced.core
        summary = EntitleSummary(
            (core.months[0], core.months[-1]),
            priced.model.version,
            priced.model.content_hash,
            core.n_segments,
            priced.n_cases,
            n_case_months,
            by_funding,
            rollups,
        )
        _write_manifest(staging, manifest_of(summary))
    return summary
