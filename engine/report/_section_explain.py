"""The report's "Why is this amount what it is?" section: the largest case-months and those that
changed most from the month before, each segment with its factors multiplied out and the causes of
its cut (from the run's `explained_amounts`, `engine.explain._report`).

Rows are single cases, so only the pseudonymous case id, the oblast and cause codes are shown (no
hromada, no names); `mfr explain --case C --month M RUN` gives an operator the full explanation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import polars as pl

from engine.money import format_uah
from engine.report._html import Section
from engine.report._labels import oblast_labels
from engine.report._style import finish

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["explain_sections", "explained_table_figure"]

# key -> (Ukrainian, English): the section speaks the report's language
_WORDS: dict[str, tuple[str, str]] = {
    "title": ("Чому сума саме така?", "Why is this amount what it is?"),
    "largest": ("Найбільші суми за випадко-місяць", "The largest case-month amounts"),
    "most_changed": (
        "Суми, що найбільше змінилися від попереднього місяця",
        "The amounts that changed most from the month before",
    ),
    "header": (
        "#|випадок|місяць|послуга|область|валова, грн|зміна, грн|дні|"
        "тариф × одиниці × дні × коеф. × модифікатор × ліміт|розріз на початку",
        "#|case|month|service|oblast|gross, UAH|change, UAH|days|"
        "tariff × units × days × coef × modifier × cap|cut at its start",
    ),
    "note": (
        "Кожну суму рушій обчислив знову лише для її випадку: множники кожного сегмента дають його "
        "валову суму, а сегменти в сумі, округлені до копійки, дають суму випадко-місяця ({checked}). "
        "Причини розрізів: початок місяця чи випадку, переїзд, початок обслуговування чи "
        "очікування, зміна параметрів, зміна статусу території, … Повне пояснення: "
        "mfr explain --case CASE --month YYYY-MM RUN.",
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
# the stored explanation speaks the engine's codes and English units; a Ukrainian page says them
# in Ukrainian (codes not listed here are shown as they are)
_CAUSES_UK = {
    "month_start": "початок місяця",
    "month_end": "кінець місяця",
    "case_start": "початок випадку",
    "case_end": "кінець випадку",
    "location_start": "нове місце",
    "location_end": "немає місця",
    "move": "переїзд",
    "served": "обслуговується",
    "waiting": "очікує",
    "parameter_change": "зміна параметрів",
    "status_change": "зміна статусу території",
    "scenario": "сценарій",
    "circumstance": "зміна обставин",
    "unexplained": "не пояснено",
}
_UNITS_UK = (
    (re.compile(r"\bUAH per bed-day\b"), "грн за ліжко-день"),
    (re.compile(r"\bUAH per hour\b"), "грн за годину"),
    (re.compile(r"\bUAH per visit\b"), "грн за відвідування"),
    (re.compile(r"\bUAH per month\b"), "грн за місяць"),
    (re.compile(r"\bbed-days\b"), "ліжко-днів"),
    (re.compile(r"\bhours\b"), "год"),
    (re.compile(r"\bvisits\b"), "відвідувань"),
    (re.compile(r"\b1 month\b"), "1 місяць"),
)
# about pixels at a 900 px page (the table is ~746 px wide there): ids, months, day spans and a
# 16-letter oblast name fit on one line; the formula wraps
_WIDTHS = [16, 78, 58, 56, 104, 70, 72, 80, 138, 76]
_FORMULA_CHARS_PER_LINE = (
    16  # the formula column at a 900 px page (~19, less what word wrap wastes)
)


def _w(key: str, lang: str, **values: object) -> str:
    text = _WORDS[key][0 if lang == "uk" else 1]
    return text.format(**values) if values else text


def _formula(text: str, lang: str) -> str:
    if lang != "uk":
        return text
    for pattern, words in _UNITS_UK:
        text = pattern.sub(words, text)
    return text


def _causes(codes: str, lang: str) -> str:
    if lang != "uk":
        return codes
    return ", ".join(_CAUSES_UK.get(c.strip(), c.strip()) for c in codes.split(",") if c.strip())


def explained_table_figure(
    rows: pl.DataFrame,
    title: str,
    lang: str = "uk",
    oblast_names: Mapping[str, str] | None = None,
) -> go.Figure:
    """One row per segment: case, month, amount (and change), the factors' product, the cut;
    oblasts by name when `oblast_names` has them, units and cut causes in `lang`."""
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
        once([(oblast_names or {}).get(o or "", str(o or "")) for o in rows["oblast_code"]], keep),
        once([format_uah(v, exact=True) for v in rows["gross_uah"]], keep),
        once(change, keep),
        [f"{a:%d.%m}–{b:%d.%m}" for a, b in rows.select("segment_from", "segment_to").rows()],
        [
            f"{_formula(f, lang)} = {g:,.4f}"
            for f, g in rows.select("formula", "segment_gross_uah").rows()
        ],
        [_causes(c, lang) for c in rows["causes"]],
    ]
    # Plotly grows a row to its wrapped text but not the figure: size it to the lines, or the
    # table scrolls inside a fixed box and its last rows are cut off
    lines = [
        max(1, math.ceil(len(f) / _FORMULA_CHARS_PER_LINE), math.ceil(len(c) / 16))
        for f, c in zip(cells[8], cells[9], strict=True)
    ]
    header = _w("header", lang).split("|")
    fig = go.Figure(
        go.Table(
            header={
                "values": header,
                "align": "left",
                "fill_color": "#e8eef5",
                "font": {"size": 11},
            },
            cells={
                "values": cells,
                "align": ["left"] * 5 + ["right"] * 2 + ["left"] * 3,
                "font": {"size": 11},
            },
            columnwidth=_WIDTHS,
        )
    )
    return finish(fig, title, height=max(260, sum(12 + 16 * n for n in lines) + 210))


def explain_sections(
    explained: pl.DataFrame | None,
    lang: str = "uk",
    territories: pl.DataFrame | None = None,
) -> list[Section]:
    """The section (one `Section`, none when the run explained no amounts), in `lang`; oblasts
    named from `territories` when given."""
    if explained is None or explained.is_empty():
        return []
    frame = explained.with_columns(pl.col(pl.Categorical, pl.Enum).cast(pl.String))
    names = oblast_labels(territories, lang)
    figures = [
        explained_table_figure(frame.filter(pl.col("kind") == kind), _w(kind, lang), lang, names)
        for kind in _KINDS
        if frame.filter(pl.col("kind") == kind).height
    ]
    checked = _w("checked" if bool(frame["consistent"].all()) else "not_checked", lang)
    return [Section(_w("title", lang), figures, note=_w("note", lang, checked=checked))]
