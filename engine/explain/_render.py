"""How an explanation reads on a terminal: a header, a table per segment, the sums and the rounding.

Functions take an `engine.explain.Explanation` (typed `Any`: that module imports this one).
"""

from __future__ import annotations

from typing import Any

import polars as pl
from rich.markup import escape

from engine.explain._words import say, unit_word
from engine.money import format_uah

__all__ = ["renderables", "segment_lines"]


def _hromada(code: str | None, name: str | None, lang: str) -> str:
    if code is None:
        return say("unknown", lang)
    return f"{name} ({code})" if name else code


def _header(h: dict[str, Any], lang: str) -> str:
    income = say("unknown", lang) if h["income_ratio"] is None else f"{h['income_ratio']:g}"
    serving = ", ".join(_hromada(s["code"], s["name"], lang) for s in h["serving_hromadas"])
    folder = say("model_folder", lang, folder=h["model_folder"]) if h["model_folder"] else ""
    lines = [
        say(
            "header_case",
            lang,
            case=h["case_id"],
            month=h["month"],
            service=h["service_name_uk" if lang == "uk" else "service_name_en"],
            code=h["service_code"],
            unit=unit_word(h["unit"], lang),
            level=h["need_level"],
        ),
        say(
            "header_recipient",
            lang,
            start=h["case_start"],
            end=h["case_end"] or say("open", lang),
            recipient=h["recipient_id"],
            disability=h["disability_group"],
            income=income,
            idp=say("idp", lang) if h["is_idp"] else "",
        ),
        say(
            "header_where",
            lang,
            registered=_hromada(h["registered_hromada"], h["registered_hromada_name"], lang),
            serving=serving or say("no_hromada", lang),
        ),
        say(
            "header_model",
            lang,
            name=h["model_name"],
            version=h["model_version"],
            digest=h["model_hash"][:12],
            folder=folder,
            engine=h["engine_version"],
        ),
    ]
    if h.get("source"):
        lines.append(say("header_inputs", lang, source=h["source"]))
    return "\n".join(lines)


def _file(source: str | None) -> str:
    return source.replace("\\", "/").rsplit("/", 1)[-1] if source else ""


def _factor_table(factors: pl.DataFrame, refs: dict[str, int], lang: str) -> Any:
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    for column in ("col_factor", "col_value", "col_origin", "col_from", "col_note"):
        table.add_column(say(column, lang), overflow="fold")
    for f in factors.iter_rows(named=True):
        origin = " · ".join(x for x in (_file(f["source"]), f["key"]) if x) or "–"
        if f["reference"] and f["value"] is not None and f["parameter"]:
            origin += f" [{refs.setdefault(f['reference'], len(refs) + 1)}]"
        mark = "" if f["role"] == "multiplier" else "  "
        cells = (mark + f["factor"], f["shown"], origin, str(f["effective_from"] or "–"), f["note"])
        table.add_row(*(escape(c or "") for c in cells))
    return table


def _product(factors: pl.DataFrame, gross: Any, lang: str) -> str:
    parts = factors.filter(pl.col("role") == "multiplier")
    shown = " × ".join(parts["shown"].to_list())
    return say("gross_product", lang, shown=shown, gross=f"{gross:,.4f}")


def _segment(seg: dict[str, Any], lang: str) -> str:
    side = say("side_served" if seg["funded"] else "side_waiting", lang)
    return say(
        "segment_title",
        lang,
        n=seg["segment"] + 1,
        start=seg["segment_from"],
        end=seg["segment_to"],
        days=seg["days"],
        month_days=seg["days_in_month"],
        side=side,
        hromada=_hromada(seg["hromada_code"], seg["hromada_name"], lang),
        provider=seg["provider_id"] or say("no_provider", lang),
    )


def _cap(h: dict[str, Any], lang: str) -> str:
    if h["monthly_cap_uah"] is None:
        return say("no_monthly_cap", lang, code=h["service_code"])
    return say(
        "monthly_cap",
        lang,
        cap=format_uah(h["monthly_cap_uah"], exact=True),
        source=h["monthly_cap_source"],
        day=h["monthly_cap_from"],
        reference=h["monthly_cap_reference"],
    )


def _case_month(cm: dict[str, Any], h: dict[str, Any], lang: str) -> str:
    count = cm["segments"]
    return say(
        "case_month",
        lang,
        month=f"{cm['month']:%Y-%m}",
        kind=say("kind_funded" if cm["funded"] else "kind_unfunded", lang),
        segments=say("segment_one" if count == 1 else "segment_many", lang, n=count),
        days=cm["days"],
        case_months=f"{cm['case_months']:.4f}",
        cap=_cap(h, lang),
        gross_sum=f"{cm['gross_unrounded']:,.6f}",
        gross=f"{cm['gross_uah']:,}",
        copay_sum=f"{cm['copay_unrounded']:,.6f}",
        copay=f"{cm['copay_uah']:,}",
        state=f"{cm['state_uah']:,}",
        rounding=h["rounding"],
        tick=say("tick_ok" if cm["matches_engine"] else "tick_bad", lang),
    )


def renderables(why: Any) -> list[Any]:
    """The explanation as rich renderables, in its own language (`why.lang`)."""
    from rich.panel import Panel
    from rich.text import Text

    lang = why.lang
    out: list[Any] = [Panel(_header(why.header, lang), expand=False)]
    refs: dict[str, int] = {}
    for seg in why.segments.iter_rows(named=True):
        own = why.factors.filter(pl.col("segment") == seg["segment"])
        out.append(_segment(seg, lang))
        out.append(escape(say("cut_start", lang, causes="; ".join(seg["start_causes"]))))
        out.append(escape(say("cut_end", lang, causes="; ".join(seg["end_causes"]))))
        out.append(_factor_table(own, refs, lang))
        out.append("  " + _product(own, seg["gross_uah"], lang))
        share = own.filter(pl.col("factor") == "copay_share")["value"][0]
        out.append(
            say(
                "copay_line",
                lang,
                gross=f"{seg['gross_uah']:,.4f}",
                share=f"{share:g}",
                copay=f"{seg['copay_uah']:,.4f}",
                state=f"{seg['state_uah']:,.4f}",
            )
        )
    for cm in why.case_months.iter_rows(named=True):
        out.append(_case_month(cm, why.header, lang))
    if refs:
        out.append(say("legal_references", lang))
        out += [escape(f"  [{n}] {text}") for text, n in refs.items()]
    for note in why.notes:
        out.append(Text(note))
    return out


def segment_lines(why: Any) -> list[str]:
    """One plain line per segment: its days, the product of its factors, and why it starts there
    (in the explanation's language)."""
    lines = []
    for seg in why.segments.iter_rows(named=True):
        own = why.factors.filter(
            (pl.col("segment") == seg["segment"]) & (pl.col("role") == "multiplier")
        )
        waiting = "" if seg["funded"] else say("waiting_unfunded", why.lang)
        lines.append(
            say(
                "segment_line",
                why.lang,
                start=f"{seg['segment_from']:%d.%m}",
                end=f"{seg['segment_to']:%d.%m}",
                waiting=waiting,
                product=" × ".join(own["shown"].to_list()),
                gross=f"{seg['gross_uah']:,.4f}",
                causes="; ".join(seg["start_causes"]),
            )
        )
    return lines
