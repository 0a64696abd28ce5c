"""How an explanation reads on a terminal: a header, a table per segment, the sums and the rounding.

Functions take an `engine.explain.Explanation` (typed `Any`: that module imports this one).
"""

from __future__ import annotations

from typing import Any

import polars as pl
from rich.markup import escape

from engine.money import format_uah

__all__ = ["renderables", "segment_lines"]


def _hromada(code: str | None, name: str | None) -> str:
    if code is None:
        return "unknown"
    return f"{name} ({code})" if name else code


def _header(h: dict[str, Any]) -> str:
    income = "unknown" if h["income_ratio"] is None else f"{h['income_ratio']:g}"
    lines = [
        f"[bold]Case {h['case_id']} · {h['month']}[/bold] · {h['service_name_en']} "
        f"({h['service_code']}, {h['service_name_uk']}), paid per {h['unit']}, "
        f"need level {h['need_level']}",
        f"Case {h['case_start']} – {h['case_end'] or 'open'}; recipient {h['recipient_id']}: "
        f"disability {h['disability_group']}, income ratio {income}"
        f"{', IDP' if h['is_idp'] else ''}",
        f"Registered in {_hromada(h['registered_hromada'], h['registered_hromada_name'])}; "
        "served in "
        + (", ".join(_hromada(s["code"], s["name"]) for s in h["serving_hromadas"]) or "no hromada")
        + " (the money goes to the serving hromada)",
        f"Funding model {h['model_name']} {h['model_version']} (hash {h['model_hash'][:12]}"
        f"{', folder ' + h['model_folder'] if h['model_folder'] else ''}); engine {h['engine_version']}",
    ]
    if h.get("source"):
        lines.append(f"Inputs: {h['source']}")
    return "\n".join(lines)


def _file(source: str | None) -> str:
    return source.replace("\\", "/").rsplit("/", 1)[-1] if source else ""


def _factor_table(factors: pl.DataFrame, refs: dict[str, int]) -> Any:
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    for column in ("factor", "value", "file · key", "in force from", "note"):
        table.add_column(column, overflow="fold")
    for f in factors.iter_rows(named=True):
        origin = " · ".join(x for x in (_file(f["source"]), f["key"]) if x) or "–"
        if f["reference"] and f["value"] is not None and f["parameter"]:
            origin += f" [{refs.setdefault(f['reference'], len(refs) + 1)}]"
        mark = "" if f["role"] == "multiplier" else "  "
        cells = (mark + f["factor"], f["shown"], origin, str(f["effective_from"] or "–"), f["note"])
        table.add_row(*(escape(c or "") for c in cells))
    return table


def _product(factors: pl.DataFrame, gross: Any) -> str:
    parts = factors.filter(pl.col("role") == "multiplier")
    shown = " × ".join(parts["shown"].to_list())
    return f"gross = {shown} = [bold]{gross:,.4f}[/bold] UAH"


def renderables(why: Any) -> list[Any]:
    from rich.panel import Panel
    from rich.text import Text

    out: list[Any] = [Panel(_header(why.header), expand=False)]
    refs: dict[str, int] = {}
    for seg in why.segments.iter_rows(named=True):
        own = why.factors.filter(pl.col("segment") == seg["segment"])
        side = "served" if seg["funded"] else "waiting (unfunded: unmet need)"
        provider = seg["provider_id"] or "no provider"
        out.append(
            f"\n[bold]Segment {seg['segment'] + 1}[/bold]: {seg['segment_from']} – "
            f"{seg['segment_to']} ({seg['days']} of {seg['days_in_month']} days), {side}, "
            f"{_hromada(seg['hromada_code'], seg['hromada_name'])}, {provider}"
        )
        out.append(escape(f"  cut at its start: {'; '.join(seg['start_causes'])}"))
        out.append(escape(f"  cut at its end:   {'; '.join(seg['end_causes'])}"))
        out.append(_factor_table(own, refs))
        out.append("  " + _product(own, seg["gross_uah"]))
        share = own.filter(pl.col("factor") == "copay_share")["value"][0]
        out.append(
            f"  co-payment = {seg['gross_uah']:,.4f} × {share:g} = {seg['copay_uah']:,.4f}; "
            f"state = {seg['state_uah']:,.4f}"
        )
    h = why.header
    cap = (
        f"monthly cap {format_uah(h['monthly_cap_uah'], exact=True)} UAH "
        f"({h['monthly_cap_source']}, from {h['monthly_cap_from']}; {h['monthly_cap_reference']})"
        if h["monthly_cap_uah"] is not None
        else f"no monthly cap for {h['service_code']}"
    )
    for cm in why.case_months.iter_rows(named=True):
        kind = "funded" if cm["funded"] else "unfunded (waiting)"
        tick = (
            "✓ the factors give the engine's amount to the kopiyka"
            if cm["matches_engine"]
            else ("✗ the factors do NOT give the engine's amount: please report this")
        )
        out.append(
            f"\n[bold]Case-month {cm['month']:%Y-%m}, {kind}[/bold] ({cm['segments']} segment{'' if cm['segments'] == 1 else 's'}, "
            f"{cm['days']} days, {cm['case_months']:.4f} case-months; {cap})\n"
            f"  Σ gross {cm['gross_unrounded']:,.6f} → [bold]{cm['gross_uah']:,}[/bold] UAH; "
            f"Σ co-payment {cm['copay_unrounded']:,.6f} → {cm['copay_uah']:,} UAH; "
            f"state = {cm['gross_uah']:,} − {cm['copay_uah']:,} = [bold]{cm['state_uah']:,}[/bold]"
            f" UAH\n  rounding: {h['rounding']}\n  {tick}"
        )
    if refs:
        out.append("\n[bold]Legal references[/bold]")
        out += [escape(f"  [{n}] {text}") for text, n in refs.items()]
    for note in why.notes:
        out.append(Text(note))
    return out


def segment_lines(why: Any) -> list[str]:
    """One plain line per segment: its days, the product of its factors, and why it starts there."""
    lines = []
    for seg in why.segments.iter_rows(named=True):
        own = why.factors.filter(
            (pl.col("segment") == seg["segment"]) & (pl.col("role") == "multiplier")
        )
        product = " × ".join(own["shown"].to_list())
        waiting = "" if seg["funded"] else " (waiting, unfunded)"
        lines.append(
            f"{seg['segment_from']:%d.%m}–{seg['segment_to']:%d.%m}{waiting}: {product} = "
            f"{seg['gross_uah']:,.4f}; starts: {'; '.join(seg['start_causes'])}"
        )
    return lines
