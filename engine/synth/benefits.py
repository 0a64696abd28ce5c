"""A synthetic benefits extract matching a synthetic registry's persons (`mfr generate --benefits`).

The registry's recipients get an `rnokpp` column (`add_personal_identifiers`: a valid 10-digit tax
number; about 2% have none and so cannot be matched), and the benefits system holds, per person:

- income declarations renewed yearly on the person's own anniversary, for the history, with the
  ratio drifting from year to year and the latest equal to the registry's `income_ratio`; about
  one person in ten stopped renewing a year or more before the extract (income unknown since);
- disability assessments: the registry's group, open-ended, from an assessment years back; about
  a fifth were reassessed during the history (a milder or no group before, from a mid-month date);
- IDP certificates for the registry's IDPs, issued in 2022 in the hromada where they are served,
  displaced from their registered hromada; about 8% cancelled (returned home) mid-month;
- assistance paid over the last 12 months: the IDP living allowance while a certificate holds, and
  low-income assistance for ratios below 1.

All drawn as whole numpy arrays (no loop per person); the same seed gives the same extract.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from engine.dates import epoch_days
from engine.synth.pii import add_personal_identifiers

__all__ = ["BENEFIT_TABLES", "add_benefits", "generate_benefits"]

BENEFIT_TABLES = (
    "income_declarations",
    "disability_assessments",
    "idp_certificates",
    "assistance_paid",
)
_FIRST_DECLARATION = dt.date(2020, 1, 1)


def _day(d: dt.date) -> int:
    return epoch_days(d)


def _dates(days: np.ndarray) -> pl.Series:
    return pl.Series(days.astype(np.int32)).cast(pl.Date)


def _declarations(people: pl.DataFrame, rng: np.random.Generator, ex: int) -> pl.DataFrame:
    """Yearly declarations of every person with a known income, the latest at the registry's ratio."""
    known = people.filter(pl.col("income_ratio").is_not_null())
    n = known.height
    first = _day(_FIRST_DECLARATION) + rng.integers(0, 365, n)
    stopped = rng.random(n) < 0.10  # stopped renewing: the last declaration ends long before
    last_start = first + 365 * ((ex - first) // 365)
    last_start = np.where(stopped, last_start - 365 * rng.integers(1, 3, n), last_start)
    years = np.maximum((last_start - first) // 365 + 1, 1).astype(np.int64)
    person = np.repeat(np.arange(n), years)
    k = np.arange(int(years.sum())) - np.repeat(np.cumsum(years) - years, years)
    start = first[person] + 365 * k
    back = (years[person] - 1 - k).astype(np.float64)  # 0 for the latest declaration
    ratio = known["income_ratio"].to_numpy()[person] * np.exp(
        -0.04 * back + 0.12 * np.sqrt(back) * rng.standard_normal(len(person))
    )
    return pl.DataFrame(
        {
            "rnokpp": known["rnokpp"].gather(pl.Series(person)),
            "period_from": _dates(start),
            "period_to": _dates(start + 364),
            "income_ratio": np.round(ratio, 2),
        }
    ).filter(pl.col("period_from") <= _dates(np.array([ex]))[0])


def _assessments(people: pl.DataFrame, rng: np.random.Generator, ex: int) -> pl.DataFrame:
    disabled = people.filter(pl.col("disability_group") != "none")
    n = disabled.height
    since = _day(dt.date(2012, 1, 1)) + rng.integers(0, 365 * 8, n)
    reassessed = rng.random(n) < 0.20
    on = _day(dt.date(2022, 1, 1)) + rng.integers(0, max(ex - _day(dt.date(2022, 1, 1)), 1), n)
    milder = {"I": "II", "II": "III", "III": "none", "child": "child"}
    group = disabled["disability_group"]
    before = group.replace_strict(milder, return_dtype=pl.String)
    current = pl.DataFrame(
        {
            "rnokpp": disabled["rnokpp"],
            "disability_group": group,
            "valid_from": _dates(np.where(reassessed, on, since)),
            "valid_to": pl.Series([None] * n, dtype=pl.Date),
        }
    )
    earlier = pl.DataFrame(
        {
            "rnokpp": disabled["rnokpp"],
            "disability_group": before,
            "valid_from": _dates(since),
            "valid_to": _dates(on - 1),
        }
    ).filter(
        pl.Series(reassessed)
        & (pl.col("disability_group") != "none")
        & (pl.col("valid_from") < pl.col("valid_to"))
    )
    return pl.concat([earlier, current]).sort("rnokpp", "valid_from")


def _certificates(
    people: pl.DataFrame, hosts: pl.DataFrame, rng: np.random.Generator, ex: int
) -> pl.DataFrame:
    idps = people.filter(pl.col("is_idp")).join(hosts, on="recipient_id", how="left")
    n = idps.height
    issued = _day(dt.date(2022, 3, 1)) + rng.integers(0, 300, n)
    cancelled = issued + rng.integers(180, max(ex - int(issued.min()) if n else 181, 181), n)
    cancel = (rng.random(n) < 0.08) & (cancelled <= ex)
    return pl.DataFrame(
        {
            "rnokpp": idps["rnokpp"],
            "issued": _dates(issued),
            "cancelled": pl.select(
                pl.when(pl.Series(cancel)).then(pl.lit(_dates(cancelled)))
            ).to_series(),
            "hromada_code": idps.select(pl.coalesce("host", "registered_hromada")).to_series(),
            "origin_hromada": idps["registered_hromada"],
        }
    )


def _assistance(
    people: pl.DataFrame, certificates: pl.DataFrame, extract_date: dt.date
) -> pl.DataFrame:
    months = (
        pl.date_range(
            extract_date.replace(day=1) - dt.timedelta(days=330), extract_date, "1mo", eager=True
        )
        .dt.month_start()
        .unique()
        .sort()
    )
    grid = pl.DataFrame({"month": months})
    idp = (
        certificates.join(grid, how="cross")
        .filter(
            (pl.col("month") >= pl.col("issued").dt.month_start())
            & (pl.col("cancelled").is_null() | (pl.col("month") < pl.col("cancelled")))
        )
        .select(
            "rnokpp",
            programme=pl.lit("idp_living_allowance"),
            month="month",
            amount_uah=pl.lit(2000.0),
        )
    )
    poor = (
        people.filter(pl.col("income_ratio") < 1)
        .join(grid, how="cross")
        .select(
            "rnokpp",
            programme=pl.lit("low_income_assistance"),
            month="month",
            amount_uah=((1 - pl.col("income_ratio")) * 2920.0).round(2),
        )
    )
    return pl.concat([idp, poor])


def generate_benefits(
    tables: dict[str, pl.DataFrame], seed: int = 0, *, extract_date: dt.date
) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    """The registry's recipients with an `rnokpp` column, and the benefits tables of the same
    persons (keyed by `rnokpp`), from a synthetic registry's tables (`generate_registry`).

    >>> from engine.synth import generate_registry
    >>> import datetime as dt
    >>> tables = generate_registry(500, seed=3)
    >>> recipients, benefits = generate_benefits(tables, 3, extract_date=dt.date(2026, 10, 31))
    >>> sorted(benefits) == sorted(BENEFIT_TABLES), "rnokpp" in recipients.columns
    (True, True)
    """
    rng_d, rng_a, rng_c = (
        np.random.default_rng(s) for s in np.random.SeedSequence([seed, 15]).spawn(3)
    )
    recipients = tables["recipients"]
    if "rnokpp" not in recipients.columns:  # a registry extract that has them keeps its own
        recipients = add_personal_identifiers(recipients, seed, as_of=extract_date).drop(
            "full_name", "phone", "passport"
        )
    people = recipients.filter(pl.col("rnokpp").is_not_null())
    ex = _day(extract_date)
    first_location = (
        tables["case_locations"]
        .join(tables["cases"].select("case_id", "recipient_id"), on="case_id")
        .sort("valid_from")
        .group_by("recipient_id", maintain_order=True)
        .agg(host=pl.col("hromada_code").first())
    )
    certificates = _certificates(people, first_location, rng_c, ex)
    benefits = {
        "income_declarations": _declarations(people, rng_d, ex),
        "disability_assessments": _assessments(people, rng_a, ex),
        "idp_certificates": certificates,
        "assistance_paid": _assistance(people, certificates, extract_date),
    }
    return recipients, benefits


def add_benefits(
    tables: dict[str, pl.DataFrame], seed: int = 0, *, extract_date: dt.date
) -> dict[str, pl.DataFrame]:
    """The registry tables (recipients with `rnokpp`) and the benefits tables, to be written as one
    extract folder: the registry's reader reads its six tables (dropping `rnokpp` at the door),
    `engine.benefits.read_benefits` the benefits tables."""
    recipients, benefits = generate_benefits(tables, seed, extract_date=extract_date)
    return {**tables, "recipients": recipients, **benefits}
