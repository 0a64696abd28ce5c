"""`generate_registry`: a synthetic registry extract with realistic structure, at any scale.

Everything is drawn as whole numpy arrays (loops run over a handful of categories, never over people
or cases), so a million recipients take seconds. Each part draws from its own child of the seed, so
the same seed always gives the same extract.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from engine.schemas import REGISTRY_TABLES
from engine.synth._calendar import days, to_date_series
from engine.synth._cases import DISABILITY, OPEN, CaseDraw, draw_cases
from engine.synth._locations import LocationDraw, draw_locations
from engine.synth._names import INITIALS, SURNAMES
from engine.synth._people import residences
from engine.synth._profiles import service_profiles
from engine.synth._providers import ProviderIndex, make_providers
from engine.synth._territory import territory_statuses

__all__ = ["DEFAULT_EXTRACT_DATE", "DEFAULT_HISTORY_START", "generate_registry"]

DEFAULT_HISTORY_START = dt.date(2021, 1, 1)
DEFAULT_EXTRACT_DATE = dt.date(2026, 10, 31)
_IDP_SHARE = 0.12  # IDPs are ~9% of the population and over-represented among recipients


def _ids(prefix: str, n: int, width: int) -> pl.Expr:
    """Sequential identifiers: prefix + zero-padded 1..n."""
    return pl.concat_str(pl.lit(prefix), pl.int_range(1, n + 1).cast(pl.String).str.zfill(width))


def _id_series(prefix: str, n: int, width: int) -> pl.Series:
    return pl.select(_ids(prefix, n, width).alias("id"))["id"]


def _load(res_home: np.ndarray, cases: CaseDraw, n_hromadas: int) -> np.ndarray:
    """Cases living in each hromada over the history (for sizing providers)."""
    homes = res_home[:, cases.rec].ravel()
    return np.bincount(homes[homes >= 0], minlength=n_hromadas)


def _labels(labels: tuple[str, ...], codes: np.ndarray) -> pl.Series:
    """Strings from small integer codes (far faster than building numpy string arrays)."""
    return pl.Series(labels, dtype=pl.String).gather(codes)


def _status(cases: CaseDraw, ex: int) -> pl.Series:
    closed = cases.end != OPEN
    waiting = ~closed & (cases.wait_end > ex)
    return _labels(("served", "waiting", "closed"), np.where(closed, 2, waiting.astype(np.int64)))


def generate_registry(
    n_recipients: int,
    seed: int = 0,
    *,
    history_start: dt.date = DEFAULT_HISTORY_START,
    extract_date: dt.date = DEFAULT_EXTRACT_DATE,
    territories: pl.DataFrame | None = None,
    services: pl.DataFrame | None = None,
) -> dict[str, pl.DataFrame]:
    """The six registry tables of a synthetic extract, typed as the `engine.schemas` models.

    Deterministic for a seed. `territories` and `services` default to the bundled reference data.

    >>> tables = generate_registry(1_000, seed=7)
    >>> sorted(tables) == sorted(REGISTRY_TABLES)
    True
    """
    if n_recipients < 1:
        raise ValueError("n_recipients must be at least 1")
    if history_start >= extract_date:
        raise ValueError("history_start must be before extract_date")
    if territories is None or services is None:
        from engine.reference import load_services, load_territories

        territories = load_territories() if territories is None else territories
        services = load_services() if services is None else services

    hs, ex = days(history_start), days(extract_date)
    rng_t, rng_r, rng_c, rng_p, rng_l = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)
    )

    facts = territory_statuses(territories, rng_t, ex)
    res = residences(
        territories,
        facts.occupied_at_extract,
        facts.ever_frontline,
        n=n_recipients,
        idp_share=_IDP_SHARE,
        rng=rng_r,
        first_day=hs,
        extract_day=ex,
    )
    profiles = service_profiles(services)
    cases = draw_cases(profiles, res, rng_c, hs, ex)
    providers = make_providers(
        territories, _load(res.home, cases, territories.height), rng_p, SURNAMES, INITIALS
    )
    locations = draw_locations(cases, res, providers, rng_l, ex)

    codes = territories["hromada_code"]
    recipient_ids = _id_series("R", n_recipients, 8)
    recipients = pl.DataFrame(
        {
            "recipient_id": recipient_ids,
            "birth_date": to_date_series("birth_date", cases.birth),
            "sex": _labels(("M", "F"), cases.female.astype(np.int64)),
            "disability_group": _labels(DISABILITY, cases.disability),
            "is_idp": res.is_idp,
            "registered_hromada": codes.gather(res.registered),
            "income_ratio": pl.Series(cases.income, nan_to_null=True),
        }
    )
    order = _case_order(cases)
    case_ids = _id_series("C", order.size, 9)
    frames = {
        "recipients": recipients,
        "cases": _cases_frame(
            cases, order, case_ids, recipient_ids, service_codes=profiles["service_code"], ex=ex
        ),
        "case_locations": _locations_frame(order, case_ids, locations, providers, codes),
        "providers": providers.table,
        "services": services.select(list(REGISTRY_TABLES["services"].to_schema().columns)),
        "territory_status": facts.status,
    }
    return {name: frames[name] for name in REGISTRY_TABLES}


def _case_order(cases: CaseDraw) -> np.ndarray:
    """Case rows in the order ids are issued: by start date, as a registry does."""
    # one integer key (start, recipient, service) sorts faster than a three-key lexsort
    n_rec, n_svc = int(cases.rec.max()) + 1, int(cases.service.max()) + 1
    key = ((cases.start - cases.start.min()) * n_rec + cases.rec) * n_svc + cases.service
    return np.argsort(key)


def _cases_frame(
    cases: CaseDraw,
    order: np.ndarray,
    case_ids: pl.Series,
    recipient_ids: pl.Series,
    *,
    service_codes: pl.Series,
    ex: int,
) -> pl.DataFrame:
    end = cases.end[order]
    open_ = end == OPEN
    return pl.DataFrame(
        {
            "case_id": case_ids,
            "recipient_id": recipient_ids.gather(cases.rec[order]),
            "service_code": service_codes.gather(cases.service[order]),
            "need_level": cases.need[order].astype(np.int64),
            "assessed_units": pl.Series(cases.assessed[order], nan_to_null=True),
            "start_date": to_date_series("start_date", cases.start[order]),
            "end_date": to_date_series("end_date", np.where(open_, 0, end), open_),
            "status": _status(cases, ex).gather(order),
        }
    )


def _locations_frame(
    order: np.ndarray,
    case_ids: pl.Series,
    loc: LocationDraw,
    providers: ProviderIndex,
    codes: pl.Series,
) -> pl.DataFrame:
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    loc_rank = rank[loc.case]
    # rows come grouped by case row and sorted by date within a case: a stable sort keeps that
    by_id = np.argsort(loc_rank, kind="stable")
    provider = loc.provider[by_id]
    open_ = loc.valid_to[by_id] == OPEN
    provider_ids = providers.table["provider_id"].gather(np.maximum(provider, 0))
    return pl.DataFrame(
        {
            "case_id": case_ids.gather(loc_rank[by_id]),
            "hromada_code": codes.gather(loc.hromada[by_id]),
            "provider_id": pl.select(
                pl.when(pl.Series(provider < 0)).then(None).otherwise(provider_ids).alias("p")
            )["p"],
            "valid_from": to_date_series("valid_from", loc.valid_from[by_id]),
            "valid_to": to_date_series("valid_to", np.where(open_, 0, loc.valid_to[by_id]), open_),
        }
    )
