"""One look for every figure: template, colours, number formats."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["COLORS", "finish", "is_share"]

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


def finish(fig: go.Figure, title: str, **layout: Any) -> go.Figure:
    """Apply the shared layout; keyword arguments override it."""
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left"},
        template="plotly_white",
        font={"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12},
        margin={"l": 60, "r": 30, "t": 60, "b": 50},
        legend={"orientation": "h", "y": -0.15, "traceorder": "normal"},
        **layout,
    )
    return fig


def is_share(column: str) -> bool:
    """Columns holding a ratio in [0, 1] are shown as percentages."""
    return any(word in column for word in ("coverage", "share", "ratio"))
