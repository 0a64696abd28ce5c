"""The errors and warnings an operator or a planner meets most, in Ukrainian, as `mfr` prints them.

The engine raises its errors in English (`engine.errors`: a message plus the file, line and
column); they are recorded so in a run's log. On the command line, `error_line` says the frame in
the output language (`помилка: <файл>, рядок 12, стовпець 'x': …`) and the message through
`engine.cli._words.translate`, whose sentences include these (`ERROR_SENTENCES`). A message no
sentence matches is printed in English after the Ukrainian frame (the file, line and column are
named either way).

>>> from engine.errors import InputFileError
>>> error_line(InputFileError("missing required column", path="x/cases.csv", column="case_id"), "uk")
"помилка: x/cases.csv, стовпець 'case_id': немає обов'язкового стовпця"
"""

from __future__ import annotations

__all__ = ["ERROR_FRAME", "ERROR_SENTENCES"]

# key -> (Ukrainian, English), as `engine.cli._words.SENTENCES` (merged there)
ERROR_SENTENCES: dict[str, tuple[str, str]] = {
    "err_not_found": ("не знайдено: {what}", "{what} not found"),
    "err_extract_not_found": ("витяг не знайдено", "extract not found"),
    "err_model_not_found": (
        "теку моделі фінансування не знайдено",
        "funding model folder not found",
    ),
    "err_scenario_not_found": ("файл сценарію не знайдено", "scenario file not found"),
    "err_policy_not_found": ("файл політики не знайдено", "policy file not found"),
    "err_spec_not_found": ("специфікацію запуску не знайдено", "run spec not found"),
    "err_claims_not_found": ("файл вимог не знайдено", "claims file not found"),
    "err_series_not_found": ("файл рядів не знайдено", "series file not found"),
    "err_execution_not_found": (
        "звіт про виконання бюджету не знайдено",
        "budget-execution report not found",
    ),
    "err_benefits_not_found": (
        "витяг даних про допомоги не знайдено (тека файлів таблиць)",
        "benefits extract not found (a folder of table files)",
    ),
    "err_extract_form": (
        "витяг — це тека файлів таблиць або одна книга .xlsx",
        "an extract is a folder of table files or one .xlsx workbook",
    ),
    "err_missing_table": ("немає файлу таблиці {table}", "missing table file {table}"),
    "err_two_files": (
        "два файли для таблиці '{table}' ({files}); залиште один",
        "two files for table '{table}' ({files}); keep one",
    ),
    "err_empty": ("файл порожній", "file is empty"),
    "err_sheet_empty": ("аркуш порожній", "sheet is empty"),
    "err_csv": ("не вдається розібрати CSV: {detail}", "cannot parse CSV: {detail}"),
    "err_parquet": ("нечитабельний файл Parquet: {detail}", "unreadable Parquet file: {detail}"),
    "err_xlsx": ("нечитабельна книга XLSX: {detail}", "unreadable XLSX workbook: {detail}"),
    "err_no_sheet": ("у книзі немає аркуша '{sheet}'", "workbook has no sheet '{sheet}'"),
    "err_missing_column": ("немає обов'язкового стовпця", "missing required column"),
    "err_duplicate_column": ("стовпець повторюється в заголовку", "duplicate column in header"),
    "err_encoding": (
        "текст не читається як український у жодному з підтримуваних кодувань (спробувано "
        "{tried}); збережіть файл як UTF-8",
        "text does not read as Ukrainian in any supported encoding (tried {tried}); re-save the "
        "file as UTF-8",
    ),
    "err_no_extract_date": (
        "немає дати витягу: немає extract.yaml і дат початку; задайте --extract-date",
        "no extract date: no extract.yaml and no start dates; pass --extract-date",
    ),
    "err_extract_date": (
        "extract_date має бути датою РРРР-ММ-ДД",
        "extract_date must be a date YYYY-MM-DD",
    ),
    "err_identifiers": (
        "{hits} з {rows} ідентифікаторів схожі на 10-значний РНОКПП або номер телефону (перший — "
        "тут); псевдонімізуйте стовпець: {how}",
        "{hits} of {rows} identifiers look like a 10-digit РНОКПП or a phone number (the first "
        "here); pseudonymise the column: {how}",
    ),
    "err_table": ("таблиця", "table"),
    "err_benefits_table": ("таблиця даних про допомоги", "benefits table"),
    "err_quarantine": (
        "{what} '{table}': {quarantined} з {rows} рядків у карантині ({share}), понад поріг "
        "{threshold}; виправте витяг або явно прийміть карантин (--accept-quarantine)",
        "{what} '{table}': {quarantined} of {rows} rows quarantined ({share}), above the "
        "threshold {threshold}; fix the extract or accept the quarantine explicitly "
        "(--accept-quarantine)",
    ),
    "err_locked": (
        "сховище {store} використовує {who}); дочекайтеся завершення того запуску або задайте "
        "інше --store",
        "store {store} is in use by {who}); wait for that run to finish, or use another --store",
    ),
    "err_interrupted_by": ("перервано сигналом {signal}", "interrupted by {signal}"),
    # warnings the allocation prints (`engine.allocation`)
    "warn_line": (
        "[yellow]попередження:[/yellow] {warning}",
        "[yellow]warning:[/yellow] {warning}",
    ),
    "warn_outside_period": (
        "{n} рядків вимог лежать поза періодом політики {start} – {end}; їх не враховано",
        "{n} claim rows lie outside the policy period {start} – {end} and were left out",
    ),
    "warn_tier_unmatched": (
        "рівню '{tier}' не відповідає жоден рядок вимог",
        "tier '{tier}' matches no claim row",
    ),
    # why a forecast's backtest was skipped or its MinT method fell back (`engine.forecasting`)
    "fc_too_few": (
        "{n} періодів замало для бектесту на {horizon} періодів з щонайменше {train} "
        "періодами навчання",
        "{n} periods are too few for a {horizon}-period backtest with at least {train} training "
        "periods",
    ),
    "fc_too_few_cv": (
        "{n} періодів замало для крос-валідації на {horizon} періодів з щонайменше {train} "
        "періодами навчання",
        "{n} periods are too few for a {horizon}-period cross-validation with at least {train} "
        "training periods",
    ),
    "fc_residuals": (
        "{method} потребує щонайменше {periods} періодів ненульових залишків у вибірці; "
        "використано wls_struct",
        "{method} needs at least {periods} periods of non-zero in-sample residuals; used "
        "wls_struct",
    ),
    "err_cannot_read": ("не вдається прочитати {what}: {why}", "cannot read the {what}: {why}"),
    "err_not_utf8": ("{what} — не текст UTF-8", "the {what} is not UTF-8 text"),
}

ERROR_FRAME: dict[str, tuple[str, str]] = {  # (Ukrainian, English)
    "error": ("помилка", "error"),
    "line": ("рядок {n}", "line {n}"),
    "column": ("стовпець '{name}'", "column '{name}'"),
    "internal": (
        "внутрішня помилка: {kind}: {detail} (MFR_DEBUG=1 покаже трасування)",
        "internal error: {kind}: {detail} (set MFR_DEBUG=1 for the traceback)",
    ),
    "interrupted": ("помилка: перервано", "error: interrupted"),
}
