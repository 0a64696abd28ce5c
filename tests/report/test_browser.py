"""Open the report in headless Chromium: every figure renders to SVG, no console errors.

Needs the Debian package `chromium` (at /usr/bin/chromium); skipped with a reason when absent.
The browser gets no network at all, so a figure that renders proves the file is self-contained.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import report_kit

from engine.report import build_report

pytestmark = pytest.mark.browser

_CAPTURE = """<script>
window.__errors = [];
(function () {
  const original = console.error.bind(console);
  console.error = function (...args) { window.__errors.push(args.map(String).join(" ")); original(...args); };
  window.addEventListener("error", (e) => window.__errors.push("uncaught: " + e.message));
  window.addEventListener("unhandledrejection", (e) => window.__errors.push("rejection: " + e.reason));
  window.addEventListener("load", () => setTimeout(() => {
    const pre = document.createElement("pre");
    pre.id = "console-errors";
    pre.textContent = JSON.stringify(window.__errors);
    document.body.appendChild(pre);
  }, 1500));
})();
</script>"""


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.access("/usr/bin/chromium", os.X_OK):
        found = "/usr/bin/chromium"
    return found


def _render(chromium: str, page: Path, profile: Path) -> tuple[str, str]:
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # no network: the file must stand alone
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,2000",
            "--virtual-time-budget=15000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, result.stderr


def _open_in_chromium(doc: str, tmp_path: Path) -> list[str]:
    """Render `doc` headless; return the figure divs found. Fails on a blank figure or an error."""
    chromium = _chromium()
    if chromium is None:
        pytest.skip("headless Chromium not installed (Debian: apt-get install chromium)")
    page = tmp_path / "page.html"
    # error capture goes first in <head>, before plotly.js, so nothing escapes it
    page.write_text(doc.replace("<head>", "<head>\n" + _CAPTURE, 1), encoding="utf-8")
    dom, log = _render(chromium, page, tmp_path / "profile")

    starts = [m.start() for m in re.finditer(r'<div id="fig-\d+-\d+"', dom)]
    assert len(starts) == doc.count('<div id="fig-'), "a figure div went missing"
    ends = [*starts[1:], len(dom)]
    figures = [dom[s:e] for s, e in zip(starts, ends, strict=True)]
    blank = [f[:30] for f in figures if "main-svg" not in f]
    assert not blank, f"figures without SVG: {blank}"

    found = re.search(r'<pre id="console-errors">(.*?)</pre>', dom, re.S)
    assert found, "the page never finished loading"
    errors = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    uncaught = [line for line in log.splitlines() if "CONSOLE" in line and "Uncaught" in line]
    assert errors == [] and uncaught == [], (errors, uncaught)
    return figures


def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    figures = _open_in_chromium(build_report(report_kit.make_report_data()), tmp_path)
    assert len(figures) == 18


def test_nightly_run_report_renders_offline(tmp_path: Path, sample_nightly) -> None:
    """`mfr run pipelines/nightly.yaml` writes a report whose every figure renders offline (the
    report of the session's sample nightly, tests/conftest.py)."""
    if _chromium() is None:
        pytest.skip("headless Chromium not installed (Debian: apt-get install chromium)")
    report = sample_nightly.store.parent / "runs" / sample_nightly.run_id / "report.html"
    doc = report.read_text(encoding="utf-8")
    assert '<script src="http' not in doc
    figures = _open_in_chromium(doc, tmp_path)
    # headline, bars, 2 tile maps, hromadas, Sankey, trend, allocation ×2, quarantine
    assert len(figures) >= 10
