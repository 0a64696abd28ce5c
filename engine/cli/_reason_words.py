"""Why a row was quarantined or a warning raised while reading an extract, in Ukrainian.

The readers (`engine.registry`, `engine.benefits`, `engine.execution`) record each reason in
English in the quarantine and warnings tables (a record reads the same whatever language printed
it); the command line says them in the output language through `engine.cli._words.translate`,
whose sentences include these (`REASON_SENTENCES`, merged into `SENTENCES`). Each English template
is the reader's text exactly, `{fields}` where it varies; a reason that opens with a field keeps
that field first in Ukrainian too, so a line that merely ends with the reason (`... — rule: 3
blank lines ...`) still reads whole (the field takes the line's head, itself translated).

`REASON_WORDS`: a few words `mfr validate-totals` says itself (`words(key, lang)`).

>>> from engine.cli._words import translate
>>> translate("after the extract date 2026-10-31", "uk")
'пізніше за дату витягу 2026-10-31'
"""

from __future__ import annotations

__all__ = ["REASON_SENTENCES", "REASON_WORDS", "words"]

# key -> (Ukrainian, English), as `engine.cli._words.SENTENCES`
REASON_SENTENCES: dict[str, tuple[str, str]] = {
    # values that do not fit their column (`engine.registry._normalise`, every reader's)
    "rs_required": ("обов'язкове значення порожнє", "required value is empty"),
    "rs_two_digit_year": (
        "рік двома цифрами неоднозначний (1924 чи 2024?): запишіть його повністю",
        "two-digit year is ambiguous (1924 or 2024?): write it in full",
    ),
    "rs_not_date": (
        "не дата (очікується РРРР-ММ-ДД або ДД.ММ.РРРР)",
        "not a date (expected YYYY-MM-DD or DD.MM.YYYY)",
    ),
    "rs_not_boolean": (
        "не значення «так» чи «ні» (true/false, 1/0, так/ні, yes/no)",
        "not a yes/no value (true/false, 1/0, так/ні, yes/no)",
    ),
    "rs_not_whole": ("не ціле число", "not a whole number"),
    "rs_not_number": ("не число", "not a number"),
    "rs_not_text": ("не читається як текст", "cannot be read as text"),
    "rs_not_one_of": ("не з переліку: {allowed}", "not one of: {allowed}"),
    "rs_code_format": (
        "не відповідає формату коду {pattern}",
        "does not match the code format {pattern}",
    ),
    "rs_must_be": ("має бути {bound}", "must be {bound}"),  # "≥ 0", "> 0"
    "rs_duplicate_key": (
        "ключ повторюється: у карантині кожен рядок із цим ключем",
        "duplicate key: every row with this key is quarantined",
    ),
    "rs_registry_column_dropped": (
        "стовпця немає в контракті реєстру: вилучено",
        "column not in the registry contract: dropped",
    ),
    "rs_execution_column_dropped": (
        "стовпця немає у звіті про виконання бюджету: вилучено",
        "column not in a budget-execution report: dropped",
    ),
    "rs_blank_lines": (
        "{count} порожніх рядків або рядків лише з пробілів (перший — рядок {first}) не містять "
        "значень: це не рядки даних, пропущено",
        "{count} blank or whitespace-only lines (the first at line {first}) hold no value: not "
        "rows, skipped",
    ),
    "rs_open_end": (
        "{count} дат завершення від {date} (позначка відкритого кінця, як-от 9999-12-31) "
        "прочитано як відкриті",
        "{count} end dates on or after {date} (an open-end marker such as 9999-12-31) read as open",
    ),
    # what `engine.registry` logs while reading (a logging handler may say them through `translate`)
    "rs_log_unknown_columns": (
        "{file}: невідомі стовпці вилучено: {columns}",
        "{file}: unknown columns dropped: {columns}",
    ),
    "rs_log_blank_lines": (
        "{file}: {count} порожніх рядків пропущено",
        "{file}: {count} blank lines skipped",
    ),
    # malformed records (`engine.registry._csv`)
    "rs_stray_quote": (
        "зайва лапка (лапка має відкривати або закривати поле)",
        "a stray quote (a quote must open or close a field)",
    ),
    "rs_bare_cr": (
        "окреме повернення каретки (CR) усередині рядка; інші читачі CSV розривають рядок там",
        "a bare carriage return (CR) inside the row; other CSV readers split it there",
    ),
    "rs_ragged": (
        "у рядку полів: {fields}, а в заголовку: {width}",
        "row has {fields} fields but the header has {width}",
    ),
    # codes, ranges, dates, keys (`engine.registry._rules`)
    "rs_unknown_hromada": (
        "коду громади немає серед територій КАТОТТГ",
        "hromada code not in the KATOTTG territories",
    ),
    "rs_unknown_service": (
        "коду послуги немає в каталозі послуг",
        "service code not in the services catalogue",
    ),
    "rs_units_hour": (
        "оцінений обсяг має бути > 0 і ≤ {most} годин на місяць",
        "assessed units per month must be > 0 and ≤ {most} per hour",
    ),
    "rs_units_visit": (
        "оцінений обсяг має бути > 0 і ≤ {most} відвідувань на місяць",
        "assessed units per month must be > 0 and ≤ {most} per visit",
    ),
    "rs_units_day": (
        "оцінений обсяг має бути > 0 і ≤ {most} днів на місяць",
        "assessed units per month must be > 0 and ≤ {most} per day",
    ),
    "rs_units_month": (
        "оцінений обсяг має бути > 0 і ≤ {most} місяця послуги на місяць",
        "assessed units per month must be > 0 and ≤ {most} per month",
    ),
    "rs_units": (
        "оцінений обсяг на місяць має бути > 0 і ≤ {most} (одиниця: {unit})",
        "assessed units per month must be > 0 and ≤ {most} per {unit}",
    ),
    "rs_income_ratio": (
        "співвідношення доходу має бути від 0 до {most}",
        "income ratio must lie between 0 and {most}",
    ),
    "rs_ends_before": (
        "закінчується раніше, ніж починається ({column} = {start})",
        "ends before it starts ({column} = {start})",
    ),
    "rs_implausible_birth": (
        "до {date}: неправдоподібна дата народження",
        "before {date}: not a plausible birth date",
    ),
    "rs_implausible_date": (
        "до {date}: неправдоподібна дата для реєстру",
        "before {date}: not a plausible date for the registry",
    ),
    "rs_future": ("пізніше за дату витягу {date}", "after the extract date {date}"),
    "rs_service_quarantined": (
        "рядок послуги в таблиці послуг у карантині",
        "the service's row in the services table was quarantined",
    ),
    "rs_service_not_in_extract": (
        "коду послуги немає в таблиці послуг витягу",
        "service code not in the extract's services table",
    ),
    "rs_orphan_recipient": (
        "у витягу немає отримувача з цим ідентифікатором",
        "no recipient with this id in the extract",
    ),
    "rs_orphan_case": (
        "у витягу немає випадку з цим ідентифікатором",
        "no case with this id in the extract",
    ),
    "rs_orphan_provider": (
        "у витягу немає надавача з цим ідентифікатором",
        "no provider with this id in the extract",
    ),
    "rs_parent_recipient": ("отримувач у карантині", "the recipient was quarantined"),
    "rs_parent_case": ("випадок у карантині", "the case was quarantined"),
    "rs_parent_provider": ("надавач у карантині", "the provider was quarantined"),
    "rs_outside_case": (
        "місце надання виходить за період свого випадку {period}",
        "location lies outside its case's period {period}",
    ),
    "rs_open_period": ("{start}..відкритий", "{start}..open"),  # a case without an end
    "rs_overlapping_locations": (
        "перекривається з іншим місцем надання випадку {case}",
        "overlaps another location of case {case}",
    ),
    "rs_location_gap": (
        "{days} дн. випадку {case} без жодного місця надання",
        "{days} days of case {case} covered by no location",
    ),
    # privacy at the door (`engine.registry._privacy`, `engine.benefits._read`)
    "rs_dropped_by_name": (
        "вилучено: назва стовпця вказує на персональний ідентифікатор",
        "dropped: column name denotes a personal identifier",
    ),
    "rs_dropped_by_values": (
        "вилучено: більшість значень — 10-значні числа (РНОКПП)",
        "dropped: most values are 10-digit numbers (РНОКПП)",
    ),
    "rs_dropped_identifier": (
        "вилучено: персональний ідентифікатор",
        "dropped: a personal identifier",
    ),
    "rs_hmac": ("HMAC-SHA256, шістнадцятковий запис", "HMAC-SHA256 hex"),
    "rs_hmac_as": (
        "HMAC-SHA256, шістнадцятковий запис, як {key}",
        "HMAC-SHA256 hex as {key}",
    ),
    "rs_individuals": (
        "{count} надавачів — фізичних осіб-підприємців (ФОП): назву замінено позначкою, код "
        "приховано",
        "{count} individual providers (ФОП): name replaced by a label, code withheld",
    ),
    "rs_individual_label": (
        "ФОП (фізична особа-підприємець) {provider}",
        "ФОП (individual provider) {provider}",
    ),
    "rs_masked_values": (
        "{count} значень містили телефон, паспорт, РНОКПП або адресу e-mail: замасковано",
        "{count} values held a phone, passport, РНОКПП or e-mail address: masked",
    ),
    # the benefits extract (`engine.benefits`)
    "rs_not_rnokpp": (
        "не 10-значний РНОКПП: особу не зіставити (значення не показано)",
        "not a 10-digit РНОКПП: the person cannot be matched (value not shown)",
    ),
    "rs_masked_identifiers": (
        "{count} значень містили ідентифікатор: замасковано",
        "{count} values held an identifier: masked",
    ),
    "rs_far_future": (
        "{count} дат завершення в далекому майбутньому прочитано як відкриті",
        "{count} far-future end dates read as open",
    ),
    "rs_declaration_ends_before": (
        "period_to раніше за period_from",
        "period_to is before period_from",
    ),
    "rs_assessment_ends_before": (
        "valid_to раніше за valid_from",
        "valid_to is before valid_from",
    ),
    "rs_certificate_ends_before": (
        "cancelled раніше за issued",
        "cancelled is before issued",
    ),
    "rs_before_1900": ("до 1900-01-01", "before 1900-01-01"),
    "rs_no_income": (
        "немає ні income_ratio, ні average_income_uah разом із subsistence_minimum_uah",
        "neither income_ratio nor average_income_uah and subsistence_minimum_uah",
    ),
    "rs_income_disagrees": (
        "дохід ÷ прожитковий мінімум = {ratio}",
        "income ÷ subsistence minimum is {ratio}",
    ),
    "rs_hromada_not_katottg": ("громади немає в КАТОТТГ", "hromada not in KATOTTG"),
    "rs_contradictory_periods": (
        "перекривається з іншим записом тієї самої особи, який каже інше",
        "overlaps another record of the same person that says otherwise",
    ),
    "rs_overlapping_periods": (
        "перекривається з іншим записом тієї самої особи, який із ним узгоджується: об'єднано",
        "overlaps another record of the same person that agrees: merged",
    ),
    "rs_stale_declaration": (
        "остання декларація особи закінчилася понад {months} міс. до дати витягу: дохід "
        "відтоді невідомий (діють правила прогалин)",
        "the person's latest declaration ended more than {months} months before the extract "
        "date: income unknown since (gap rules apply)",
    ),
    "rs_ambiguous_person": (
        "цей РНОКПП мають кілька отримувачів реєстру",
        "several registry recipients have this РНОКПП",
    ),
    "rs_unmatched_person": (
        "жоден отримувач реєстру не має РНОКПП цієї особи",
        "no registry recipient has this person's РНОКПП",
    ),
    "rs_no_benefits_record": (
        "{count} отримувачів реєстру не мають запису у витягу даних про допомоги: для них "
        "чинні значення реєстру",
        "{count} registry recipients have no record in the benefits extract: the registry's "
        "values stand for them",
    ),
    # what `mfr entitle --benefits` says of the benefits extract
    "rs_benefits_read": (
        "дані про допомоги: {quarantined} рядків у карантині з {read} прочитаних (виключено), "
        "попереджень: {warnings}",
        "benefits: {quarantined} quarantine rows of {read} read (excluded), {warnings} warnings",
    ),
    "rs_benefits_by_rule": (
        "Витяг даних про допомоги: карантин і попередження за таблицями й правилами",
        "Benefits extract: quarantine and warnings by table and rule",
    ),
    # the budget-execution report (`engine.execution._read`)
    "rs_not_period": (
        "не період: очікується місяць (2026-03, 03.2026) або квартал (2026-Q1, I квартал 2026)",
        "not a period: expected a month (2026-03, 03.2026) or a quarter (2026-Q1, I квартал 2026)",
    ),
    "rs_unknown_territory": (
        "не код громади, району чи області за кодифікатором КАТОТТГ",
        "not a hromada, raion or oblast code of the KATOTTG codifier",
    ),
    "rs_unknown_programme": (
        "коду програми немає у відповідності програм {file}",
        "programme code not in the mapping {file}",
    ),
    "rs_programme_no_service": (
        "код програми не відповідає жодній послузі на {date}",
        "the programme code maps to no service on {date}",
    ),
    "rs_unknown_unit": (
        "невідома одиниця: очікується грн або тис. грн",
        "unknown unit: expected UAH or thousand UAH (грн, тис. грн)",
    ),
    "rs_unit_contradicts": (
        "ця одиниця суперечить заголовку суми",
        "this unit contradicts the amount's header",
    ),
    "rs_outside_run": (
        "період поза місяцями запуску {months}",
        "period outside the run's months {months}",
    ),
    "rs_duplicate_row": (
        "два рядки для одного періоду, території й програми: у карантині кожен такий рядок",
        "two rows for one period, territory and programme: every such row is quarantined",
    ),
    "rs_quarter_and_month": (
        "для цієї території й програми звітовано і квартал, і місяць у ньому",
        "a quarter and a month in it are both reported for this territory and programme",
    ),
    # how the amounts' unit was known (`Execution.unit`), said after "суми в" / "amounts in"
    "rs_unit_thousand": ("тис. грн", "thousand UAH"),
    "rs_unit_uah": ("грн", "UAH"),
    "rs_unit_header": ("{unit} (за заголовком)", "{unit} (header)"),
    "rs_unit_mapping": ("{unit} (за відповідністю програм)", "{unit} (mapping)"),
    "rs_unit_column": (
        "одиницях, зазначених у стовпці unit кожного рядка",
        "as each row's unit column states",
    ),
    # levels of a comparison, and what a summary line counts of them (`summary_lines`)
    "rs_level_hromada": ("громада", "hromada"),
    "rs_level_raion": ("район", "raion"),
    "rs_level_oblast": ("область", "oblast"),
    "rs_level_national": ("країна", "national"),
    "rs_cells_hromada": ("{count} на рівні громад", "{count} hromada"),
    "rs_cells_raion": ("{count} на рівні районів", "{count} raion"),
    "rs_cells_oblast": ("{count} на рівні областей", "{count} oblast"),
    "rs_cells_national": ("{count} на рівні країни", "{count} national"),
    "rs_part_people": ("люди", "people"),
    "rs_part_volume": ("обсяг", "volume"),
    "rs_part_price": ("ціна", "price"),
    "rs_timing": (" (терміни: за рік у межах допуску)", " (timing: the year is within tolerance)"),
    "rs_gap_all": (
        "{level} {code} × усі послуги {period}: розбіжність {gap} ({pct}), переважно "
        "{dominant}{timing}; {parts}.",
        "{level} {code} × all {period}: gap {gap} ({pct}), mostly {dominant}{timing}; {parts}.",
    ),
    "rs_gap": (
        "{level} {code} × {service} {period}: розбіжність {gap} ({pct}), переважно "
        "{dominant}{timing}; {parts}.",
        "{level} {code} × {service} {period}: gap {gap} ({pct}), mostly {dominant}{timing}; "
        "{parts}.",
    ),
    # a frame leaving the engine that breaks its contract (`engine.contracts`): a bug
    "rs_contract_missing": (
        "{where}: немає стовпців {columns}",
        "{where}: column(s) {columns} missing",
    ),
    "rs_contract_not_enum": (
        "{where}: стовпець {column} має тип {dtype}, а не Enum",
        "{where}: column {column} is {dtype}, not an Enum",
    ),
    "rs_contract_dtype": (
        "{where}: стовпець {column} має тип {dtype}, очікувався {expected}",
        "{where}: column {column} is {dtype}, expected {expected}",
    ),
    "rs_contract_rows": (
        "{where}: {count} рядків порушують {rule}",
        "{where}: {count} rows break {rule}",
    ),
    "rs_contract_tier": (
        "allocations: tier_rank не ціле число",
        "allocations: tier_rank is not an integer",
    ),
    # `mfr validate`'s example line: `<table, line>: <column = value> — <rule>: <reason>`
    "rs_example": (
        "{where} — [bold]{rule}[/bold]: {reason}",
        "{where} — [bold]{rule}[/bold]: {reason}",
    ),
}

# key -> (Ukrainian, English): words `mfr validate-totals` says itself
REASON_WORDS: dict[str, tuple[str, str]] = {
    "rw_all_services": ("усі послуги", "all"),  # `engine.execution.ALL_SERVICES`
    "rw_no_part": ("жодна складова", "none"),  # a gap's `dominant` when no part is known
}


def words(key: str, lang: str) -> str:
    """`REASON_WORDS[key]` in `lang`."""
    uk, en = REASON_WORDS[key]
    return uk if lang == "uk" else en
