"""Who uses which service, for how long, and how long they wait: the generator's assumptions as data.

Shares and durations are plausible orders of magnitude for Ukrainian community social services, not
statistics: home care dominates, counselling and information are short and frequent, stationary care
and supported living are long, early intervention serves children under 4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

__all__ = ["PEOPLE", "SECONDARY_POOLS", "PeopleProfile", "service_profiles"]


@dataclass(frozen=True)
class PeopleProfile:
    """Demographics of the people a service serves."""

    age_min: float  # years at the start of the case
    age_max: float
    age_shape: str  # "uniform" or "elderly" (60 + gamma tail)
    female: float  # share of women
    disability: dict[str, float]  # disability group -> share
    income_median: float  # median income ratio (income / subsistence minimum)
    income_sigma: float  # log-normal spread


PEOPLE: dict[str, PeopleProfile] = {
    "infant": PeopleProfile(0.1, 3.9, "uniform", 0.45, {"child": 0.55, "none": 0.45}, 1.4, 0.5),
    "child": PeopleProfile(3.0, 17.5, "uniform", 0.45, {"child": 0.65, "none": 0.35}, 1.5, 0.55),
    "family": PeopleProfile(
        20.0, 50.0, "uniform", 0.8, {"none": 0.9, "III": 0.05, "II": 0.05}, 1.6, 0.6
    ),
    "adult": PeopleProfile(
        18.0, 70.0, "uniform", 0.5, {"none": 0.75, "III": 0.12, "II": 0.1, "I": 0.03}, 1.9, 0.65
    ),
    "disabled_adult": PeopleProfile(
        18.0, 70.0, "uniform", 0.45, {"I": 0.25, "II": 0.5, "III": 0.25}, 1.5, 0.5
    ),
    "elderly": PeopleProfile(
        60.0, 98.0, "elderly", 0.7, {"none": 0.35, "III": 0.15, "II": 0.3, "I": 0.2}, 1.6, 0.45
    ),
}

# service_code: (share of cases, people, mean duration days, P(wait), mean wait days, IDP factor)
_SERVICES: dict[str, tuple[float, str, float, float, float, float]] = {
    "001.0": (6.0, "adult", 20, 0.0, 0, 1.5),
    "002.0": (9.0, "adult", 60, 0.02, 7, 1.5),
    "003.0": (1.0, "family", 45, 0.03, 10, 1.0),
    "004.0": (3.0, "family", 120, 0.03, 10, 1.0),
    "005.0": (1.5, "adult", 90, 0.03, 10, 1.2),
    "006.0": (5.0, "adult", 270, 0.05, 20, 1.5),
    "007.0": (4.0, "family", 365, 0.05, 20, 1.2),
    "008.0": (2.5, "disabled_adult", 180, 0.08, 30, 1.0),
    "009.0": (1.5, "adult", 180, 0.05, 20, 1.5),
    "010.0": (2.5, "disabled_adult", 180, 0.12, 40, 1.0),
    "011.0": (2.0, "disabled_adult", 365, 0.1, 30, 1.0),
    "012.0": (0.6, "disabled_adult", 365, 0.1, 30, 1.0),
    "013.0": (5.0, "elderly", 90, 0.05, 15, 3.0),
    "014.0": (2.5, "adult", 30, 0.0, 0, 2.5),
    "015.1": (22.0, "elderly", 900, 0.3, 60, 1.0),
    "015.2": (4.0, "elderly", 540, 0.15, 30, 1.0),
    "015.3": (2.0, "elderly", 120, 0.1, 10, 1.0),
    "016.0": (1.5, "disabled_adult", 900, 0.35, 120, 2.0),
    "017.1": (2.5, "elderly", 1200, 0.45, 180, 1.5),
    "017.2": (1.5, "disabled_adult", 1200, 0.45, 180, 1.5),
    "018.0": (0.5, "child", 1500, 0.1, 30, 1.0),
    "019.0": (1.0, "child", 21, 0.1, 20, 1.0),
    "020.1": (1.0, "adult", 90, 0.05, 7, 2.0),
    "020.2": (0.8, "family", 60, 0.02, 3, 1.2),
    "021.0": (3.0, "child", 300, 0.08, 30, 1.0),
    "022.0": (3.0, "infant", 400, 0.3, 45, 1.0),
    "023.0": (1.2, "disabled_adult", 150, 0.1, 30, 1.2),
}
_DEFAULT = (1.0, "adult", 180, 0.05, 20, 1.0)

# Second and third cases of a person come from services that fit the same kind of person.
SECONDARY_POOLS: dict[str, tuple[str, ...]] = {
    "infant": ("019.0", "002.0"),
    "child": ("021.0", "019.0", "002.0", "008.0"),
    "family": ("002.0", "004.0", "007.0", "013.0", "003.0", "014.0"),
    "adult": ("001.0", "002.0", "006.0", "013.0", "014.0", "009.0", "005.0"),
    "disabled_adult": ("008.0", "010.0", "011.0", "012.0", "016.0", "023.0", "002.0", "015.1"),
    "elderly": ("015.1", "015.2", "013.0", "015.3", "017.1", "001.0", "002.0", "011.0"),
}


def service_profiles(services: pl.DataFrame) -> pl.DataFrame:
    """One row per catalogue service with its generation profile (unknown codes get a default).

    Columns: service_code, unit, weight, people, mean_days, wait_prob, wait_days, idp_factor.
    """
    codes = services["service_code"].to_list()
    rows = [_SERVICES.get(code, _DEFAULT) for code in codes]
    arr = list(zip(*rows, strict=True))
    return pl.DataFrame(
        {
            "service_code": codes,
            "unit": services["unit"].to_list(),
            "weight": np.asarray(arr[0], dtype=np.float64),
            "people": list(arr[1]),
            "mean_days": np.asarray(arr[2], dtype=np.float64),
            "wait_prob": np.asarray(arr[3], dtype=np.float64),
            "wait_days": np.asarray(arr[4], dtype=np.float64),
            "idp_factor": np.asarray(arr[5], dtype=np.float64),
        }
    )
