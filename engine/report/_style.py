"""One look for every figure: template, colours, number formats."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["COLORS", "finish", "is_share", "wrap_title"]

_TITLE_WIDTH = 72  # characters of a title line: about 800 px at the title's size

COLORS = {
    "served": "#1f6fb2",
    "waiting": "#d1495b",
    "allocated": "#2a9d8f",
    "shortfall": "#e76f51",
    "forecast": "#1f6fb2",
    "history": "#333333",
    "band80": "rgba(31,111,178,0.30)",
    "band95": "rgba(31,111,178,0.15)",
    "gain": "#2a9d8f",
    "loss": "#d1495b",
}


def _template() -> Any:
    """The plotly_white template object: given as an object, a figure takes it without looking it
    up and building it again from its name (about half of a small figure's making)."""
    import plotly.io as pio

    return pio.templates["plotly_white"]


def finish(fig: go.Figure, title: str, **layout: Any) -> go.Figure:
    """Apply the shared layout; keyword arguments override it (a `margin` or `legend` given is
    merged into the shared one)."""
    lines = wrap_title(title)
    base: dict[str, Any] = {
        "title": {"text": "<br>".join(lines), "x": 0.01, "xanchor": "left"},
        "template": _template(),
        "font": {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12},
        "margin": {"l": 60, "r": 30, "t": 60, "b": 50},
        "legend": {"orientation": "h", "y": -0.15, "traceorder": "normal"},
    }
    for key in ("margin", "legend"):
        base[key] = {**base[key], **layout.pop(key, {})}
    base["margin"]["t"] += 20 * (len(lines) - 1)
    fig.update_layout(**base, **layout)
    return fig


def wrap_title(title: str, width: int = _TITLE_WIDTH) -> list[str]:
    """A long title on several lines of at most `width` characters (plotly does not wrap), so it
    stays inside a figure 900 px wide.

    >>> wrap_title("a b c", width=3)
    ['a b', 'c']
    """
    lines: list[str] = []
    for word in title.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def is_share(column: str) -> bool:
    """Columns holding a ratio in [0, 1] are shown as percentages."""
    return any(word in column for word in ("coverage", "share", "ratio"))
