"""The report's "Why is this amount what it is?" section: the largest case-months and those that
changed most from the month before, each segment with its factors multiplied out and the causes of
its cut (from the run's `explained_amounts`, `engine.explain._report`).

Rows are single cases, so only the pseudonymous case id, the oblast and cause codes are shown (no
hromada, no names); `mfr explain --case C --month M RUN` gives an operator the full explanation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from engine.money import format_uah
from engine.report._html import Section
from engine.report._style import finish

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["explain_sections", "explained_table_figure"]

# key -> (Ukrainian, English): the section speaks the report's language
_WORDS: dict[str, tuple[str, str]] = {
    "title": ("Чому сума саме така?", "Why is this amount what it is?"),
    "largest": ("Найбільші суми за кейс-місяць", "The largest case-month amounts"),
    "most_changed": (
        "Суми, що найбільше змінилися від попереднього місяця",
        "The amounts that changed most from the month before",
    ),
    "header": (
        "#|кейс|місяць|послуга|область|брутто, грн|зміна, грн|дні|"
        "тариф × одиниці × дні × коеф. × модифікатор × ліміт|розріз на початку",
        "#|case|month|service|oblast|gross, UAH|change, UAH|days|"
        "tariff × units × days × coef × modifier × cap|cut at its start",
    ),
    "note": (
        "Кожну суму рушій обчислив знову лише для її кейсу: множники кожного сегмента дають його "
        "брутто, а сегменти в сумі, округлені до копійки, дають суму кейс-місяця ({checked}). "
        "Причини розрізів: month_start, case_start, move, served, waiting, parameter_change, "
        "status_change, … Повне пояснення: mfr explain --case CASE --month YYYY-MM RUN.",
        "Each amount priced again by the engine for its case alone: the factors of every segment "
        "multiply to its gross, and the segments sum, rounded to the kopiyka, to the case-month "
        "amount ({checked}). Cut causes: month_start, case_start, move, served, waiting, "
        "parameter_change, status_change, ... The full explanation: mfr explain --case CASE "
        "--month YYYY-MM RUN.",
    ),
    "checked": ("перевірено для кожного рядка", "checked for every row"),
    "not_checked": ("НЕ для кожного рядка", "NOT for every row"),
}
_KINDS = ("largest", "most_changed")


def _w(key: str, lang: str, **values: object) -> str:
    text = _WORDS[key][0 if lang == "uk" else 1]
    return text.format(**values) if values else text


def explained_table_figure(rows: pl.DataFrame, title: str, lang: str = "uk") -> go.Figure:
    """One row per segment: case, month, amount (and change), the factors' product, the cut."""
    import plotly.graph_objects as go

    first = pl.col("segment_from") == pl.col("segment_from").min().over("kind", "rank")
    rows = rows.sort("rank", "segment_from").with_columns(first=first)

    def once(values: list[str], keep: list[bool]) -> list[str]:
        return [v if k else "" for v, k in zip(values, keep, strict=True)]

    keep = rows["first"].to_list()
    change = [
        "" if v is None else ("+" if v > 0 else "") + format_uah(v, exact=True)
        for v in rows["change_uah"]
    ]
    cells = [
        once([str(r) for r in rows["rank"]], keep),
        once(rows["case_id"].to_list(), keep),
        once([f"{m:%Y-%m}" for m in rows["month"]], keep),
        once(rows["service_code"].to_list(), keep),
        once([str(o or "") for o in rows["oblast_code"]], keep),
        once([format_uah(v, exact=True) for v in rows["gross_uah"]], keep),
        once(change, keep),
        [f"{a:%d.%m}–{b:%d.%m}" for a, b in rows.select("segment_from", "segment_to").rows()],
        [f"{f} = {g:,.4f}" for f, g in rows.select("formula", "segment_gross_uah").rows()],
        rows["causes"].to_list(),
    ]
    header = _w("header", lang).split("|")
    fig = go.Figure(
        go.Table(
            header={"values": header, "align": "left", "fill_color": "#e8eef5"},
            cells={"values": cells, "align": ["left"] * 5 + ["right"] * 2 + ["left"] * 3},
            columnwidth=[24, 90, 60, 50, 150, 90, 90, 80, 380, 160],
        )
    )
    return finish(fig, title, height=max(260, 30 * rows.height + 140))


def explain_sections(explained: pl.DataFrame | None, lang: str = "uk") -> list[Section]:
    """The section (one `Section`, none when the run explained no amounts), in `lang`."""
    if explained is None or explained.is_empty():
        return []
    frame = explained.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String))
    figures = [
        explained_table_figure(frame.filter(pl.col("kind") == kind), _w(kind, lang), lang)
        for kind in _KINDS
        if frame.filter(pl.col("kind") == kind).height
    ]
    checked = _w("checked" if bool(frame["consistent"].all()) else "not_checked", lang)
    return [Section(_w("title", lang), figures, note=_w("note", lang, checked=checked))]
