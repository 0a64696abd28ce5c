"""Checks of claims against a policy: period, claim values, key columns, tier predicates.

Each failure is a `ConfigError` or `InputFileError` naming the file, line or column, with an
example row where one helps.
"""

from __future__ import annotations

import polars as pl

from engine.allocation._policy import Policy
from engine.errors import ConfigError, InputFileError

__all__ = [
    "check_claim_values",
    "check_predicates",
    "fail_on_overlap",
    "fail_on_unmatched",
    "key_columns",
    "within_period",
]


def within_period(frame: pl.DataFrame, policy: Policy, warnings: list[str]) -> pl.DataFrame:
    """Keep claim rows whose `month` lies in the policy's period (when both are known)."""
    if "month" not in frame.columns or (policy.period_from is None and policy.period_to is None):
        return frame
    if frame.schema["month"] not in (pl.Date, pl.Datetime):
        return frame
    month = pl.col("month").cast(pl.Date)
    inside = pl.lit(True)
    if policy.period_from is not None:
        inside = inside & (month >= policy.period_from)
    if policy.period_to is not None:
        inside = inside & (month <= policy.period_to)
    kept = frame.filter(inside.fill_null(False))
    dropped = frame.height - kept.height
    if dropped:
        warnings.append(
            f"{dropped} claim rows lie outside the policy period "
            f"{policy.period_from or '…'} – {policy.period_to or '…'} and were left out"
        )
    return kept


def check_claim_values(frame: pl.DataFrame, column: str, path: str | None) -> None:
    """Fail on claims that are null, NaN, infinite or negative, saying how many there are."""
    c = pl.col(column).cast(pl.Float64)
    stats = frame.select(
        nulls=c.null_count(),
        bad=(c.is_nan() | c.is_infinite()).sum(),
        negative=(c < 0).sum(),
    ).row(0, named=True)
    if stats["nulls"]:
        raise InputFileError(
            f"{stats['nulls']} claim rows have no amount", path=path, column=column
        )
    if stats["bad"]:
        raise InputFileError(
            f"{stats['bad']} claim rows are NaN or infinite", path=path, column=column
        )
    if stats["negative"]:
        raise InputFileError(
            f"{stats['negative']} claim rows are negative", path=path, column=column
        )


def key_columns(
    frame: pl.DataFrame, policy: Policy, key: tuple[str, ...] | list[str] | None, path: str | None
) -> tuple[str, ...]:
    if key is None:
        # a row is identified by everything but its money
        return tuple(c for c in frame.columns if c != policy.claim_column)
    missing = [c for c in key if c not in frame.columns]
    if missing:
        raise InputFileError(f"key column(s) {', '.join(missing)} not in the claims", path=path)
    return tuple(key)


def check_predicates(frame: pl.DataFrame, policy: Policy, exprs: list[pl.Expr]) -> None:
    columns = set(frame.columns)
    for tier, expr in zip(policy.tiers, exprs, strict=True):
        if tier.otherwise:
            continue
        for name in expr.meta.root_names():
            if name not in columns:
                raise ConfigError(
                    f"tier '{tier.name}' predicate names column '{name}', which the claims do not "
                    f"have (claims columns: {', '.join(frame.columns)})",
                    path=policy.source,
                    line=tier.line,
                    column=name,
                )
        try:
            dtype = frame.lazy().select(expr.alias("p")).collect_schema()["p"]
        except Exception as exc:  # polars: invalid operation on these dtypes
            raise ConfigError(
                f"tier '{tier.name}' predicate {tier.when!r} cannot apply to the claims: "
                f"{str(exc).splitlines()[0]}",
                path=policy.source,
                line=tier.line,
            ) from exc
        if dtype != pl.Boolean:
            raise ConfigError(
                f"tier '{tier.name}' predicate {tier.when!r} gives {dtype}, not true/false",
                path=policy.source,
                line=tier.line,
            )


def _example(frame: pl.DataFrame, mask: pl.Series, key_cols: tuple[str, ...]) -> str:
    row = frame.filter(mask).head(1)
    cols = [c for c in key_cols if c in row.columns][:6] or row.columns[:6]
    return ", ".join(f"{c}={row[c][0]!r}" for c in cols)


def fail_on_overlap(
    frame: pl.DataFrame,
    overlap: pl.Series,
    policy: Policy,
    exprs: list[pl.Expr],
    key_cols: tuple[str, ...],
) -> None:
    n = int(overlap.sum())
    if not n:
        return
    example = frame.filter(overlap).head(1)
    hits = [
        t.name
        for t, e in zip(policy.tiers, exprs, strict=True)
        if not t.otherwise and example.select(e).item()
    ]
    raise ConfigError(
        f"tiers overlap: {n} claim rows match more than one tier, e.g. tiers "
        f"{' and '.join(repr(h) for h in hits)} on the row ({_example(frame, overlap, key_cols)}); "
        "make the predicates exclusive or set 'tier_resolution: first_match'",
        path=policy.source,
        line=policy.line_of("tiers"),
    )


def fail_on_unmatched(
    frame: pl.DataFrame, unmatched: pl.Series, policy: Policy, key_cols: tuple[str, ...]
) -> None:
    n = int(unmatched.sum())
    if not n:
        return
    raise ConfigError(
        f"{n} claim rows match no tier, e.g. ({_example(frame, unmatched, key_cols)}); "
        "add a last tier with 'otherwise: true'",
        path=policy.source,
        line=policy.line_of("tiers"),
    )
