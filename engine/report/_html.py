"""Assemble figures into one self-contained HTML file: plotly.js inlined once, no network needed."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["Section", "render_html"]

_CONFIG = {"displaylogo": False, "responsive": True}

_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 0;
       color: #222; background: #f6f7f9; }
header { background: #0b3d91; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px 0; font-size: 22px; }
header p { margin: 0; opacity: 0.85; }
nav { padding: 8px 32px; background: #fff; border-bottom: 1px solid #ddd; font-size: 13px; }
nav a { margin-right: 14px; color: #0b3d91; text-decoration: none; }
main { padding: 8px 32px 40px; max-width: 1280px; }
@media (max-width: 1000px) { main { padding: 8px 12px 32px; } header, nav { padding-left: 12px; } }
section { background: #fff; border: 1px solid #e2e4e8; border-radius: 6px; margin: 18px 0;
          padding: 12px 18px; }
section h2 { font-size: 18px; margin: 4px 0 6px; }
section p.note { color: #555; font-size: 13px; margin: 0 0 8px; }
table.meta { border-collapse: collapse; font-size: 13px; }
table.meta td { padding: 2px 12px 2px 0; vertical-align: top; }
table.meta td:first-child { color: #666; }
.empty { color: #888; font-style: italic; }
footer { color: #777; font-size: 12px; padding: 0 32px 24px; }
"""


@dataclass(frozen=True)
class Section:
    """A titled part of the report: a note, then figures (or a line saying why there are none)."""

    title: str
    figures: Sequence[go.Figure] = ()
    note: str = ""
    empty: str = ""
    table: Mapping[str, Any] = field(default_factory=dict)

    @property
    def anchor(self) -> str:
        return "".join(ch if ch.isalnum() else "-" for ch in self.title.lower()).strip("-")


def _meta_table(rows: Mapping[str, Any]) -> str:
    cells = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in rows.items()
    )
    return f'<table class="meta">{cells}</table>'


def render_html(
    title: str,
    sections: Sequence[Section],
    *,
    subtitle: str = "",
    footer: str = "",
    lang: str = "uk",
) -> str:
    """One HTML document holding every section; plotly.js is inlined in the head exactly once.

    The file opens offline: no `<script src>`, no fonts or styles fetched from the network.
    """
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    body: list[str] = []
    for i, section in enumerate(sections):
        parts = [f'<section id="{section.anchor}"><h2>{html.escape(section.title)}</h2>']
        if section.note:
            parts.append(f'<p class="note">{html.escape(section.note)}</p>')
        if section.table:
            parts.append(_meta_table(section.table))
        for j, fig in enumerate(section.figures):
            parts.append(
                pio.to_html(
                    fig,
                    include_plotlyjs=False,
                    full_html=False,
                    config=_CONFIG,
                    div_id=f"fig-{i}-{j}",
                    default_height=f"{fig.layout.height or 450}px",
                )
            )
        if not section.figures and section.empty:
            parts.append(f'<p class="empty">{html.escape(section.empty)}</p>')
        parts.append("</section>")
        body.append("\n".join(parts))
    nav = "".join(f'<a href="#{s.anchor}">{html.escape(s.title)}</a>' for s in sections)
    return f"""<!DOCTYPE html>
<html lang="{html.escape(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{_CSS}</style>
<script type="text/javascript">window.PlotlyConfig = {{MathJaxConfig: 'local'}};</script>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>
<body>
<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>
<nav>{nav}</nav>
<main>
{"".join(body)}
</main>
<footer>{html.escape(footer)}</footer>
</body>
</html>
"""
