"""The reports planners open, measured in headless Chromium at 1400 and 900 px wide.

The nightly, the planning and the pilot spec run on the bundled sample; each report is opened at both widths
and measured from the rendered page (`browser_kit.inspect_report`): no two labels overlap, no label
spills out of its tile or its figure, no section or figure is empty, the page is not wider than the
window, the whole report is in one language. With `MFR_SCREENS=DIR` every section is also saved as a
PNG (`DIR/<spec>-<width>-<nn>-<section>.png`) to be looked at.

Needs the Debian package `chromium`; skipped with a reason when it is absent.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import browser_kit
import pytest

pytestmark = pytest.mark.browser

WIDTHS = (1400, 900)


@pytest.fixture(scope="module")
def reports(
    tmp_path_factory: pytest.TempPathFactory, repo_root: Path, sample_nightly
) -> dict[str, Path]:
    """The report of a nightly (the session's sample nightly, tests/conftest.py), of a planning
    and of a pilot run on the sample, written as `mfr run` does."""
    if browser_kit.chromium() is None:
        pytest.skip("headless Chromium not installed (Debian: apt-get install chromium)")
    from engine.cli import main

    root = tmp_path_factory.mktemp("runs")
    out = {"nightly": sample_nightly.store.parent / "runs" / sample_nightly.run_id / "report.html"}
    for name in ("planning-2027", "pilot-2026"):
        spec = (repo_root / "pipelines" / f"{name}.yaml").read_text(encoding="utf-8")
        spec = spec.replace(f"name: {name}", f"name: {name}\nroot: {repo_root}", 1)
        spec = re.sub(r"(\s)out/", rf"\g<1>{root}/out/", spec)
        (root / f"{name}.yaml").write_text(spec, encoding="utf-8")
        assert main(["run", str(root / f"{name}.yaml")]) == 0
        (report,) = (root / "out" / "runs").glob(f"*-{name}-*/report.html")
        out[name] = report
    return out


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("spec", ["nightly", "planning-2027", "pilot-2026"])
def test_report_reads_cleanly_in_a_browser(
    reports: dict[str, Path], spec: str, width: int, tmp_path: Path
) -> None:
    with browser_kit.open_page(reports[spec], tmp_path / "profile", width=width) as page:
        found = browser_kit.inspect_report(page)
        screens = os.environ.get("MFR_SCREENS")
        if screens:
            browser_kit.screenshot_sections(page, found, Path(screens), f"{spec}-{width}")
    assert browser_kit.problems(found) == []
    assert found["lang"] == "uk"
    titles = [s["title"] for s in found["sections"]]
    figures = sum(len(s["figures"]) for s in found["sections"])
    if spec == "nightly":
        assert titles[0] == "Головні показники" and figures >= 12
    elif spec == "pilot-2026":  # the spec's pilot, from the run's pilot step
        assert "Моніторинг пілоту" in titles
    else:  # a planning run opens with its budget and computes no entitlements
        assert titles[0] == "Бюджет плану" and "Головні показники" not in titles
        assert any("Хто виграє" in t for t in titles)


_BROKEN = """<!DOCTYPE html><html lang="uk"><head><meta charset="utf-8">
<script>{plotly}</script></head><body><main>
<section id="a"><h2>Overlap</h2><div id="fig-0-0" class="js-plotly-plot-host"></div></section>
<section id="b"><h2>Empty</h2><p class="empty">This run computed nothing.</p></section>
</main><script>
Plotly.newPlot("fig-0-0", [{{type: "bar", x: ["a", "b"], y: [1, 2]}}], {{
  width: 400, height: 300,
  annotations: [{{text: "one label", x: 0.5, y: 1.5, showarrow: false}},
                {{text: "another label", x: 0.55, y: 1.5, showarrow: false}}]}});
</script></body></html>"""


def test_the_check_fails_on_overlapping_labels_and_empty_sections(tmp_path: Path) -> None:
    """The measurement can fail: two annotations drawn on top of each other and a section with
    nothing in it are both reported."""
    if browser_kit.chromium() is None:
        pytest.skip("headless Chromium not installed (Debian: apt-get install chromium)")
    from plotly.offline import get_plotlyjs

    page = tmp_path / "broken.html"
    page.write_text(_BROKEN.format(plotly=get_plotlyjs()), encoding="utf-8")
    with browser_kit.open_page(page, tmp_path / "profile", width=900) as tab:
        found = browser_kit.inspect_report(tab)
    problems = browser_kit.problems(found)
    assert any("labels overlap" in p and "one label" in p for p in problems), problems
    assert any("'Empty' is empty" in p for p in problems), problems
