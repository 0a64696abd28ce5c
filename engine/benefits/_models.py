"""The pandera (polars backend) models of a benefits extract: the typed contract after ingestion.

Every table is keyed by `person_key`: the person's РНОКПП replaced at the door by HMAC-SHA256 keyed
with `$MFR_PSEUDONYM_KEY` (the same mapping the registry's recipients get), so the two extracts join
and no tax number passes. Dates are inclusive; an empty end date is open.
"""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa

from engine._codes import DISABILITY_GROUPS

__all__ = [
    "BENEFITS_TABLES",
    "END_DATES",
    "PERIODS",
    "AssistancePaid",
    "DisabilityAssessments",
    "IdpCertificates",
    "IncomeDeclarations",
]

_KATOTTG = r"^UA\d{17}$"
_PSEUDONYM = r"^[0-9a-f]{64}$"


class IncomeDeclarations(pa.DataFrameModel):
    """A declaration of income for a period: the ratio, or the income and the subsistence minimum
    it is divided by (both may be given; they must agree)."""

    person_key: str = pa.Field(str_matches=_PSEUDONYM)
    period_from: dt.date
    period_to: dt.date
    average_income_uah: float = pa.Field(nullable=True, ge=0, le=10_000_000)
    subsistence_minimum_uah: float = pa.Field(nullable=True, gt=0, le=1_000_000)
    income_ratio: float = pa.Field(nullable=True, ge=0, le=100)


class DisabilityAssessments(pa.DataFrameModel):
    """A disability group established by an assessment, from a date until a reassessment date."""

    person_key: str = pa.Field(str_matches=_PSEUDONYM)
    disability_group: str = pa.Field(isin=list(DISABILITY_GROUPS))
    valid_from: dt.date
    valid_to: dt.date = pa.Field(nullable=True)


class IdpCertificates(pa.DataFrameModel):
    """An IDP certificate (довідка ВПО): issued, cancelled (empty while in force), the hromada
    where the person is registered as an IDP and, when known, the hromada displaced from."""

    person_key: str = pa.Field(str_matches=_PSEUDONYM)
    issued: dt.date
    cancelled: dt.date = pa.Field(nullable=True)
    hromada_code: str = pa.Field(str_matches=_KATOTTG)
    origin_hromada: str = pa.Field(nullable=True, str_matches=_KATOTTG)


class AssistancePaid(pa.DataFrameModel):
    """Assistance paid by programme and month: context only, it does not enter an entitlement."""

    person_key: str = pa.Field(str_matches=_PSEUDONYM)
    programme: str
    month: dt.date
    amount_uah: float = pa.Field(ge=0, le=10_000_000)


BENEFITS_TABLES: dict[str, type[pa.DataFrameModel]] = {
    "income_declarations": IncomeDeclarations,
    "disability_assessments": DisabilityAssessments,
    "idp_certificates": IdpCertificates,
    "assistance_paid": AssistancePaid,
}
# (start, end) of each dated table; an end date from 9000-01-01 on (9999-12-31) means open
PERIODS: dict[str, tuple[str, str]] = {
    "income_declarations": ("period_from", "period_to"),
    "disability_assessments": ("valid_from", "valid_to"),
    "idp_certificates": ("issued", "cancelled"),
}
END_DATES = {table: end for table, (_, end) in PERIODS.items()}
