"""The lines other parts of the engine build in English for a terminal, in Ukrainian: the
sentence patterns `engine.cli._words.translate` says a line by (see its docstring).

Kept apart from the command line's own words (`engine.cli._words.WORDS`); the errors
(`engine.cli._error_words`) and the readers' reasons (`engine.cli._reason_words`) are merged in.
"""

from __future__ import annotations

from engine.cli._error_words import ERROR_SENTENCES
from engine.cli._reason_words import REASON_SENTENCES

__all__ = ["SENTENCES"]

# key -> (Ukrainian, English) of a line others build in English; `{field}` matches any text
SENTENCES: dict[str, tuple[str, str]] = {
    # units and small words, inside other sentences
    "bn_uah": ("{n} млрд грн", "{n} bn UAH"),
    "m_uah": ("{n} млн грн", "{n} M UAH"),
    "uah": ("{n} грн", "{n} UAH"),
    "seconds": ("{n} с", "{n} s"),
    "n_a": ("н/д", "n/a"),
    "succeeded": ("успішно", "succeeded"),
    "succeeded_green": ("[green]успішно[/]", "[green]succeeded[/]"),
    "failed": ("невдало", "failed"),
    "failed_red": ("[red]невдало[/]", "[red]failed[/]"),
    "reused": ("повторно", "reused"),
    "skipped": ("пропущено", "skipped"),
    "pending": ("не почато", "pending"),
    "running": ("виконується", "running"),
    # a forecast's reconciliation (`engine.forecasting`)
    "fc_auto": (
        "auto: найменша масштабована квантильна похибка бектесту за {origins} точок відліку "
        "({listed})",
        "auto: lowest backtest scaled quantile loss over {origins} origin(s) ({listed})",
    ),
    "fc_no_levels": ("немає агрегованих рівнів", "no aggregate levels"),
    "fc_no_convergence": (
        "{method} не зійшовся; використано {fallback}",
        "{method} did not converge; used {fallback}",
    ),
    # the run summary (`engine.pipeline._logging.render_summary`)
    "up_to_date": (
        "Актуально: запуск [bold]{run}[/] ({spec}, завершено {finished} UTC) уже містить "
        "результати саме цих вхідних даних, моделей, специфікації й коду. Нічого не "
        "перераховано; --force запускає знову.",
        "Up to date: run [bold]{run}[/] ({spec}, finished {finished} UTC) already holds the "
        "results of these exact inputs, models, spec and code. Nothing was recomputed; use "
        "--force to run again.",
    ),
    "exports_note": ("[yellow]Примітка:[/] {note}.", "[yellow]Note:[/] {note}."),
    "run_verdict": (
        "Запуск [bold]{run}[/] ({spec}): {verdict} за {seconds}",
        "Run [bold]{run}[/] ({spec}) {verdict} in {seconds}",
    ),
    "col_step": ("крок", "step"),
    "col_status": ("стан", "status"),
    "col_time": ("час", "time"),
    "col_rows_read": ("прочитано рядків", "rows read"),
    "col_quarantined": ("у карантині", "quarantined"),
    "col_written": ("записано", "written"),
    "out_report": ("Звіт:     {path}", "Report:  {path}"),
    "out_exports": ("Експорт:  {path}", "Exports: {path}"),
    "out_store": (
        "Сховище:  {path}  (mfr show {run} --store {store})",
        "Store:   {path}  (mfr show {run} --store {store})",
    ),
    "out_log": ("Журнал:   {path}", "Log:     {path}"),
    "store_from": ("сховище: {path} (звідки: {source})", "store: {path} (from {source})"),
    "latest_production": (
        "Останній: запуск {run} у <table>_latest і {where} ({spec} — робоча специфікація)",
        "Latest:  run {run} in <table>_latest and {where} ({spec} is production)",
    ),
    "latest_spec": (
        "Останній: запуск {run} у {where}; <table>_latest показують робочу специфікацію "
        "{production} (mfr promote {spec} змінює це)",
        "Latest:  run {run} in {where}; <table>_latest follow the production spec "
        "{production} (mfr promote {spec} to change that)",
    ),
    "latest_none": (
        "Останній: специфікація {spec} ще не має успішного запуску",
        "Latest:  spec {spec} has no succeeded run yet",
    ),
    "spec_views": ("подання специфікації", "the spec's views"),
    "retention": (
        "Зберігання (outputs.keep_runs: {keep}): {summary}",
        "Retention (outputs.keep_runs: {keep}): {summary}",
    ),
    "run_failed": (
        "запуск {run} невдалий на кроці '{step}'; нічого не опубліковано; журнал: {log}",
        "run {run} failed in step '{step}'; nothing was published; log: {log}",
    ),
    # the run summary's notes (the steps' `notes`, kept in the manifest in English)
    "note_extract": (
        "Витяг {path} на {date}: {recipients} отримувачів, {cases} випадків, {providers} "
        "надавачів.",
        "Extract {path}, taken {date}: {recipients} recipients, {cases} cases, {providers} "
        "providers.",
    ),
    "note_quarantined": (
        "У карантині {rows} рядків (найбільше в '{table}': {share}); причину кожного рядка "
        "див. у таблиці карантину.",
        "Quarantined {rows} rows (most in '{table}': {share}); see the quarantine table for "
        "each row's reason.",
    ),
    "note_quarantine_accepted": (
        "Карантин понад поріг {threshold} прийнято оператором (--accept-quarantine).",
        "Quarantine above the {threshold} threshold accepted by the operator "
        "(--accept-quarantine).",
    ),
    "note_entitlements": (
        "Право на фінансування {months} (модель фінансування {version}{projected}): {counts}; "
        "держава винна {state}, співоплата {copay}, незадоволена потреба {unmet}.",
        "Entitlements {months} (funding model {version}{projected}): {counts}; the state owes "
        "{state}, co-payments {copay}, unmet need {unmet}.",
    ),
    "note_projected": (
        "; місяці після {month} вважають відкриті випадки такими, що тривають",
        "; months after {month} assume open cases go on",
    ),
    "note_counts": (
        "{served} випадків обслуговано ({people_served} осіб), {waiting} випадків очікує "
        "({people_waiting} осіб), {cases} випадків усього",
        "{served} cases served ({people_served} people), {waiting} cases waiting "
        "({people_waiting} people), {cases} cases in all",
    ),
    "note_need": (
        "Потреба у {month}: {served} випадків обслуговано, {waiting} очікує; охоплення "
        "оціненої потреби {coverage}{per10k}.",
        "Need in {month}: {served} cases served, {waiting} waiting; coverage of assessed need "
        "{coverage}{per10k}.",
    ),
    "note_per10k": (
        "; {rate} випадко-місяців на 10 000 мешканців",
        "; {rate} case-months per 10,000 residents",
    ),
    "note_forecast": (
        "Прогноз {target} на {start}..{end} за {first}..{last} ({series} рядів громада × "
        "послуга, узгоджено методом {method}; конфігурація {config}): {mean} випадко-місяців "
        "на місяць (80 % інтервал {low}–{high}).",
        "Forecast of {target} {start}..{end} from {first}..{last} ({series} hromada × service "
        "series, reconciled by {method}; configuration {config}): {mean} case-months a month "
        "(80% interval {low}–{high}).",
    ),
    "note_backtest_skipped": ("Бектест пропущено: {why}", "Backtest skipped: {why}"),
    "note_need_priced": (
        "Потребу {months} оцінено за моделлю фінансування {version}: {uah} за {case_months} "
        "випадко-місяців.",
        "Need {months} priced by funding model {version}: {uah} for {case_months} case-months.",
    ),
    "note_allocation": (
        "Розподіл за політикою {policy}: конверт {envelope}, заявки {claims} ({capped} після "
        "лімітів), розподілено {allocated}; нестача {shortfall}, не витрачено {unspent}.",
        "Allocation under {policy}: envelope {envelope}, claims {claims} ({capped} after caps), "
        "allocated {allocated}; shortfall {shortfall}, unspent {unspent}.",
    ),
    "note_envelope": (
        "Конверт {envelope} проти заявок на {claims}: {share} заявок ({how}).",
        "Envelope {envelope} against claims of {claims}: {share} of claims ({how}).",
    ),
    "how_spec_share": (
        "частка заявок зі специфікації, share_of_claims {share}",
        "the spec's share_of_claims {share}",
    ),
    "how_given": ("задано через --envelope", "given with --envelope"),
    "how_confirmed": (
        "задано в специфікації для {sized_for}, підтверджено для {extract} через "
        "--confirm-envelope",
        "set in the spec for {sized_for}, confirmed for {extract} with --confirm-envelope",
    ),
    "how_spec": ("задано в специфікації для {sized_for}", "set in the spec for {sized_for}"),
    "how_policy": ("конверт політики", "the policy's envelope"),
    "note_envelope_warning": (
        "Попередження розподілу: конверт становить {share} заявок цього витягу; чи не для "
        "іншого витягу його визначено? Задайте --envelope СУМА або --envelope ЧАСТКА%.",
        "Allocation warning: the envelope is {share} of this extract's claims; was it sized "
        "for another extract? Set it with --envelope AMOUNT or --envelope SHARE%.",
    ),
    "note_allocation_warning": (
        "Попередження розподілу: {warning}",
        "Allocation warning: {warning}",
    ),
    "note_scenario": (
        "Сценарій {name} проти {version}: держава платить на {uah} більше за {months}; "
        "{winners} випадків виграють, {losers} програють.",
        "Scenario {name} against {version}: the state pays {uah} more over {months}; {winners} "
        "cases gain, {losers} lose.",
    ),
    "note_no_benefits": (
        "Витягу пільг немає: статус ВПО — єдине значення з реєстру.",
        "No benefits extract: IDP status is the registry's single value.",
    ),
    "note_benefits": (
        "Витяг пільг: {rows} рядків прочитано, {quarantined} у карантині; навантаження "
        "громад-приймачів ВПО у {month}: {case_months} випадко-місяців ВПО, {uah} грн",
        "Benefits extract: {rows} rows read, {quarantined} quarantined; IDP host burden in "
        "{month}: {case_months} IDP case-months, {uah} UAH",
    ),
    "note_benefits_no_idp": (
        "Витяг пільг прочитано; у місяцях специфікації жодного обслуговуваного ВПО.",
        "Benefits extract read; no IDP served in the spec's months.",
    ),
    "note_execution": (
        "Виконання бюджету {path}: {rows} рядків прочитано, {quarantined} у карантині; суми "
        "в {unit}.",
        "Budget execution {path}: {rows} rows read, {quarantined} quarantined; amounts in {unit}.",
    ),
    "note_execution_accepted": (
        "Карантин виконання бюджету понад поріг прийнято оператором.",
        "Budget-execution quarantine above the threshold accepted by the operator.",
    ),
    "note_pilot": (
        "Пілот {name} з {start}: {pilot} громад проти {comparison} порівнянних ({how}); "
        "різниця різниць: {effects}.",
        "Pilot {name} from {start}: {pilot} hromadas against {comparison} comparable ones "
        "({how}); difference in differences: {effects}.",
    ),
    "note_pilot_none": (
        "немає (жодну громаду не виміряно до й після)",
        "none (no hromada measured before and after)",
    ),
    # budget execution (`engine.execution.summary_lines`)
    "ex_headline": (
        "Виконання бюджету {period}{span}: сплачено {paid} проти {sim} розрахованих, розбіжність "
        "{gap} ({pct}): {parts}.",
        "Budget execution {period}{span}: paid {paid} against {sim} simulated, gap {gap} "
        "({pct}): {parts}.",
    ),
    "ex_cells": (
        "{flagged} з {cells} клітинок понад допуск ({tolerance} і {min_gap}){counts}.",
        "{flagged} of {cells} cells beyond tolerance ({tolerance} and {min_gap}){counts}.",
    ),
    "ex_people": ("люди {uah}", "people {uah}"),
    "ex_volume": ("обсяг {uah}", "volume {uah}"),
    "ex_price": ("ціна {uah}", "price {uah}"),
    "ex_no_split": (
        "без розкладу (звіт не рахує ні людей, ні обсягу)",
        "no split (the report counts neither people nor volume)",
    ),
    # mfr reproduce (`engine.pipeline._reproduce.Reproduction.lines`)
    "rp_rerun": (
        "запуск {run} перезапущено зі збережених вхідних даних і витягу {extract} (його хеші "
        "збігаються) як {rerun}",
        "run {run} rerun from its stored inputs and the extract {extract} (its hashes match) "
        "as {rerun}",
    ),
    "rp_engine": (
        "рушій {then} тоді, {now} тепер ({code})",
        "engine {then} then, {now} now ({code})",
    ),
    "rp_same_code": ("той самий код", "the same code"),
    "rp_code": (
        "код sha256 {then} тоді, {now} тепер",
        "code sha256 {then} then, {now} now",
    ),
    "rp_identical": (
        "ідентично: {tables} таблиць, кожна з хешем, з яким її опубліковано",
        "identical: {tables} tables, each with the hash it was published with",
    ),
    "rp_differs": (
        "відрізняється: {differ} з {tables} таблиць",
        "differs: {differ} of {tables} tables",
    ),
    "rp_table_identical": (
        "{table}: ідентична ({rows}, sha256 {digest})",
        "{table}: identical ({rows}, sha256 {digest})",
    ),
    "rp_not_published": (
        "{table}: перезапуск її не опублікував ({rows} тоді)",
        "{table}: not published by the rerun ({rows} then)",
    ),
    "rp_rerun_only": (
        "{table}: опублікована лише перезапуском ({rows})",
        "{table}: published by the rerun only ({rows})",
    ),
    "rp_table_differs": (
        "{table}: відрізняється{where} ({rows_then} тоді, {rows_now} тепер; sha256 {then} "
        "тоді, {now} тепер)",
        "{table}: differs{where} ({rows_then} then, {rows_now} now; sha256 {then} then, {now} now)",
    ),
    "rp_in_columns": (" у стовпцях {columns}", " in columns {columns}"),
    "rp_in_column": (" у стовпці {columns}", " in column {columns}"),
    "rp_rows": ("{n} рядків", "{n} rows"),
    "rp_row": ("{n} рядок", "{n} row"),
    "rp_rehashed": (
        "запуск {run} хешував свої таблиці іншим методом ({method}); його таблиці, як їх "
        "зберігає сховище, хешовано методом цього рушія ({now}) і порівняно",
        "run {run} hashed its tables by another method ({method}); its tables as the store "
        "keeps them are hashed by this engine's ({now}) and compared",
    ),
    # what a shadow price means (`engine.allocation._optimise`, the constraints table)
    "al_price_envelope": (
        "зважених грн на додаткову гривню конверта",
        "weighted UAH per extra UAH of envelope",
    ),
    "al_price_floors": (
        "зважених грн втрачено на гривню, яку мінімуми утримують на нижчих рівнях",
        "weighted UAH lost per UAH the floors hold on lower tiers",
    ),
    "al_price_caps": (
        "зважених грн отримано на гривню підвищення ліміту",
        "weighted UAH gained per UAH a cap is raised",
    ),
    "al_price_spread": (
        "зважених грн на пункт охоплення додаткового розкиду",
        "weighted UAH per coverage point of extra spread",
    ),
    "al_price_deviation": (
        "зважених грн на пункт охоплення додаткового відхилення",
        "weighted UAH per coverage point of extra deviation",
    ),
    **ERROR_SENTENCES,  # the errors `mfr` prints (`engine.cli._error_words`)
    **REASON_SENTENCES,  # quarantine and warning reasons (`engine.cli._reason_words`)
}
