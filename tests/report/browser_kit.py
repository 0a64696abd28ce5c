"""Headless Chromium driven over the DevTools protocol, with the standard library only.

Chromium's `--remote-debugging-pipe` speaks the protocol on file descriptors 3 (commands in) and 4
(replies out), one JSON message per NUL-terminated chunk: no WebSocket, no extra package. The
browser gets no network (`--host-resolver-rules`), so a page that renders is self-contained.

`open_page(...)` loads a report at a given width, waits until every plotly figure has drawn, and
returns a `Page` that can evaluate JavaScript and take a screenshot of any part of the page.
`inspect_report(page)` measures the rendered report: its sections, the figures in each, the
figures without data, and every pair of text labels that overlap (ticks, legends, titles,
annotations, heatmap cell labels), or that spill out of their heatmap cell or their figure.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # no network: the file must stand alone
)


def chromium() -> str | None:
    """The Chromium executable, or None when it is not installed."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.access("/usr/bin/chromium", os.X_OK):
        found = "/usr/bin/chromium"
    return found


class _Pipe:
    """The DevTools protocol over a pair of pipes: send a command, read until its reply."""

    def __init__(self, write_fd: int, read_fd: int) -> None:
        self._write, self._read = write_fd, read_fd
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []

    def send(
        self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None
    ) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._message(timeout=120)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_event(self, method: str, timeout: float) -> dict[str, Any]:
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            event = self._message(timeout=deadline - time.monotonic())
            if event.get("method") == method:
                return event
            self.events.append(event)

    def _message(self, timeout: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._read], [], [], max(timeout, 0.0))
            if not ready:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(raw))


@dataclass
class Page:
    """One open tab: evaluate JavaScript, take screenshots of parts of the page."""

    pipe: _Pipe
    session: str

    def evaluate(self, expression: str) -> Any:
        result = self.pipe.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            session=self.session,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, clip: dict[str, float], out: Path) -> Path:
        shot = self.pipe.send(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True, "clip": {**clip, "scale": 1}},
            session=self.session,
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(base64.b64decode(shot["data"]))
        return out


def _high_fd(fd: int) -> int:
    """The same pipe end on a descriptor above 10, so `3<&N 4>&M` in bash cannot clash."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


_RENDERED = """
new Promise((resolve) => {
  const started = Date.now();
  const check = () => {
    const plots = [...document.querySelectorAll('.js-plotly-plot')];
    const drawn = plots.every((p) => p.querySelector('.main-svg') && p._fullLayout);
    if ((drawn && document.readyState === 'complete') || Date.now() - started > 20000) {
      setTimeout(() => resolve(plots.length), 300);
    } else {
      setTimeout(check, 100);
    }
  };
  check();
})
"""


@contextlib.contextmanager
def open_page(page: Path, profile: Path, *, width: int, height: int = 1000) -> Iterator[Page]:
    """Open `page` in headless Chromium at `width` CSS pixels; yield it once every figure drew.

    Console errors and uncaught exceptions fail the page (`RuntimeError`)."""
    executable = chromium()
    if executable is None:
        raise FileNotFoundError("chromium")
    to_browser_r, to_browser_w = (_high_fd(fd) for fd in os.pipe())
    from_browser_r, from_browser_w = (_high_fd(fd) for fd in os.pipe())
    args = [*FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"]
    process = subprocess.Popen(
        [
            "/bin/bash",
            "-c",
            f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w}',
            executable,
            *args,
        ],
        pass_fds=(to_browser_r, from_browser_w),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(to_browser_r)
    os.close(from_browser_w)
    pipe = _Pipe(to_browser_w, from_browser_r)
    try:
        targets = pipe.send("Target.getTargets")["targetInfos"]
        target = next(t["targetId"] for t in targets if t["type"] == "page")
        session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log"):
            pipe.send(f"{domain}.enable", session=session)
        pipe.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        pipe.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
        pipe.wait_event("Page.loadEventFired", timeout=60)
        tab = Page(pipe, session)
        tab.evaluate(_RENDERED)
        errors = [
            e["params"]
            for e in pipe.events
            if e.get("method") == "Runtime.exceptionThrown"
            or (
                e.get("method") == "Runtime.consoleAPICalled" and e["params"].get("type") == "error"
            )
        ]
        if errors:
            raise RuntimeError(f"the page logged errors: {errors[:3]}")
        yield tab
    finally:
        with contextlib.suppress(Exception):
            pipe.send("Browser.close")
        os.close(to_browser_w)
        os.close(from_browser_r)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


_INSPECT = r"""
(() => {
  const box = (el) => { const r = el.getBoundingClientRect();
    return {x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height}; };
  const overlap = (a, b, slack) =>
    Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x) > slack &&
    Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y) > slack;
  const LABELS = ['.xtick text', '.ytick text', '.legendtext', '.gtitle', '.g-xtitle text',
    '.g-ytitle text', '.annotation-text', '.textpoint text', '.heatmaplayer text',
    '.cbtitle text', '.indicatorlayer text', '.bartext', '.sankey .node-label'];
  const sections = [...document.querySelectorAll('main > section')].map((s) => {
    const figures = [...s.querySelectorAll('.js-plotly-plot')].map((gd) => {
      const svg = gd.querySelector('.main-svg');
      const frame = box(gd);
      const data = (gd.data || []).filter((t) => t.visible !== false);
      const hasData = data.some((t) => ['x', 'y', 'z', 'values', 'labels', 'lon']
        .some((k) => t[k] && t[k].length) || t.value !== undefined
        || (t.cells && t.cells.values && t.cells.values.length)
        || (t.link && t.link.value && t.link.value.length));
      const texts = [...gd.querySelectorAll(LABELS.join(','))]
        .filter((el) => el.textContent.trim() && getComputedStyle(el).display !== 'none'
          && el.getAttribute('opacity') !== '0' && getComputedStyle(el).opacity !== '0')
        .map((el) => ({text: el.textContent.trim().slice(0, 60), box: box(el),
                       cls: (el.closest('[class]') || el).getAttribute('class') || ''}))
        .filter((t) => t.box.w > 0 && t.box.h > 0);
      const overlaps = [];
      for (let i = 0; i < texts.length; i++) {
        for (let j = i + 1; j < texts.length; j++) {
          if (overlap(texts[i].box, texts[j].box, 1.5)) {
            overlaps.push([texts[i].text, texts[j].text]);
          }
        }
      }
      const outside = texts.filter((t) => t.box.x < frame.x - 1 || t.box.y < frame.y - 1 ||
        t.box.x + t.box.w > frame.x + frame.w + 1 || t.box.y + t.box.h > frame.y + frame.h + 1)
        .map((t) => t.text);
      const spills = [];
      (gd._fullData || []).forEach((trace) => {
        if (trace.type !== 'heatmap' || !trace.z || !trace.z.length) return;
        const xa = gd._fullLayout[(trace.xaxis || 'x').replace('x', 'xaxis')];
        const ya = gd._fullLayout[(trace.yaxis || 'y').replace('y', 'yaxis')];
        if (!xa || !ya) return;
        const cellW = xa._length / trace.z[0].length, cellH = ya._length / trace.z.length;
        gd.querySelectorAll('.heatmaplayer text, .textpoint text').forEach((el) => {
          const r = el.getBoundingClientRect();
          if (el.textContent.trim() && (r.width > cellW + 1 || r.height > cellH + 1)) {
            spills.push(el.textContent.trim().slice(0, 40));
          }
        });
      });
      return {id: gd.id, title: (gd.querySelector('.gtitle') || {}).textContent || '',
              svg: !!svg, hasData, overlaps, outside, spills: [...new Set(spills)],
              labels: texts.length};
    });
    const table = s.querySelector('table');
    return {id: s.id, title: s.querySelector('h2').textContent, box: box(s), figures,
            empty: [...s.querySelectorAll('.empty')].map((e) => e.textContent),
            hasTable: !!(table && table.querySelectorAll('td').length)};
  });
  return {width: document.documentElement.scrollWidth, viewport: innerWidth,
          lang: document.documentElement.lang, sections};
})()
"""


def inspect_report(page: Page) -> dict[str, Any]:
    """What the rendered report shows, measured from the page (see the module docstring)."""
    return dict(page.evaluate(_INSPECT))


def problems(found: dict[str, Any]) -> list[str]:
    """Every defect a reader would see: overlapping or spilling labels, empty sections or
    figures, a page wider than the window."""
    out = []
    if found["width"] > found["viewport"] + 1:
        out.append(f"page is {found['width']} px wide in a {found['viewport']} px window")
    for section in found["sections"]:
        name = section["title"]
        if section["empty"] or not (section["figures"] or section["hasTable"]):
            out.append(f"section {name!r} is empty: {section['empty']}")
        for fig in section["figures"]:
            where = f"{name!r} / {fig['title'][:50]!r}"
            if not fig["svg"] or not fig["hasData"]:
                out.append(f"{where}: figure without data")
            if fig["overlaps"]:
                out.append(f"{where}: labels overlap {fig['overlaps'][:4]}")
            if fig["spills"]:
                out.append(f"{where}: labels wider than their tile {fig['spills'][:4]}")
            if fig["outside"]:
                out.append(f"{where}: labels outside the figure {fig['outside'][:4]}")
    return out


def screenshot_sections(
    page: Page, found: dict[str, Any], folder: Path, prefix: str, *, most: int = 1600
) -> list[Path]:
    """PNGs of every report section (`<prefix>-<nn>-<section id>.png`), cut at the section's
    edges; a section taller than `most` pixels is cut into parts (`...-<part>.png`) that stay
    readable at full size."""
    shots = []
    for i, section in enumerate(found["sections"]):
        b = section["box"]
        parts = max(1, -(-int(b["h"]) // most))
        for part in range(parts):
            top = b["y"] + part * most
            clip = {
                "x": b["x"],
                "y": top,
                "width": b["w"],
                "height": min(most, b["y"] + b["h"] - top),
            }
            suffix = f"-{part + 1}" if parts > 1 else ""
            name = f"{prefix}-{i:02d}-{section['id'][:40]}{suffix}.png"
            shots.append(page.screenshot(clip, folder / name))
    return shots
