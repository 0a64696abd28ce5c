"""Why a segment was cut where it was: the boundary sources of the pricing, named.

The pricing (`engine.segments`, `engine.params._resolve`) cuts a case's served period at month
starts, the case's start and end, every location change, every change date of a parameter that
applies to the case (its service, need level, disability and service group, the co-payment rules,
the territory coefficients and their cap), every territory status change of the serving hromada,
and a scenario's dated territorial changes. Each source here lists, for one case, the dates it cuts
at with a cause code and a sentence; a segment boundary is explained by every source that has its
date. A boundary no source explains is reported as `unexplained` (the tests say none is).

The list is open: a `CutCause` is a name and a function of the case's `CaseContext` returning
`CAUSE_SCHEMA` rows; pass more to `explain_amount(..., causes=(*DEFAULT_CAUSES, my_cause))`, e.g. dated
circumstances from a benefits extract (an income declaration):

>>> import datetime as dt
>>> declared = CutCause("income_declaration", lambda ctx: cause_rows(
...     [(dt.date(2025, 3, 17), "income_declaration", "income declaration 2.5 from this day")]))
>>> declared.dates(None)["cause"].to_list()
['income_declaration']
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from engine.dates import add_months
from engine.explain._words import say
from engine.intervals import value_at
from engine.params import FundingModel
from engine.schemas import Registry

__all__ = [
    "CAUSE_SCHEMA",
    "DEFAULT_CAUSES",
    "CaseContext",
    "CutCause",
    "boundary_causes",
    "cause_rows",
]

_DAY = dt.timedelta(days=1)
# date: the first day after the cut; hromada: the cut applies only where that hromada serves
CAUSE_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "cause": pl.String(),
    "text": pl.String(),
    "hromada_code": pl.String(),
}
# parameters whose change dates cut a case's segments, and the case attributes that key them
_RATE_KEYS: dict[str, tuple[str, ...]] = {
    "tariff": ("service_code",),
    "norm_units": ("service_code", "need_level"),
    "max_units": ("service_code", "need_level"),
    "modifier": ("disability_group", "service_group"),
    "copay_bands": (),
    "unknown_income_band": (),
    "territory_coef_cap": (),
}


@dataclass(frozen=True, eq=False)
class CaseContext:
    """What a cause source may look at: the case's own registry, the model, the month explained,
    the case's attributes (`case`: its row with its recipient's and service's columns) and the
    segments the engine made of it."""

    registry: Registry
    model: FundingModel
    month: dt.date
    case: dict[str, Any]
    segments: pl.DataFrame
    names: dict[str, str] = field(default_factory=dict)  # hromada code → name in `lang`
    lang: str = "en"  # the language of every sentence the explanation says

    def say(self, key: str, **fields: object) -> str:
        """Sentence `key` of `engine.explain._words` in the explanation's language."""
        return say(key, self.lang, **fields)

    def name(self, hromada: str | None) -> str:
        if hromada is None:
            return self.say("unknown_hromada")
        found = self.names.get(hromada)
        return f"{found} ({hromada})" if found else hromada


@dataclass(frozen=True)
class CutCause:
    """A source of cut dates: `dates(context)` returns `CAUSE_SCHEMA` rows.

    >>> [cause.name for cause in DEFAULT_CAUSES][:3]
    ['month', 'case', 'location']
    """

    name: str
    dates: Callable[[Any], pl.DataFrame]


def cause_rows(rows: Sequence[tuple[Any, ...]]) -> pl.DataFrame:
    """`CAUSE_SCHEMA` rows from tuples (date, cause, text[, hromada_code])."""
    padded = [(*r, None) if len(r) == 3 else r for r in rows]
    return pl.DataFrame(padded, schema=CAUSE_SCHEMA, orient="row")


def _months(ctx: CaseContext) -> pl.DataFrame:
    nxt = add_months(ctx.month, 1)
    return cause_rows(
        [
            (ctx.month, "month_start", ctx.say("month_start", day=f"{ctx.month:%Y-%m-%d}")),
            (nxt, "month_end", ctx.say("month_end", day=f"{nxt - _DAY:%Y-%m-%d}")),
        ]
    )


def _case(ctx: CaseContext) -> pl.DataFrame:
    start = ctx.case["start_date"]
    rows = [(start, "case_start", ctx.say("case_start", day=start))]
    if ctx.case["end_date"] is not None:
        end = ctx.case["end_date"]
        rows.append((end + _DAY, "case_end", ctx.say("case_end", day=end)))
    return cause_rows(rows)


def _provider(ctx: CaseContext, pid: str | None) -> str:
    return ctx.say("no_provider_waiting") if pid is None else ctx.say("provider", provider=pid)


def _locations(ctx: CaseContext) -> pl.DataFrame:
    """Moves, waiting and served periods, provider changes, gaps without a location."""
    locs = ctx.registry.case_locations.sort("valid_from").to_dicts()
    rows: list[tuple[Any, ...]] = []
    for i, loc in enumerate(locs):
        prev = locs[i - 1] if i else None
        start, where = loc["valid_from"], ctx.name(loc["hromada_code"])
        adjacent = prev is not None and prev["valid_to"] is not None
        adjacent = adjacent and prev["valid_to"] + _DAY == start  # type: ignore[index]
        if prev is None or not adjacent:
            again = "" if prev is None else ctx.say("location_again")
            provider = _provider(ctx, loc["provider_id"])
            text = ctx.say("location_start", provider=provider, where=where, again=again)
            rows.append((start, "location_start", text))
        elif prev["hromada_code"] != loc["hromada_code"]:
            text = ctx.say("move", before=ctx.name(prev["hromada_code"]), after=where)
            rows.append((start, "move", text))
        elif prev["provider_id"] is None and loc["provider_id"] is not None:
            rows.append((start, "served", ctx.say("served_from", provider=loc["provider_id"])))
        elif loc["provider_id"] is None:
            rows.append((start, "waiting", ctx.say("waiting_from")))
        elif prev["provider_id"] != loc["provider_id"]:
            text = ctx.say("provider_change", before=prev["provider_id"], after=loc["provider_id"])
            rows.append((start, "provider_change", text))
        nxt = locs[i + 1] if i + 1 < len(locs) else None
        if loc["valid_to"] is not None and (
            nxt is None or nxt["valid_from"] != loc["valid_to"] + _DAY
        ):
            end = loc["valid_to"]
            rows.append((end + _DAY, "location_end", ctx.say("location_end", day=end)))
    return cause_rows(rows)


def _fmt(ctx: CaseContext, value: float | None) -> str:
    return ctx.say("no_value") if value is None else f"{value:.10g}"


def _changes(
    ctx: CaseContext, name: str, where: dict[str, Any], hromada: str | None = None
) -> list[tuple[Any, ...]]:
    """Every date a value of parameter `name` for key `where` starts or stops: value before → after."""
    param = ctx.model.parameter(name)
    table = param.intervals
    for dim, value in where.items():
        table = table.filter(pl.col(dim) == value)
    if table.is_empty():
        return []
    dims = list(where)
    dates = sorted(
        set(table["valid_from"].to_list())
        | {d + _DAY for d in table["valid_to"].drop_nulls().to_list()}
    )
    if name == "copay_bands":  # a band table: say which rule set changes
        text = ctx.say("bands_change", file=_file(ctx, param.source))
        return [(d, "parameter_change", text, hromada) for d in dates]
    probe_dates = [x for d in dates for x in (d - _DAY, d)]
    probe = pl.DataFrame(
        {
            **{
                k: pl.Series([v] * len(probe_dates), dtype=table.schema[k])
                for k, v in where.items()
            },
            "date": pl.Series(probe_dates, dtype=pl.Date),
        }
    )
    values = value_at(probe, table, dims, default=param.default).to_list()
    key = ", ".join(f"{k}={v}" for k, v in where.items())
    shown = f"{name}[{key}]" if key else name
    rows = []
    for i, d in enumerate(dates):
        before, after = values[2 * i], values[2 * i + 1]
        text = ctx.say(
            "parameter_change",
            shown=shown,
            before=_fmt(ctx, before),
            after=_fmt(ctx, after),
            file=_file(ctx, param.source),
            day=d,
        )
        rows.append((d, "parameter_change", text, hromada))
    return rows


def _file(ctx: CaseContext, source: str) -> str:
    return source.rsplit("/", 1)[-1] if source else ctx.say("default_file")


def _parameters(ctx: CaseContext) -> pl.DataFrame:
    """Change dates of every parameter keyed by the case's attributes; territory coefficients for
    the statuses of the hromadas serving it (those cut only where that hromada serves)."""
    rows: list[tuple[Any, ...]] = []
    for name, keys in _RATE_KEYS.items():
        rows += _changes(ctx, name, {k: ctx.case[k] for k in keys})
    for status in ctx.registry.territory_status.select("hromada_code", "status").unique().rows():
        rows += _changes(ctx, "territory_coef", {"status": status[1]}, status[0])
    return cause_rows(rows)


def _statuses(ctx: CaseContext) -> pl.DataFrame:
    rows: list[tuple[Any, ...]] = []
    for st in ctx.registry.territory_status.to_dicts():
        where, status = ctx.name(st["hromada_code"]), st["status"]
        rows.append(
            (
                st["valid_from"],
                "status_change",
                ctx.say("status_begins", where=where, status=status, day=st["valid_from"]),
                st["hromada_code"],
            )
        )
        if st["valid_to"] is not None:
            day = st["valid_to"] + _DAY
            rows.append(
                (
                    day,
                    "status_change",
                    ctx.say("status_ends", where=where, status=status, day=day),
                    st["hromada_code"],
                )
            )
    return cause_rows(rows)


def _scenario(ctx: CaseContext) -> pl.DataFrame:
    rows: list[tuple[Any, ...]] = []
    for adj in ctx.model.adjustments.to_dicts():
        what = ctx.say(
            "scenario_change",
            scenario=ctx.model.scenario,
            parameter=adj["parameter"],
            op=adj["op"],
            value=f"{adj['value']:g}",
        )
        rows.append((adj["valid_from"], "scenario", ctx.say("scenario_begins", what=what)))
        if adj["valid_to"] is not None:
            rows.append((adj["valid_to"] + _DAY, "scenario", ctx.say("scenario_ends", what=what)))
    return cause_rows(rows)


def _circumstances(ctx: CaseContext) -> pl.DataFrame:
    """Days the recipient's dated circumstances change (a benefits extract: income declarations,
    disability assessments, IDP certificates), from the timeline pricing cuts on."""
    benefits = getattr(ctx.registry, "benefits", None)
    if benefits is None:
        return cause_rows([])
    from engine.benefits._timeline import circumstance_timeline

    timeline = (
        circumstance_timeline(
            benefits.tables, ctx.registry.recipients, ctx.model.circumstance_rules
        )
        .filter(pl.col("recipient_id") == ctx.case["recipient_id"])
        .sort("valid_from")
        .to_dicts()
    )
    rows: list[tuple[Any, ...]] = []
    words = {"income_ratio": "income_ratio", "disability_group": "disability_group",
             "is_idp": "idp_status"}  # fmt: skip
    for before, after in itertools.pairwise(timeline):
        changes = [
            f"{ctx.say(word)} {before.get(k)} → {after.get(k)}"
            for k, word in words.items()
            if before.get(k) != after.get(k)
        ]
        text = "; ".join(changes) or ctx.say("circumstances_change")
        rows.append((after["valid_from"], "circumstance", ctx.say("from_benefits", text=text)))
    return cause_rows(rows)


DEFAULT_CAUSES: tuple[CutCause, ...] = (
    CutCause("month", _months),
    CutCause("case", _case),
    CutCause("location", _locations),
    CutCause("parameter", _parameters),
    CutCause("territory_status", _statuses),
    CutCause("scenario", _scenario),
    CutCause("circumstance", _circumstances),
)


def boundary_causes(ctx: CaseContext, causes: Sequence[CutCause]) -> pl.DataFrame:
    """Per segment of `ctx.segments` (in order, `segment` = its position): the causes of the cut
    it starts at and of the cut it ends at (`start_causes`, `end_causes`: lists of sentences;
    `start_codes`, `end_codes`: the cause codes). A cut no source explains is `unexplained`."""
    found = pl.concat([c.dates(ctx).select(list(CAUSE_SCHEMA)) for c in causes])
    seg = ctx.segments.with_row_index("segment").select(
        "segment",
        pl.col("hromada_code").cast(pl.String),
        start=pl.col("segment_from"),
        end=pl.col("segment_to") + _DAY,
    )
    out = seg.select("segment")
    for side in ("start", "end"):
        hits = (
            seg.select("segment", "hromada_code", date=side)
            .join(found, on="date", how="inner", suffix="_cause")
            .filter(
                pl.col("hromada_code_cause").is_null()
                | (pl.col("hromada_code_cause") == pl.col("hromada_code"))
            )
            .unique(["segment", "cause", "text"], maintain_order=True)
            .group_by("segment", maintain_order=True)
            .agg(pl.col("cause").alias(f"{side}_codes"), pl.col("text").alias(f"{side}_causes"))
        )
        out = out.join(hits, on="segment", how="left", maintain_order="left").with_columns(
            pl.col(f"{side}_codes").fill_null(pl.lit(["unexplained"])),
            pl.col(f"{side}_causes").fill_null(pl.lit([ctx.say("unexplained")])),
        )
    return out
