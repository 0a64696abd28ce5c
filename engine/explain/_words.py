"""An explanation's words in Ukrainian and English: one language per explanation.

Every sentence `engine.explain` builds (the causes of a cut, the notes of a factor, the lines a
terminal prints) is a template here, keyed and filled by `str.format`; an `Explanation` is built in
one language (`lang`, English by default: what a run records and its report reads) and says all of
it in that language. Codes (cause codes, parameter names, statuses, ids) are the same in both.

>>> say("case_start", "uk", day="2025-03-01")
'початок випадку (2025-03-01)'
>>> unit_word("hour", "en", many=True), unit_word("day", "uk")
('hours', 'ліжко-день')
"""

from __future__ import annotations

__all__ = ["LANGS", "WORDS", "say", "unit_word"]

LANGS = ("uk", "en")

# key -> (Ukrainian, English)
WORDS: dict[str, tuple[str, str]] = {
    # the causes of a cut (`_causes`)
    "unknown_hromada": ("невідома громада", "an unknown hromada"),
    "month_start": ("початок місяця ({day})", "the month starts ({day})"),
    "month_end": ("кінець місяця ({day})", "the month ends ({day})"),
    "case_start": ("початок випадку ({day})", "the case starts ({day})"),
    "case_end": ("кінець випадку ({day})", "the case ends ({day})"),
    "no_provider_waiting": ("без надавача (очікування)", "no provider (waiting)"),
    "provider": ("надавач {provider}", "provider {provider}"),
    "location_start": ("{provider}, громада {where}{again}", "{provider} in {where}{again}"),
    "location_again": (
        " — знову, після днів без місця обслуговування (не оплачуються)",
        " again, after days with no location (not priced)",
    ),
    "move": ("переїзд: {before} → {after}", "moves from {before} to {after}"),
    "served_from": (
        "обслуговується з цього дня надавачем {provider}",
        "served from this day by provider {provider}",
    ),
    "waiting_from": ("очікує з цього дня (без надавача)", "waits from this day (no provider)"),
    "provider_change": ("надавач {before} → {after}", "provider {before} → {after}"),
    "location_end": (
        "немає місця обслуговування після {day} (дні не оплачуються)",
        "no location after {day} (days not priced)",
    ),
    "no_value": ("немає", "none"),
    "default_file": ("типове значення", "default"),
    "bands_change": ("зміна шкали співоплати ({file})", "co-payment bands change ({file})"),
    "parameter_change": (
        "{shown} {before} → {after} ({file}, з {day})",
        "{shown} {before} → {after} ({file}, from {day})",
    ),
    "status_begins": ("{where}: статус {status} з {day}", "{where} becomes {status} from {day}"),
    "status_ends": (
        "{where}: статус {status} припиняється з {day}",
        "{where} is no longer {status} from {day}",
    ),
    "scenario_change": (
        "сценарій {scenario}: {parameter} {op} {value}",
        "scenario {scenario}: {parameter} {op} {value}",
    ),
    "scenario_begins": ("{what} — початок", "{what} begins"),
    "scenario_ends": ("{what} — кінець", "{what} ends"),
    "income_ratio": ("співвідношення доходу", "income ratio"),
    "disability_group": ("група інвалідності", "disability group"),
    "idp_status": ("статус ВПО", "IDP status"),
    "circumstances_change": ("зміна обставин", "circumstances change"),
    "from_benefits": ("{text} (дані про допомоги)", "{text} (benefits extract)"),
    "unexplained": ("жодне відоме джерело тут не розрізає", "no known source cuts here"),
    # the factors (`_factors`)
    "file_default": (
        "типове значення файлу (для цього ключа значення немає)",
        "the file's default (no value listed for this key)",
    ),
    "no_value_in_force": ("жодне значення не чинне", "no value in force"),
    "scenario_adjusted": (
        "значення у файлі {value}, змінене сценарієм для цієї території",
        "file value {value}, adjusted by the scenario for this territory",
    ),
    "one_month": ("1 місяць", "1 month"),
    "paid_per_month": ("оплата за місяць", "paid per month"),
    "assessed_source": ("реєстр (cases.assessed_units)", "registry (cases.assessed_units)"),
    "units_a_month": ("{n} {units} на місяць", "{n} {units} a month"),
    "at_most_units": ("не більше {n} {units} на місяць", "at most {n} {units} a month"),
    "rule_assessed": ("min(оцінені одиниці, max_units)", "min(assessed units, max_units)"),
    "rule_stay": (
        "ціна рахує дні перебування; одиниці лише обмежують записаний обсяг",
        "the price counts the days of the stay; units only bound the recorded volume",
    ),
    "units": ("{n} {units}", "{n} {units}"),
    "no_status": (
        "цього дня громада не має територіального статусу",
        "no territory status on this day",
    ),
    "at_most": ("не більше {value}", "at most {value}"),
    "coef_product": ("добуток {product}", "product {product}"),
    "coef_capped": (", обмежено до {cap}", ", capped at {cap}"),
    "no_cap_service": ("для цієї послуги немає місячної межі", "no monthly cap for this service"),
    "cap_reached": (
        "валова сума випадко-місяця до межі {before} > межа {cap} (на {day}): кожен сегмент × "
        "{factor}",
        "case-month gross before the cap {before} > cap {cap} (read on {day}): every segment × "
        "{factor}",
    ),
    "cap_not_reached": (
        "валова сума випадко-місяця до межі {before} ≤ межа {cap}: не досягнуто",
        "case-month gross before the cap {before} ≤ cap {cap}: not reached",
    ),
    "income_unknown": ("співвідношення доходу невідоме", "income ratio unknown"),
    "income_below": (
        "співвідношення доходу {income} нижче всіх діапазонів",
        "income ratio {income} below every band",
    ),
    "income_band": (
        "співвідношення доходу {income} у діапазоні {band}",
        "income ratio {income} in band {band}",
    ),
    "tariff_per": ("{tariff} грн за {unit}", "{tariff} UAH per {unit}"),
    "bed_days": ("{days} ліжко-днів", "{days} bed-days"),
    "bed_days_rule": ("ліжко-дні: тариф × дні", "bed-days: tariff × days"),
    "days_of_month": (
        "{days} з {month_days} днів місяця",
        "{days} of the month's {month_days} days",
    ),
    # the explanation's header and what a terminal prints (`_explain`, `_render`, `_stored`)
    "rounding": (
        "валову суму й співоплату випадко-місяця округлено до копійки, половина — від нуля; "
        "держава = валова − співоплата",
        "case-month gross and co-payment to the kopiyka, half away from zero; "
        "state = gross − co-payment",
    ),
    "nothing_before": (
        "суми немає: випадок починається {day}, після {month}",
        "no amount: the case starts on {day}, after {month}",
    ),
    "nothing_after": (
        "суми немає: випадок закінчився {day}, до {month}",
        "no amount: the case ended on {day}, before {month}",
    ),
    "nothing_located": (
        "суми немає: жодне місце обслуговування випадку не покриває жодного дня {month} (дні не "
        "оплачуються)",
        "no amount: no location of the case covers a day of {month} (days not priced)",
    ),
    "source_extract": ("витяг {extract}", "extract {extract}"),
    "source_new_case": ("новий випадок", "a new case"),
    "source_run": (
        "запуск {run} ({spec}, рушій {engine}) у {store}",
        "run {run} ({spec}, engine {engine}) in {store}",
    ),
    "same_as_store": (
        "✓ ті самі суми, що їх зберіг запуск {run}",
        "✓ the same amounts as run {run} stored",
    ),
    "differs_from_store": (
        "✗ запуск {run} зберіг {stored}, повторне ціноутворення дає {mine}",
        "✗ run {run} stored {stored}, re-pricing gives {mine}",
    ),
    "unknown": ("невідомо", "unknown"),
    "open": ("відкритий", "open"),
    "idp": (", ВПО", ", IDP"),
    "header_case": (
        "[bold]Випадок {case} · {month}[/bold] · {service} ({code}), оплата за {unit}, рівень "
        "потреби {level}",
        "[bold]Case {case} · {month}[/bold] · {service} ({code}), paid per {unit}, need level "
        "{level}",
    ),
    "header_recipient": (
        "Випадок {start} – {end}; отримувач {recipient}: інвалідність {disability}, "
        "співвідношення доходу {income}{idp}",
        "Case {start} – {end}; recipient {recipient}: disability {disability}, income ratio "
        "{income}{idp}",
    ),
    "header_where": (
        "Зареєстровано: {registered}; обслуговує: {serving} (кошти отримує громада, що обслуговує)",
        "Registered in {registered}; served in {serving} (the money goes to the serving hromada)",
    ),
    "no_hromada": ("жодна громада", "no hromada"),
    "header_model": (
        "Модель фінансування {name} {version} (хеш {digest}{folder}); рушій {engine}",
        "Funding model {name} {version} (hash {digest}{folder}); engine {engine}",
    ),
    "model_folder": (", тека {folder}", ", folder {folder}"),
    "header_inputs": ("Вхідні дані: {source}", "Inputs: {source}"),
    "col_factor": ("чинник", "factor"),
    "col_value": ("значення", "value"),
    "col_origin": ("файл · ключ", "file · key"),
    "col_from": ("чинне з", "in force from"),
    "col_note": ("примітка", "note"),
    "gross_product": (
        "валова = {shown} = [bold]{gross}[/bold] грн",
        "gross = {shown} = [bold]{gross}[/bold] UAH",
    ),
    "side_served": ("обслуговується", "served"),
    "side_waiting": (
        "очікує (не фінансується: незадоволена потреба)",
        "waiting (unfunded: unmet need)",
    ),
    "no_provider": ("без надавача", "no provider"),
    "segment_title": (
        "\n[bold]Сегмент {n}[/bold]: {start} – {end} ({days} з {month_days} днів), {side}, "
        "{hromada}, {provider}",
        "\n[bold]Segment {n}[/bold]: {start} – {end} ({days} of {month_days} days), {side}, "
        "{hromada}, {provider}",
    ),
    "cut_start": ("  розріз на початку: {causes}", "  cut at its start: {causes}"),
    "cut_end": ("  розріз у кінці:    {causes}", "  cut at its end:   {causes}"),
    "copay_line": (
        "  співоплата = {gross} × {share} = {copay}; держава = {state}",
        "  co-payment = {gross} × {share} = {copay}; state = {state}",
    ),
    "monthly_cap": (
        "місячна межа {cap} грн ({source}, з {day}; {reference})",
        "monthly cap {cap} UAH ({source}, from {day}; {reference})",
    ),
    "no_monthly_cap": ("для {code} немає місячної межі", "no monthly cap for {code}"),
    "kind_funded": ("фінансується", "funded"),
    "kind_unfunded": ("не фінансується (очікує)", "unfunded (waiting)"),
    "tick_ok": (
        "✓ чинники дають суму рушія до копійки",
        "✓ the factors give the engine's amount to the kopiyka",
    ),
    "tick_bad": (
        "✗ чинники НЕ дають суми рушія: будь ласка, повідомте про це",
        "✗ the factors do NOT give the engine's amount: please report this",
    ),
    "segment_one": ("{n} сегмент", "{n} segment"),
    "segment_many": ("{n} сегм.", "{n} segments"),
    "case_month": (
        "\n[bold]Випадко-місяць {month}, {kind}[/bold] ({segments}, {days} дн., {case_months} "
        "випадко-місяця; {cap})\n"
        "  Σ валова {gross_sum} → [bold]{gross}[/bold] грн; Σ співоплата {copay_sum} → {copay} "
        "грн; держава = {gross} − {copay} = [bold]{state}[/bold] грн\n"
        "  округлення: {rounding}\n  {tick}",
        "\n[bold]Case-month {month}, {kind}[/bold] ({segments}, {days} days, {case_months} "
        "case-months; {cap})\n"
        "  Σ gross {gross_sum} → [bold]{gross}[/bold] UAH; Σ co-payment {copay_sum} → {copay} "
        "UAH; state = {gross} − {copay} = [bold]{state}[/bold] UAH\n"
        "  rounding: {rounding}\n  {tick}",
    ),
    "legal_references": ("\n[bold]Правові підстави[/bold]", "\n[bold]Legal references[/bold]"),
    "waiting_unfunded": (" (очікує, не фінансується)", " (waiting, unfunded)"),
    "segment_line": (
        "{start}–{end}{waiting}: {product} = {gross}; причина початку: {causes}",
        "{start}–{end}{waiting}: {product} = {gross}; starts: {causes}",
    ),
}

# unit -> ((Ukrainian after "за", Ukrainian after a number), (English one, English many))
_UNITS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "hour": (("годину", "год"), ("hour", "hours")),
    "visit": (("відвідування", "відвідувань"), ("visit", "visits")),
    "day": (("ліжко-день", "ліжко-днів"), ("bed-day", "bed-days")),
    "month": (("місяць", "міс."), ("month", "months")),
}


def say(key: str, lang: str, **fields: object) -> str:
    """The sentence `key` in `lang` (`uk` or `en`), its `{fields}` filled."""
    uk, en = WORDS[key]
    return (uk if lang == "uk" else en).format(**fields)


def unit_word(unit: str, lang: str, *, many: bool = False) -> str:
    """A service unit (`hour`, `visit`, `day`, `month`) as a word: one (`paid per hour`) or after
    a number (`40 hours`); in Ukrainian the form after `за`, or the short form after a number."""
    uk, en = _UNITS.get(unit, ((unit, unit), (unit, unit)))
    return (uk if lang == "uk" else en)[1 if many else 0]
