"""The report's IDP host burden section from dated circumstances."""

from __future__ import annotations

import pytest
from benefit_cases import REPO, territories_fixture  # noqa: F401 (fixtures)

import engine
from engine.benefits import read_benefits, with_benefits
from engine.report import ReportData
from engine.report._build import report_sections


@pytest.fixture(scope="module")
def burden():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MFR_PSEUDONYM_KEY", "a key")
        registry = engine.read_registry(REPO / "data_samples" / "registry")
        benefits = read_benefits(
            REPO / "data_samples" / "benefits", registry, REPO / "data_samples/registry"
        )
    model = engine.load_funding_model(REPO / "models" / "funding" / "baseline")
    ent = engine.compute_entitlements(
        with_benefits(registry, benefits),
        model,
        engine.load_territories(),
        months=("2026-01", "2026-10"),
    )
    return ent.idp_burden


def test_the_report_has_an_idp_section_only_with_a_benefits_extract(burden) -> None:
    territories = engine.load_territories()
    titles = [
        s.title
        for s in report_sections(ReportData(idp_burden=burden, territories=territories), lang="en")
    ]
    assert "IDP host burden" in titles
    plain = [s.title for s in report_sections(ReportData(territories=territories), lang="en")]
    assert "IDP host burden" not in plain


def test_hromadas_with_few_idps_are_not_listed(burden) -> None:
    territories = engine.load_territories()
    section = next(
        s
        for s in report_sections(
            ReportData(idp_burden=burden, territories=territories), min_count=5
        )
        if s.title in ("IDP host burden", "Навантаження громад, що приймають ВПО")
    )
    for line in section.table.values():
        assert int(line.split(" IDPs")[0]) >= 5
    everyone = next(
        s
        for s in report_sections(
            ReportData(idp_burden=burden, territories=territories), min_count=1
        )
        if s.title in ("IDP host burden", "Навантаження громад, що приймають ВПО")
    )
    assert len(everyone.table) >= len(section.table)
