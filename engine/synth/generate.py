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
from engine.synth._cases import OPEN, CaseDraw, draw_cases
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


def _status(cases: CaseDraw, ex: int) -> np.ndarray:
    closed = cases.end != OPEN
    waiting = ~closed & (cases.wait_end > ex)
    return np.where(closed, "closed", np.where(waiting, "waiting", "served"))


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
        n_recipients,
        _IDP_SHARE,
        rng_r,
        hs,
        ex,
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
            "sex": np.where(cases.female, "F", "M"),
            "disability_group": cases.disability,
            "is_idp": res.is_idp,
            "registered_hromada": codes.gather(res.registered),
            "income_ratio": pl.Series(cases.income, nan_to_null=True),
        }
    )
    frames = {
        "recipients": recipients,
        "cases": _cases_frame(cases, recipient_ids, profiles["service_code"], ex),
        "providers": providers.table,
        "services": services.select(list(REGISTRY_TABLES["services"].to_schema().columns)),
        "territory_status": facts.status,
    }
    frames["case_locations"] = _locations_frame(cases, locations, providers, codes)
    frames["cases"] = frames["cases"].drop("_rank")
    return {name: frames[name] for name in REGISTRY_TABLES}


def _case_rank(cases: CaseDraw) -> np.ndarray:
    """Case ids are issued in order of start date, as a registry does."""
    order = np.lexsort((cases.service, cases.rec, cases.start))
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return rank


def _cases_frame(
    cases: CaseDraw, recipient_ids: pl.Series, service_codes: pl.Series, ex: int
) -> pl.DataFrame:
    rank = _case_rank(cases)
    open_ = cases.end == OPEN
    frame = pl.DataFrame(
        {
            "_rank": rank,
            "recipient_id": recipient_ids.gather(cases.rec),
            "service_code": service_codes.gather(cases.service),
            "need_level": cases.need.astype(np.int64),
            "assessed_units": pl.Series(cases.assessed, nan_to_null=True),
            "start_date": to_date_series("start_date", cases.start),
            "end_date": to_date_series("end_date", np.where(open_, 0, cases.end), open_),
            "status": _status(cases, ex),
        }
    ).sort("_rank")
    return frame.select(
        _ids("C", frame.height, 9).alias("case_id"), pl.all()
    )


def _locations_frame(
    cases: CaseDraw, loc: LocationDraw, providers: ProviderIndex, codes: pl.Series
) -> pl.DataFrame:
    rank = _case_rank(cases)[loc.case]
    order = np.lexsort((loc.valid_from, rank))
    rank = rank[order]
    provider = loc.provider[order]
    open_ = loc.valid_to[order] == OPEN
    provider_ids = providers.table["provider_id"].gather(np.maximum(provider, 0))
    return pl.DataFrame(
        {
            "case_id": _id_series("C", cases.start.size, 9).gather(rank),
            "hromada_code": codes.gather(loc.hromada[order]),
            "provider_id": pl.select(
                pl.when(pl.Series(provider < 0)).then(None).otherwise(provider_ids).alias("p")
            )["p"],
            "valid_from": to_date_series("valid_from", loc.valid_from[order]),
            "valid_to": to_date_series("valid_to", np.where(open_, 0, loc.valid_to[order]), open_),
        }
    )
