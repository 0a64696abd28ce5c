"""The report's forecast section: fan charts of the total, an oblast and an oblast × service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import polars as pl

from engine.report._figures_forecast import (
    backtest_figure,
    coverage_figure,
    fan_chart_figure,
    forecast_id_column,
)
from engine.report._html import Section
from engine.report._labels import oblast_labels, service_labels
from engine.report._text import tr

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from engine.report._data import ReportData

__all__ = ["forecast_sections"]


def _level_columns(level: str) -> frozenset[str]:
    return frozenset() if level == "total" else frozenset(level.split("/"))


def _pick_node(
    forecast: pl.DataFrame, columns: frozenset[str], where: Mapping[str, str]
) -> str | None:
    """The node of the level made of exactly `columns`, matching `where` (else the largest)."""
    if "level" not in forecast.columns:
        return None
    levels = [lv for lv in forecast["level"].unique().to_list() if _level_columns(lv) == columns]
    if not levels:
        return None
    rows = forecast.filter(pl.col("level") == levels[0])
    for column, value in where.items():
        if column in rows.columns and value is not None:
            rows = rows.filter(pl.col(column) == value)
    if rows.is_empty():
        return None
    key = forecast_id_column(forecast)
    biggest = (
        rows.group_by(key).agg(pl.col("mean").sum()).sort("mean", key, descending=[True, False])
    )
    return str(biggest[key][0])


# oblast × service levels, the most detailed first (services may be grouped in the hierarchy)
_OBLAST_SERVICE_LEVELS = (
    frozenset({"oblast_code", "service_code"}),
    frozenset({"oblast_code", "service_group", "service_code"}),
    frozenset({"oblast_code", "service_group"}),
)


def _oblast_service_node(
    forecast: pl.DataFrame, oblast: str | None, service: str | None
) -> str | None:
    for columns in _OBLAST_SERVICE_LEVELS:
        where = {"oblast_code": oblast} if oblast else {}
        if service and "service_code" in columns:
            where["service_code"] = service
        node = _pick_node(forecast, columns, where)
        if node is not None:
            return node
    return None


def forecast_sections(
    data: ReportData, oblast: str | None, service: str | None, lang: str
) -> list[Section]:
    """Fan charts of the total, one oblast and one oblast × service, and the backtest: accuracy
    and interval coverage against nominal by level."""
    fc = data.forecast
    if fc is None or fc.is_empty():
        return []
    key = forecast_id_column(fc)
    oblasts = oblast_labels(data.territories, lang)
    services = service_labels(data.services, lang)
    figures: list[go.Figure] = []
    total = _pick_node(fc, frozenset(), {}) or ("total" if "total" in fc[key] else None)
    if total is not None:
        figures.append(
            fan_chart_figure(fc, total, data.history, label=tr("ukraine_all", lang), lang=lang)
        )
    oblast_node = _pick_node(
        fc, frozenset({"oblast_code"}), {"oblast_code": oblast} if oblast else {}
    )
    if oblast_node is not None:
        code = fc.filter(pl.col(key) == oblast_node)["oblast_code"][0]
        oblast = oblast or code
        figures.append(
            fan_chart_figure(
                fc, oblast_node, data.history, label=oblasts.get(code, code), lang=lang
            )
        )
    pair = _oblast_service_node(fc, oblast, service)
    if pair is not None:
        row = fc.filter(pl.col(key) == pair).row(0, named=True)
        what = row.get("service_code")
        what = services.get(what, what) if what else row.get("service_group")
        label = f"{oblasts.get(row['oblast_code'], row['oblast_code'])}, {what}"
        figures.append(fan_chart_figure(fc, pair, data.history, label=label, lang=lang))
    if data.backtest is not None and not data.backtest.is_empty():
        figures.append(backtest_figure(data.backtest, lang=lang))
        if any(c.startswith("coverage_") for c in data.backtest.columns):
            figures.append(coverage_figure(data.backtest, lang=lang))
    if not figures:
        return []
    return [Section(tr("s_forecast", lang), figures, note=tr("forecast_note", lang))]
