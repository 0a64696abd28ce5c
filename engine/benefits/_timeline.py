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
from engine.dates import EPOCH
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
_GAP_RULES = ("income_gap", "disability_gap", "idp_gap")


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


def _rule_at(
    dates: pl.DataFrame, rules: CircumstanceRules, rule: str, on: str
) -> pl.Series | pl.Expr:
    """The value of `rule` in force on each row's `on` date: a literal when the rule has one
    value since ever (the usual case: no lookup, and no column of millions of equal strings)."""
    timeline = rules.timeline(rule).select("valid_from", pl.col("value").alias(rule))
    if timeline.height == 1:
        return pl.lit(timeline[rule][0], dtype=pl.String)
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
    grace = _rule_at(day_after, rules, "income_grace_months", "_on")
    assert isinstance(grace, pl.Series)  # several values: one per declaration
    grace = grace.cast(pl.Int64)
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


Window = tuple[dt.date, dt.date] | None


@dataclass(eq=False)
class _Built:
    """One timeline built from a benefits extract's tables, for a registry's recipients and gap
    rules, exact over `span`; `ids` are the persons by number (sorted), `case_person` the number
    of each case's recipient for the cases frame it was asked for (worked out once)."""

    recipients: pl.DataFrame
    rules: CircumstanceRules
    span: Window
    timeline: pl.DataFrame  # TIMELINE_SCHEMA with `_person` (the number) for `recipient_id`
    held: pl.DataFrame  # `_person`, `valid_from`, `valid_to`: the days some record holds
    ids: pl.Series
    cases: tuple[pl.DataFrame, np.ndarray] | None = None

    def case_person(self, cases: pl.DataFrame) -> np.ndarray:
        """The number of each case's recipient (`len(ids)`: none the tables name)."""
        if self.cases is None or self.cases[0] is not cases:
            wanted = cases[_R]
            at = self.ids.search_sorted(wanted).cast(pl.Int64).clip(0, max(len(self.ids) - 1, 0))
            found = (self.ids.gather(at) == wanted).fill_null(False) if len(self.ids) else None
            number = np.full(len(wanted), len(self.ids), dtype=np.int64)
            if found is not None:
                hit = found.to_numpy()
                number[hit] = at.to_numpy()[hit]
            self.cases = (cases, number)
        return self.cases[1]


class BenefitTables(dict[str, pl.DataFrame]):
    """A benefits extract's tables (`Benefits.tables`), remembering the timelines built from them:
    every block a run prices (the spec's months, each history year) and every amount explained
    asks for a timeline exact on its days, built once for them. Pickled without what it
    remembers."""

    def __init__(self, tables: dict[str, pl.DataFrame]) -> None:
        super().__init__(tables)
        self.timelines: list[_Built] = []

    def __reduce__(self) -> tuple[type[BenefitTables], tuple[dict[str, pl.DataFrame]]]:
        return (BenefitTables, (dict(self),))


def _built(
    tables: dict[str, pl.DataFrame],
    recipients: pl.DataFrame,
    rules: CircumstanceRules,
    window: Window,
) -> _Built:
    """A remembered timeline exact over `window`, else one built for it. A run asks its months,
    then the history before them a year at a time: a window before (or after) every span held
    gets the days from it to the held ones, so the next blocks fall inside and no day is built
    twice; a window across what is held, the span of all of it."""
    memo = tables.timelines if isinstance(tables, BenefitTables) else None
    held = [
        seen
        for seen in memo or ()
        if seen.recipients is recipients and (seen.rules is rules or seen.rules == rules)
    ]
    for seen in held:
        if _covers(seen.span, window):
            return seen
    spans = [seen.span for seen in held]
    span, keep = window, held
    if window is not None and spans and all(s is not None for s in spans):
        first = min(s[0] for s in spans if s is not None)
        last = max(s[1] for s in spans if s is not None)
        if window[1] < first:
            span = window[0], first - dt.timedelta(days=1)
        elif window[0] > last:
            span = last + dt.timedelta(days=1), window[1]
        else:
            span, keep = (min(first, window[0]), max(last, window[1])), []
    elif spans:
        span, keep = None, []
    timeline, days, ids = _timeline(tables, recipients, rules, span)
    built = _Built(recipients, rules, span, timeline, days, ids)
    if memo is not None:  # this run's: another registry's or rules' are not kept
        memo[:] = [*keep, built]
    return built


def _in_window(built: _Built, window: Window) -> pl.DataFrame:
    """The intervals meeting `window` (all without one), with `_person`: as a timeline built
    for the window alone, the persons with a record on one of its days."""
    if window is None:
        return built.timeline
    meets = (pl.col("valid_to").is_null() | (pl.col("valid_to") >= window[0])) & (
        pl.col("valid_from") <= window[1]
    )
    persons = built.held.filter(meets)["_person"].unique()
    return built.timeline.filter(meets & pl.col("_person").is_in(persons.implode()))


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
    rules for the days of the windows asked (`BenefitTables` remembers them).
    """
    built = _built(tables, recipients, rules, window)
    frame = _in_window(built, window)
    person_id = built.ids.gather(frame["_person"]).alias(_R)
    return frame.select(person_id, *(c for c in TIMELINE_SCHEMA if c != _R))


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
) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """`circumstance_timeline` built (`_person`, the person's number, for the id), the days some
    record of each person holds (`_person`, `valid_from`, `valid_to`) and the persons' ids by
    number (sorted): with a `window` (first, last day), only the intervals that meet it are
    exact (the rest is skipped). Persons are numbered once, so sorts and joins run on integers,
    not on ids."""
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
    # persons numbered in id order by one dense rank of every id (the tables' and the
    # registry's recipients'): no join of millions of text ids to a numbering
    named_by = (declared, assessed, certified, recipients)
    every = pl.concat([f[_R] for f in named_by])
    number = every.rank("dense").cast(pl.UInt32) - 1
    ids = (
        pl.DataFrame({"_n": number, _R: every})
        .filter(pl.col("_n").is_first_distinct())
        .sort("_n")[_R]
    )
    offsets = np.cumsum([0, *(f.height for f in named_by)]).tolist()
    coded_frames = [
        frame.with_columns(number.slice(offsets[i], frame.height).alias(_R))
        for i, frame in enumerate(named_by)
    ]
    declarations, assessments, certificates, numbered_recipients = coded_frames
    income = _records(declarations, "period_from", pl.col("_end"), ["income_ratio"], window)
    disability = _records(
        assessments,
        "valid_from",
        pl.col("valid_to"),
        ["disability_group"],
        window,
    ).rename({"disability_group": "_group"})
    idp = _records(
        certificates,
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
    person = (pl.col("_key") // _SHIFT).cast(pl.UInt32)
    cuts = keys.filter(pl.col("_key") != pl.col("_key").shift(1).fill_null(-1)).select(
        person.alias(_R), _day_of(pl.col("_key"), person).alias("valid_from"), "_key"
    )
    cuts = _in_force(cuts, income, ["income_ratio"]).rename({"_holds": "_declared"})
    cuts = _in_force(cuts, disability, ["_group"]).rename({"_holds": "_assessed"})
    cuts = _in_force(cuts, idp, ["idp_hromada", "_origin"]).rename({"_holds": "_certified"})
    gaps = {rule: _rule_at(cuts, rules, rule, "valid_from") for rule in _GAP_RULES}
    cuts = cuts.with_columns(**{r: v for r, v in gaps.items() if isinstance(v, pl.Series)})

    def gap(rule: str) -> pl.Expr:  # a constant rule stays a literal, not a column
        value = gaps[rule]
        return value if isinstance(value, pl.Expr) else pl.col(rule)

    registry = numbered_recipients.select(
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
        .when(gap("idp_gap") == "registry")
        .then(pl.col("_reg_idp").fill_null(False))
        .otherwise(False)
    )
    timeline = cuts.select(
        _R,
        "valid_from",
        income_ratio=pl.when(pl.col("_declared"))
        .then(pl.col("income_ratio"))
        .when(gap("income_gap") == "registry")
        .then(pl.col("_reg_income")),
        disability_group=pl.when(pl.col("_assessed"))
        .then(pl.col("_group"))
        .when(gap("disability_gap") == "registry")
        .then(pl.col("_reg_group").fill_null("none"))
        .otherwise(pl.lit("none")),
        is_idp=is_idp,
        idp_hromada=pl.col("idp_hromada"),
        origin_hromada=pl.when(pl.col("_certified"))
        .then(pl.coalesce("_origin", "_reg_hromada"))
        .when((gap("idp_gap") == "registry") & pl.col("_reg_idp").fill_null(False))
        .then(pl.col("_reg_hromada")),
    )
    merged = _merged(timeline)
    # kept by the person's number only (the ids are gathered when the timeline is asked for):
    # the remembered timeline is millions of rows held while the run goes on
    return merged.rename({_R: "_person"}), held.rename({_R: "_person"}), ids


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
    origin: pl.Series  # String: hromada displaced from, per entry


def circumstance_calendar(
    tables: dict[str, pl.DataFrame],
    recipients: pl.DataFrame,
    rules: CircumstanceRules,
    cases: pl.DataFrame,
    *,
    p0: int,
    p1: int,
) -> CircumstanceCalendar:
    """The calendar of the circumstance timeline (`circumstance_timeline`) over the period of days
    [p0, p1], for `cases` (their `recipient_id`, in case order). Persons and cases are matched on
    their numbers in the (remembered) timeline, not on text ids."""
    window = (EPOCH + dt.timedelta(days=p0), EPOCH + dt.timedelta(days=p1))
    built = _built(tables, recipients, rules, window)
    timeline = _in_window(built, window)
    start = pl.col("valid_from").cast(pl.Int32)
    inside = timeline.filter(
        (start <= p1) & (pl.col("valid_to").is_null() | (pl.col("valid_to").cast(pl.Int32) >= p0))
    )
    # keys in order of the persons' first interval (the timeline is in person order)
    person = inside["_person"].to_numpy().astype(np.int64)
    first = inside["_person"].is_first_distinct().to_numpy()
    n_people = int(first.sum())
    key_of = np.full(len(built.ids) + 1, n_people, dtype=np.int32)
    key_of[person[first]] = np.arange(n_people, dtype=np.int32)
    entries = inside.with_columns(
        key=pl.Series(key_of[person]), date=pl.max_horizontal(start, pl.lit(p0, pl.Int32))
    ).sort("key", "date")
    groups = entries["disability_group"].cast(pl.Enum(list(DISABILITY_GROUPS)))
    n = entries.height
    return CircumstanceCalendar(
        case_key=key_of[built.case_person(cases)],
        key=np.r_[entries["key"].to_numpy(), np.int32(n_people)].astype(np.int32),
        date=np.r_[entries["date"].to_numpy(), np.int32(p0)].astype(np.int32),
        own=np.r_[np.ones(n, dtype=bool), False],
        disability=np.r_[groups.to_physical().cast(pl.Int32).to_numpy(), 0].astype(np.int32),
        income=np.r_[entries["income_ratio"].cast(pl.Float64).fill_null(np.nan).to_numpy(), np.nan],
        is_idp=np.r_[entries["is_idp"].to_numpy(), False].astype(bool),
        origin=entries["origin_hromada"].extend_constant(None, 1),
    )
