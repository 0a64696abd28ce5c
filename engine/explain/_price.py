"""`price_case`: what a case that does not exist yet would be owed, month by month (the "household
calculator" of policy tools), baseline beside a scenario.

The case becomes a one-case registry (`engine.explain._case.frame_of`, the registry's own
contract) and is priced by `compute_entitlements`, the engine's pricing: an amount here is the
amount the same case would get inside an extract (a property test says so). Its explanation per
month is `explain_registry` on the same registry.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from engine.dates import add_months, month_range, month_start, parse_date
from engine.errors import ConfigError
from engine.explain._case import frame_of, registry_of
from engine.explain._explain import explain_registry
from engine.explain._result import Explanation, _jsonable, _records
from engine.explain._words import say
from engine.params import FundingModel
from engine.schemas import DISABILITY_GROUPS, Registry

__all__ = ["PricedCase", "parse_moves", "parse_statuses", "price_case"]

_CASE_ID = "NEW"
_DAY = dt.timedelta(days=1)
_AMOUNTS = ("gross_uah", "copay_uah", "state_uah")


def _date(value: str | dt.date, option: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return parse_date(value)
    except ValueError as exc:
        raise ConfigError(f"{option}: {exc}") from None


def parse_moves(text: str | Sequence[str]) -> list[tuple[str, dt.date]]:
    """Moves written `UA…@YYYY-MM-DD` (comma-separated or one per item).

    >>> parse_moves("UA63040010000010092@2025-03-17")
    [('UA63040010000010092', datetime.date(2025, 3, 17))]
    """
    items = [text] if isinstance(text, str) else list(text)
    out = []
    for item in (p.strip() for chunk in items for p in chunk.split(",") if p.strip()):
        hromada, at, day = item.partition("@")
        if not at:
            raise ConfigError(f"--moves: {item!r} is not HROMADA@YYYY-MM-DD")
        out.append((hromada.strip(), _date(day.strip(), "--moves")))
    return out


def parse_statuses(text: str | Sequence[str]) -> pl.DataFrame:
    """Territory statuses written `UA…:status@FROM[/TO]` (comma-separated or one per item)."""
    items = [text] if isinstance(text, str) else list(text)
    rows = []
    for item in (p.strip() for chunk in items for p in chunk.split(",") if p.strip()):
        hromada, colon, rest = item.partition(":")
        status, at, span = rest.partition("@")
        if not colon or not at:
            raise ConfigError(f"--status: {item!r} is not HROMADA:STATUS@YYYY-MM-DD[/YYYY-MM-DD]")
        start, _, end = span.partition("/")
        rows.append(
            {
                "hromada_code": hromada.strip(),
                "status": status.strip(),
                "valid_from": _date(start.strip(), "--status"),
                "valid_to": _date(end.strip(), "--status") if end.strip() else None,
            }
        )
    return frame_of("territory_status", rows).drop("source_line")


@dataclass(frozen=True, eq=False)
class PricedCase:
    """A hypothetical case priced month by month under a model and, optionally, a scenario.

    `amounts` has one row per (month, funded) with the baseline's gross, co-payment and state, the
    scenario's beside them and the difference (`state_diff_uah`); `explain(month)` gives the full
    explanation of one month.

    >>> case = price_case(service="017.1", need_level=2, hromada="UA05020010000053508",
    ...                   start="2024-03-01", until="2024-04-30")
    >>> case.amounts["gross_uah"].to_list()  # March reaches the monthly cap, April does not
    [Decimal('16185.16'), Decimal('15919.80')]
    """

    inputs: dict[str, Any]
    months: list[dt.date]
    registry: Registry
    model: FundingModel
    scenario: FundingModel | None
    baseline: pl.DataFrame
    alternative: pl.DataFrame | None
    territories: pl.DataFrame | None = None
    _cache: dict[tuple[str, dt.date, str], Explanation] = field(default_factory=dict, repr=False)

    @property
    def amounts(self) -> pl.DataFrame:
        keys = ["month", "funded"]
        base = self.baseline.select(*keys, "days", *_AMOUNTS)
        if self.alternative is None:
            return base
        other = self.alternative.select(*keys, *_AMOUNTS).rename(
            {c: f"scenario_{c}" for c in _AMOUNTS}
        )
        both = base.join(other, on=keys, how="full", coalesce=True).sort(keys)
        zero = pl.lit(0, dtype=pl.Decimal(18, 2))
        return both.with_columns(
            (pl.col("scenario_state_uah").fill_null(zero) - pl.col("state_uah").fill_null(zero))
            .cast(pl.Decimal(18, 2))
            .alias("state_diff_uah")
        )

    def explain(
        self, month: str | dt.date, *, scenario: bool = False, lang: str = "en"
    ) -> Explanation:
        """The explanation of one month (baseline, or the scenario with `scenario=True`), said in
        `lang` (`en`, `uk`)."""
        first = month_start(month) if isinstance(month, dt.date) else _date(f"{month}-01", "month")
        model = self.scenario if scenario else self.model
        if model is None:
            raise ConfigError("no scenario was priced")
        key = ("scenario" if scenario else "baseline", first, lang)
        if key not in self._cache:
            self._cache[key] = explain_registry(
                self.registry,
                model,
                first,
                territories=self.territories,
                source=say("source_new_case", lang),
                lang=lang,
            )
        return self._cache[key]

    def to_dict(self) -> dict[str, Any]:
        months = []
        for month in self.months:
            entry: dict[str, Any] = {"month": f"{month:%Y-%m}"}
            entry["baseline"] = self.explain(month).to_dict()
            if self.scenario is not None:
                entry["scenario"] = self.explain(month, scenario=True).to_dict()
            months.append(entry)
        return {
            "inputs": {k: _jsonable(v) for k, v in self.inputs.items()},
            "model": {"name": self.model.name, "version": self.model.version,
                      "hash": self.model.content_hash},
            "scenario": None if self.scenario is None else {
                "name": self.scenario.scenario, "version": self.scenario.version,
                "hash": self.scenario.content_hash},
            "amounts": _records(self.amounts),
            "months": months,
        }  # fmt: skip

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent, default=_jsonable)


def _check(
    services: pl.DataFrame,
    territories: pl.DataFrame,
    *,
    service: str,
    need_level: int,
    places: list[tuple[str, dt.date]],
    until: dt.date | None,
    income_ratio: float | None,
    disability: str,
) -> None:
    if service not in set(services["service_code"].to_list()):
        raise ConfigError(f"--service: unknown service {service!r} (not in the services catalogue)")
    if need_level not in (1, 2, 3):
        raise ConfigError(f"--need-level must be 1, 2 or 3, got {need_level}")
    known = set(territories["hromada_code"].to_list())
    for hromada, _ in places:
        if hromada not in known:
            raise ConfigError(f"unknown hromada {hromada!r} (not a KATOTTG hromada code)")
    for (_, before), (hromada, day) in itertools.pairwise(places):
        if day <= before:
            raise ConfigError(f"--moves: the move to {hromada} on {day} is not after {before}")
    if until is not None and until < places[-1][1]:
        raise ConfigError(f"--until {until} is before {places[-1][1]}")
    if income_ratio is not None and not 0 <= income_ratio <= 100:
        raise ConfigError(f"--income-ratio must lie in [0, 100], got {income_ratio}")
    if disability not in DISABILITY_GROUPS:
        raise ConfigError(
            f"--disability must be one of {', '.join(DISABILITY_GROUPS)}, got {disability!r}"
        )


def case_tables(
    *,
    service: str,
    need_level: int,
    places: list[tuple[str, dt.date]],
    until: dt.date | None,
    income_ratio: float | None,
    disability: str,
    assessed_units: float | None,
    waiting: bool,
    statuses: pl.DataFrame | None,
) -> dict[str, pl.DataFrame]:
    """The registry tables of the one new case: a location per place, a provider per location."""
    locations, providers = [], []
    for i, (hromada, day) in enumerate(places):
        end = places[i + 1][1] - _DAY if i + 1 < len(places) else until
        provider = None if waiting else f"NEW-P{i + 1}"
        locations.append(
            {"case_id": _CASE_ID, "hromada_code": hromada, "provider_id": provider,
             "valid_from": day, "valid_to": end}
        )  # fmt: skip
        if provider is not None:
            providers.append(
                {"provider_id": provider, "edrpou": None, "name": "new provider",
                 "ownership": "communal", "hromada_code": hromada}
            )  # fmt: skip
    recipient = {
        "recipient_id": "NEW-R", "birth_date": None, "sex": None, "disability_group": disability,
        "is_idp": False, "registered_hromada": places[0][0], "income_ratio": income_ratio,
    }  # fmt: skip
    case = {
        "case_id": _CASE_ID, "recipient_id": "NEW-R", "service_code": service,
        "need_level": need_level, "assessed_units": assessed_units, "start_date": places[0][1],
        "end_date": until, "status": "waiting" if waiting else "served",
    }  # fmt: skip
    wanted = {h for h, _ in places}
    status_rows = (
        pl.DataFrame(schema={"hromada_code": pl.String})
        if statuses is None
        else statuses.filter(pl.col("hromada_code").is_in(wanted))
    )
    return {
        "recipients": frame_of("recipients", [recipient]),
        "cases": frame_of("cases", [case]),
        "case_locations": frame_of("case_locations", locations),
        "providers": frame_of("providers", providers),
        "territory_status": frame_of("territory_status", status_rows),
    }


def price_case(
    *,
    service: str,
    need_level: int,
    hromada: str,
    start: str | dt.date,
    until: str | dt.date | None = None,
    moves: Sequence[tuple[str, str | dt.date]] | str = (),
    income_ratio: float | None = None,
    disability: str = "none",
    assessed_units: float | None = None,
    waiting: bool = False,
    model: FundingModel | str | Path = "models/funding/baseline",
    scenario: str | Path | None = None,
    statuses: pl.DataFrame | None = None,
    months: tuple[str | dt.date, str | dt.date] | None = None,
    territories: pl.DataFrame | None = None,
    services: pl.DataFrame | None = None,
) -> PricedCase:
    """Price a case that does not exist yet, month by month, through the engine's own pricing.

    `moves` are `(hromada, date)` pairs or `"UA…@YYYY-MM-DD, ..."`; `statuses` the territory
    statuses to apply (`hromada_code, status, valid_from, valid_to`, e.g. an extract's
    `territory_status`; default none). `months` defaults to the start month through `until`'s, or
    twelve months when open. Bad input is a one-line `ConfigError`.

    >>> case = price_case(service="015.1", need_level=2, hromada="UA05020010000053508",
    ...                   start="2025-03-01", until="2025-03-31")
    >>> case.amounts["state_uah"].to_list()
    [Decimal('3027.10')]
    """
    from engine.entitlements import compute_entitlements
    from engine.params import load_funding_model
    from engine.reference import load_services, load_territories
    from engine.scenarios import apply_scenario

    services = load_services() if services is None else services
    territories = load_territories() if territories is None else territories
    first = _date(start, "--from")
    last = None if until is None else _date(until, "--until")
    moved = (
        parse_moves(moves)
        if isinstance(moves, str)
        else [(h, _date(d, "--moves")) for h, d in moves]
    )
    places = [(hromada, first), *moved]
    _check(services, territories, service=service, need_level=need_level, places=places,
           until=last, income_ratio=income_ratio, disability=disability)  # fmt: skip
    if assessed_units is not None and assessed_units <= 0:
        raise ConfigError(f"--assessed-units must be positive, got {assessed_units}")
    base = (
        model if isinstance(model, FundingModel) else load_funding_model(model, services=services)
    )
    alternative = None if scenario is None else apply_scenario(base, scenario, services=services)
    if months is None:
        end_month = month_start(last) if last is not None else add_months(month_start(first), 11)
        span = month_range(first, end_month)
    else:
        span = month_range(*months)
    tables = case_tables(service=service, need_level=need_level, places=places, until=last,
                         income_ratio=income_ratio, disability=disability,
                         assessed_units=assessed_units, waiting=waiting, statuses=statuses)  # fmt: skip
    registry = registry_of(tables, services, extract_date=add_months(span[-1], 1) - _DAY)
    priced = [
        compute_entitlements(registry, m, territories, months=(span[0], span[-1]), segments=False)
        for m in (base, *(() if alternative is None else (alternative,)))
    ]
    inputs = {
        "service": service, "need_level": need_level, "hromada": hromada, "from": first,
        "until": last, "moves": [f"{h}@{d}" for h, d in moved], "income_ratio": income_ratio,
        "disability": disability, "assessed_units": assessed_units, "waiting": waiting,
    }  # fmt: skip
    return PricedCase(
        inputs=inputs,
        months=span,
        registry=registry,
        model=base,
        scenario=alternative,
        baseline=priced[0].case_months,
        alternative=priced[1].case_months if alternative is not None else None,
        territories=territories,
    )
