"""Dated circumstances as intervals: what pricing looks up on a segment's first day.

For every recipient named by a benefits extract, the time axis is cut at each date a record starts
or stops (a declaration's end plus its grace months, an assessment's end, a certificate's
cancellation) and at each date a gap rule changes. On each elementary interval the record in force
is found with sorted as-of joins (the last record started, in force while the running maximum of
ends reaches the day: agreeing overlaps were merged, contradicting ones quarantined); days no
record covers take the funding model's gap rules (`engine.params._circumstances`). Consecutive
intervals that say the same are merged, so constant circumstances give one interval and no cut.

A certificate cancelled on a date no longer holds on that date (IDP through the day before).
Everything is polars over whole tables; nothing loops per person.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from engine._codes import DISABILITY_GROUPS
from engine.params._circumstances import CircumstanceRules

__all__ = [
    "SINCE_EVER",
    "BenefitTables",
    "CircumstanceCalendar",
    "circumstance_calendar",
    "circumstance_timeline",
]

SINCE_EVER = dt.date(1900, 1, 1)
_R = "recipient_id"
TIMELINE_SCHEMA: dict[str, pl.DataType] = {
    _R: pl.String(),
    "valid_from": pl.Date(),
    "valid_to": pl.Date(),  # null = open
    "income_ratio": pl.Float64(),  # null = unknown
    "disability_group": pl.String(),
    "is_idp": pl.Boolean(),
    "idp_hromada": pl.String(),  # where registered as an IDP (certificate)
    "origin_hromada": pl.String(),  # displaced from (certificate, else the registry's registered)
}
_VALUES = [c for c in TIMELINE_SCHEMA if c not in (_R, "valid_from", "valid_to")]


# (person, day) as one sortable integer: person × 2²² + days since 0001-01-01 (any date fits)
_SHIFT = 1 << 22
_BASE = 719_162  # days from 0001-01-01 to 1970-01-01


def _key(person: pl.Expr, day: pl.Expr) -> pl.Expr:
    return person.cast(pl.Int64) * _SHIFT + day.cast(pl.Int32).cast(pl.Int64) + _BASE


def _day_of(key: pl.Expr, person: pl.Expr) -> pl.Expr:
    return (key - person.cast(pl.Int64) * _SHIFT - _BASE).cast(pl.Int32).cast(pl.Date)


def _records(
    frame: pl.DataFrame,
    start: str,
    end: pl.Expr,
    values: list[str],
    window: tuple[dt.date, dt.date] | None,
) -> pl.DataFrame:
    """`recipient_id, start, end, values...` sorted by (recipient, start) (`_key`), with `reach`:
    the latest end of this and every earlier record of the person (null = open). With a `window`,
    records that end before it or start after it are left out: they hold on none of its days."""
    far = dt.date(9999, 12, 31)
    out = frame.select(_R, pl.col(start).alias("start"), end.alias("end"), *values)
    if window is not None:
        out = out.filter(
            (pl.col("end").is_null() | (pl.col("end") >= window[0]))
            & (pl.col("start") <= window[1])
        )
    out = out.with_columns(_key=_key(pl.col(_R), pl.col("start"))).sort("_key")
    # in (person, start) order a running maximum of (person, end) is the person's own: every
    # earlier person's key is smaller than this person's first (no window per person needed)
    reach = _key(pl.col(_R), pl.col("end").fill_null(far)).cum_max()
    return out.with_columns(reach=_day_of(reach, pl.col(_R)))


def _rule_at(dates: pl.DataFrame, rules: CircumstanceRules, rule: str, on: str) -> pl.Series:
    """The value of `rule` in force on each row's `on` date."""
    timeline = rules.timeline(rule).select("valid_from", pl.col("value").alias(rule))
    if timeline.height == 1:  # the usual case: one value since ever, no lookup
        return pl.repeat(timeline[rule][0], dates.height, eager=True, dtype=pl.String).alias(rule)
    return (
        dates.select(pl.col(on).alias("_on"))
        .with_row_index("_row")
        .sort("_on")
        .join_asof(timeline, left_on="_on", right_on="valid_from", strategy="backward")
        .sort("_row")[rule]
    )


def _with_grace(declarations: pl.DataFrame, rules: CircumstanceRules) -> pl.DataFrame:
    """Declarations with `end` extended by the grace months in force the day after their period."""
    timeline = rules.timeline("income_grace_months")
    if timeline.height == 1:
        months = int(timeline["value"][0])
        return declarations.with_columns(_end=pl.col("period_to").dt.offset_by(f"{months}mo"))
    day_after = declarations.select(_on=pl.col("period_to") + dt.timedelta(days=1))
    grace = _rule_at(day_after, rules, "income_grace_months", "_on").cast(pl.Int64)
    return declarations.with_columns(
        _end=pl.col("period_to").dt.offset_by(pl.format("{}mo", grace.fill_null(0)))
    )


def _in_force(cuts: pl.DataFrame, records: pl.DataFrame, values: list[str]) -> pl.DataFrame:
    """Each cut with the values of the record in force on its date (null where none is)."""
    # both sides are sorted by `_key` (person, date): one as-of join on integers, a record of an
    # earlier person found for a person's first cut is no match
    joined = cuts.join_asof(
        records.rename({_R: "_owner"}),
        on="_key",
        strategy="backward",
        check_sortedness=False,
    )
    found = pl.col("start").is_not_null() & (pl.col("_owner") == pl.col(_R))
    holds = found & (pl.col("valid_from") <= pl.col("reach"))
    return joined.with_columns(
        _holds=holds.fill_null(False), **{v: pl.when(holds).then(pl.col(v)) for v in values}
    ).drop("start", "end", "reach", "_owner")


class BenefitTables(dict[str, pl.DataFrame]):
    """A benefits extract's tables (`Benefits.tables`), remembering the timelines built from them:
    every block a run prices (the spec's months, each history year) and every amount explained
    asks for the same timeline, built once. Pickled without what it remembers."""

    def __init__(self, tables: dict[str, pl.DataFrame]) -> None:
        super().__init__(tables)
        self.timelines: list[
            tuple[
                pl.DataFrame,
                CircumstanceRules,
                tuple[dt.date, dt.date] | None,
                tuple[pl.DataFrame, pl.DataFrame],
            ]
        ] = []

    def __reduce__(self) -> tuple[type[BenefitTables], tuple[dict[str, pl.DataFrame]]]:
        return (BenefitTables, (dict(self),))


def circumstance_timeline(
    tables: dict[str, pl.DataFrame],
    recipients: pl.DataFrame,
    rules: CircumstanceRules,
    window: tuple[dt.date, dt.date] | None = None,
) -> pl.DataFrame:
    """Elementary intervals of constant circumstances (`TIMELINE_SCHEMA`) of every recipient that
    `tables` (a `Benefits`' tables) name, from 1900-01-01 to an open end.

    `recipients` is the registry's (recipient_id, disability_group, is_idp, income_ratio,
    registered_hromada): the values a `registry` gap rule falls back on. With a `window` (first,
    last day), only the intervals that meet it, exact on it. Built once per tables, recipients and
    rules for the span of the windows asked so far (`BenefitTables` remembers it): a run prices its
    months, then the history a year at a time, inside the span of the first two.
    """
    memo = tables.timelines if isinstance(tables, BenefitTables) else None
    cached = None
    for seen, seen_rules, span, built in memo or ():
        if seen is recipients and (seen_rules is rules or seen_rules == rules):
            cached = span, built
    if cached is not None and _covers(cached[0], window):
        timeline, held = cached[1]
    else:  # built over what is held and what is asked: the next blocks fall inside
        span = window if cached is None else _hull(cached[0], window)
        timeline, held = _timeline(tables, recipients, rules, span)
        if memo is not None:  # the run's one: no other is kept
            memo[:] = [(recipients, rules, span, (timeline, held))]
    if window is None:
        return timeline.drop("_person")
    meets = (pl.col("valid_to").is_null() | (pl.col("valid_to") >= window[0])) & (
        pl.col("valid_from") <= window[1]
    )
    # as a timeline built for the window alone: persons with a record on one of its days
    persons = held.filter(meets)["_person"].unique()
    return timeline.filter(meets & pl.col("_person").is_in(persons.implode())).drop("_person")


Window = tuple[dt.date, dt.date] | None


def _covers(span: Window, window: Window) -> bool:
    """Whether a timeline exact over `span` is exact over `window` (None: all time)."""
    if span is None:
        return True
    return window is not None and span[0] <= window[0] and window[1] <= span[1]


def _hull(span: Window, window: Window) -> Window:
    if span is None or window is None:
        return None
    return min(span[0], window[0]), max(span[1], window[1])


def _timeline(
    tables: dict[str, pl.DataFrame],
    recipients: pl.DataFrame,
    rules: CircumstanceRules,
    window: tuple[dt.date, dt.date] | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`circumstance_timeline` built (with `_person`, the person's number), and the days some
    record of each person holds (`_person`, `valid_from`, `valid_to`): with a `window` (first, last day), only the intervals that
    meet it are exact (the rest is skipped). Persons are numbered once, so sorts and joins run on
    integers, not on ids."""
    day = dt.timedelta(days=1)

    def meeting(frame: pl.DataFrame, start: str, end: pl.Expr) -> pl.DataFrame:
        """The records that hold on some day of the window (all without one)."""
        if window is None:
            return frame
        return frame.filter((end.is_null() | (end >= window[0])) & (pl.col(start) <= window[1]))

    declared = meeting(
        _with_grace(tables["income_declarations"], rules), "period_from", pl.col("_end")
    )
    assessed = meeting(tables["disability_assessments"], "valid_from", pl.col("valid_to"))
    certified = meeting(tables["idp_certificates"], "issued", pl.col("cancelled") - day)
    ids = pl.concat([f[_R] for f in (declared, assessed, certified)]).unique()
    numbers = pl.DataFrame({_R: ids}).with_row_index("_person")

    def coded(frame: pl.DataFrame) -> pl.DataFrame:
        joined = frame.join(numbers, on=_R, how="inner")
        return joined.drop(_R).rename({"_person": _R})

    declarations = coded(declared)
    income = _records(declarations, "period_from", pl.col("_end"), ["income_ratio"], window)
    disability = _records(
        coded(assessed),
        "valid_from",
        pl.col("valid_to"),
        ["disability_group"],
        window,
    ).rename({"disability_group": "_group"})
    idp = _records(
        coded(certified),
        "issued",
        pl.col("cancelled") - dt.timedelta(days=1),
        ["hromada_code", "origin_hromada"],
        window,
    ).rename({"hromada_code": "idp_hromada", "origin_hromada": "_origin"})
    people = pl.concat([f.select(_R) for f in (income, disability, idp)]).unique()
    changes = [d for d in rules.change_dates() if window is None or d <= window[1]]
    rule_dates = pl.DataFrame({"valid_from": [SINCE_EVER, *changes]})
    day = dt.timedelta(days=1)
    starts = [f.select(_R, pl.col("start").alias("valid_from")) for f in (income, disability, idp)]
    ends = [
        f.filter(pl.col("end").is_not_null()).select(_R, (pl.col("end") + day).alias("valid_from"))
        for f in (income, disability, idp)
    ]
    inside = pl.col("valid_from") >= SINCE_EVER
    if window is not None:
        inside &= pl.col("valid_from") <= window[1]
    keys = (
        pl.concat([people.join(rule_dates, how="cross"), *starts, *ends])
        .filter(inside)
        .select(_key=_key(pl.col(_R), pl.col("valid_from")))
        .sort("_key")
    )
    person = (pl.col("_key") // _SHIFT).cast(numbers.schema["_person"])
    cuts = keys.filter(pl.col("_key") != pl.col("_key").shift(1).fill_null(-1)).select(
        person.alias(_R), _day_of(pl.col("_key"), person).alias("valid_from"), "_key"
    )
    cuts = _in_force(cuts, income, ["income_ratio"]).rename({"_holds": "_declared"})
    cuts = _in_force(cuts, disability, ["_group"]).rename({"_holds": "_assessed"})
    cuts = _in_force(cuts, idp, ["idp_hromada", "_origin"]).rename({"_holds": "_certified"})
    for rule in ("income_gap", "disability_gap", "idp_gap"):
        cuts = cuts.with_columns(_rule_at(cuts, rules, rule, "valid_from").alias(rule))
    registry = coded(recipients).select(
        _R,
        pl.col("income_ratio").alias("_reg_income"),
        pl.col("disability_group").alias("_reg_group"),
        pl.col("is_idp").alias("_reg_idp"),
        pl.col("registered_hromada").alias("_reg_hromada"),
    )
    cuts = cuts.join(registry, on=_R, how="left", maintain_order="left")
    # the days some record of the person holds (cuts to the next cut): a window none of them
    # meets has none of the person's records, and pricing keeps the registry's values there
    following = pl.when(pl.col(_R).shift(-1) == pl.col(_R)).then(pl.col("valid_from").shift(-1))
    held = (
        cuts.select(
            _R,
            "valid_from",
            (following - day).alias("valid_to"),
            _held=pl.any_horizontal("_declared", "_assessed", "_certified"),
        )
        .filter("_held")
        .drop("_held")
    )
    is_idp = (
        pl.when(pl.col("_certified"))
        .then(True)
        .when(pl.col("idp_gap") == "registry")
        .then(pl.col("_reg_idp").fill_null(False))
        .otherwise(False)
    )
    timeline = cuts.select(
        _R,
        "valid_from",
        income_ratio=pl.when(pl.col("_declared"))
        .then(pl.col("income_ratio"))
        .when(pl.col("income_gap") == "registry")
        .then(pl.col("_reg_income")),
        disability_group=pl.when(pl.col("_assessed"))
        .then(pl.col("_group"))
        .when(pl.col("disability_gap") == "registry")
        .then(pl.col("_reg_group").fill_null("none"))
        .otherwise(pl.lit("none")),
        is_idp=is_idp,
        idp_hromada=pl.col("idp_hromada"),
        origin_hromada=pl.when(pl.col("_certified"))
        .then(pl.coalesce("_origin", "_reg_hromada"))
        .when((pl.col("idp_gap") == "registry") & pl.col("_reg_idp").fill_null(False))
        .then(pl.col("_reg_hromada")),
    )
    merged = _merged(timeline)
    named = merged.with_columns(pl.lit(ids).gather(pl.col(_R)).alias(_R), _person=pl.col(_R))
    return named, held.rename({_R: "_person"})


def _merged(timeline: pl.DataFrame) -> pl.DataFrame:
    """Consecutive intervals of a person that say the same, as one; `valid_to` from the next."""
    same = pl.col(_R) == pl.col(_R).shift(1)
    for value in _VALUES:
        same = same & pl.col(value).eq_missing(pl.col(value).shift(1))
    kept = timeline.filter(~same.fill_null(False))  # the cuts are in (person, date) order
    following = pl.when(pl.col(_R).shift(-1) == pl.col(_R)).then(pl.col("valid_from").shift(-1))
    return kept.with_columns(valid_to=following - dt.timedelta(days=1)).select(
        list(TIMELINE_SCHEMA)
    )


@dataclass(frozen=True, eq=False)
class CircumstanceCalendar:
    """The timeline as arrays pricing cuts sub-pieces with (`engine.segments.split_by_calendar`).

    Sorted by (key, date); each key's first date is the period's first day. `case_key[c]` is the
    key of case c's recipient. Keys of recipients the benefits extract does not name have one entry
    with `own` False: the case's registry values stand."""

    case_key: np.ndarray  # int32 per case
    key: np.ndarray
    date: np.ndarray  # int32 days since 1970-01-01
    own: np.ndarray  # bool: the entry comes from the benefits extract
    disability: np.ndarray  # int32 index into DISABILITY_GROUPS
    income: np.ndarray  # float64, NaN = unknown
    is_idp: np.ndarray  # bool
    origin: list[str | None]  # hromada displaced from, per entry


def circumstance_calendar(
    timeline: pl.DataFrame, case_recipients: pl.Series, p0: int, p1: int
) -> CircumstanceCalendar:
    """The calendar of `timeline` over the period of days [p0, p1], for cases whose recipients are
    `case_recipients` (in case order)."""
    start = pl.col("valid_from").cast(pl.Int32)
    inside = timeline.filter(
        (start <= p1) & (pl.col("valid_to").is_null() | (pl.col("valid_to").cast(pl.Int32) >= p0))
    )
    people = inside.select(_R).unique(maintain_order=True).with_row_index("key")
    n_people = people.height
    entries = (
        inside.join(people, on=_R, how="left", maintain_order="left")
        .with_columns(date=pl.max_horizontal(start, pl.lit(p0, pl.Int32)))
        .sort("key", "date")
    )
    case_key = (
        pl.DataFrame({_R: case_recipients})
        .join(people, on=_R, how="left", maintain_order="left")["key"]
        .cast(pl.Int32)
        .fill_null(n_people)
        .to_numpy()
    )
    groups = entries["disability_group"].cast(pl.Enum(list(DISABILITY_GROUPS)))
    n = entries.height
    return CircumstanceCalendar(
        case_key=case_key.astype(np.int32),
        key=np.r_[entries["key"].cast(pl.Int32).to_numpy(), np.int32(n_people)].astype(np.int32),
        date=np.r_[entries["date"].to_numpy(), np.int32(p0)].astype(np.int32),
        own=np.r_[np.ones(n, dtype=bool), False],
        disability=np.r_[groups.to_physical().cast(pl.Int32).to_numpy(), 0].astype(np.int32),
        income=np.r_[entries["income_ratio"].cast(pl.Float64).fill_null(np.nan).to_numpy(), np.nan],
        is_idp=np.r_[entries["is_idp"].to_numpy(), False].astype(bool),
        origin=[*entries["origin_hromada"].to_list(), None],
    )
